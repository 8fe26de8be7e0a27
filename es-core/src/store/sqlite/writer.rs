//! The single writer: a thread that owns the write connection and commits every pending append
//! in one transaction (group commit), one savepoint per append of more than one row.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{CachedStatement, Connection, ErrorCode, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use super::error::{SqliteError, to_sql_int};
use crate::error::Error;
use crate::record::Metadata;
use crate::store::{AppendResult, StreamAppend, settle_refusal};

/// What the writer is asked to do.
pub(super) enum Request {
    Append(AppendRequest),
    AppendStreams(AppendStreamsRequest),
    Write(WriteRequest),
}

/// Statements run on the writer's connection.
pub(super) type Write = Box<dyn Fn(&Connection) -> Result<(), SqliteError> + Send>;

/// A write of derived state (a snapshot, a checkpoint), or an import of events, committed with
/// the group it joins.
pub(super) struct WriteRequest {
    pub(super) write: Write,
    /// Whether the write adds events: the appends after it in the group must read the head and
    /// the stream versions again.
    pub(super) moves_log: bool,
    pub(super) reply: oneshot::Sender<Result<(), Error>>,
}

/// What one request of a group came to.
enum Done {
    Appended(AppendResult),
    AppendedAll(Vec<AppendResult>),
    Written,
}

impl Request {
    /// Sends the request's outcome to its caller, who may have stopped waiting: the write stands
    /// either way.
    fn answer(self, outcome: Result<Done, Error>) {
        match self {
            Self::Append(append) => {
                let _ = append.reply.send(outcome.map(|done| match done {
                    Done::Appended(result) => result,
                    _ => unreachable!("an append is answered with its result"),
                }));
            }
            Self::AppendStreams(append) => {
                let _ = append.reply.send(outcome.map(|done| match done {
                    Done::AppendedAll(results) => results,
                    _ => unreachable!("a multi-stream append is answered with its results"),
                }));
            }
            Self::Write(write) => {
                let _ = write.reply.send(outcome.map(|_| ()));
            }
        }
    }
}

/// One append waiting for the writer.
pub(super) struct AppendRequest {
    pub(super) part: StreamAppend,
    pub(super) reply: oneshot::Sender<Result<AppendResult, Error>>,
}

/// One multi-stream append waiting for the writer: all its parts, or none, in one savepoint.
pub(super) struct AppendStreamsRequest {
    pub(super) parts: Vec<StreamAppend>,
    pub(super) reply: oneshot::Sender<Result<Vec<AppendResult>, Error>>,
}

pub(super) const INSERT: &str = "INSERT INTO events (position, stream, version, event_id, name, \
    schema_version, payload, timestamp, correlation_id, causation_id, extra) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// The writer loop: waits for an append, takes every other one already queued (up to
/// `max_group`), commits them together, answers each, and wakes `head` watchers. Returns when
/// every sender is gone.
pub(super) fn run(
    mut conn: Connection,
    mut requests: mpsc::Receiver<Request>,
    head: &watch::Sender<u64>,
    max_group: usize,
) {
    let mut group = Vec::with_capacity(max_group);
    let mut last_group = 0;
    while let Some(first) = requests.blocking_recv() {
        group.push(first);
        gather(&mut requests, &mut group, max_group, last_group);
        last_group = group.len();
        match write_group(&mut conn, &group) {
            Ok((results, position)) => {
                // Wake readers before answering, so a caller that saw its append succeed and
                // then subscribes sees the new head.
                head.send_if_modified(|current| {
                    let grew = position > *current;
                    if grew {
                        *current = position;
                    }
                    grew
                });
                for (request, outcome) in group.drain(..).zip(results) {
                    request.answer(outcome);
                }
            }
            Err(error) => {
                tracing::error!(error = %error, "SQLite group commit failed; retrying is safe");
                let error: Arc<dyn std::error::Error + Send + Sync> = Arc::new(error);
                for request in group.drain(..) {
                    request.answer(Err(Error::Backend(Arc::clone(&error))));
                }
            }
        }
    }
}

/// How long the writer waits for the senders of its last group to send again: a fraction of a
/// durable commit (an fsync, a few hundred microseconds), so that concurrent writers keep sharing
/// one commit instead of alternating between a small group and a large one.
const GATHER_WAIT: Duration = Duration::from_micros(200);

/// Adds the requests already queued to `group`, up to `max_group`; while it is smaller than
/// `last_group`, waits up to [`GATHER_WAIT`] for more. A lone sequential writer (last group of
/// one) never waits.
fn gather(
    requests: &mut mpsc::Receiver<Request>,
    group: &mut Vec<Request>,
    max_group: usize,
    last_group: usize,
) {
    let deadline = Instant::now() + GATHER_WAIT;
    while group.len() < max_group {
        match requests.try_recv() {
            Ok(request) => group.push(request),
            Err(mpsc::error::TryRecvError::Empty)
                if group.len() < last_group && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_micros(20));
            }
            Err(_) => break,
        }
    }
}

/// Why one append of the group was not written.
enum Refused {
    /// The stream is not at the expected version.
    Mismatch,
    /// A uniqueness constraint refused a row: an event id is already stored.
    Constraint(rusqlite::Error),
    /// Anything else: reported as a backend failure of this append only.
    Failed(SqliteError),
}

impl From<rusqlite::Error> for Refused {
    fn from(error: rusqlite::Error) -> Self {
        if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
            Self::Constraint(error)
        } else {
            Self::Failed(error.into())
        }
    }
}

impl From<SqliteError> for Refused {
    fn from(error: SqliteError) -> Self {
        match error {
            SqliteError::Sqlite(error) => error.into(),
            other => Self::Failed(other),
        }
    }
}

/// Commits the group in one transaction. Each request runs in its own savepoint, or writes a
/// single row (see [`writes_one_row`]), so one that is refused (conflict, duplicate id,
/// constraint) leaves nothing and the others commit. Returns each request's outcome, in order,
/// and the global head after the commit. An error here fails the whole group: nothing of it was
/// committed.
fn write_group(
    conn: &mut Connection,
    group: &[Request],
) -> Result<(Vec<Result<Done, Error>>, u64), SqliteError> {
    // Cached statements: parsing BEGIN and COMMIT anew for every group costs microseconds next
    // to a lone insert.
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let written = write_in_transaction(conn, group).and_then(|written| {
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(written)
    });
    if written.is_err() && !conn.is_autocommit() {
        if let Err(error) = conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %error, "SQLite could not roll back a failed group");
        }
    }
    written
}

/// The body of [`write_group`], inside its transaction.
fn write_in_transaction(
    conn: &mut Connection,
    group: &[Request],
) -> Result<(Vec<Result<Done, Error>>, u64), SqliteError> {
    // Read inside the write transaction: correct even if another process wrote since.
    let mut head = read_head(conn)?;
    // Stream versions as they stand inside this transaction.
    let mut versions: HashMap<&str, u64> = HashMap::new();
    let mut results = Vec::with_capacity(group.len());
    for request in group {
        // A failed statement may have ended the whole transaction (SQLite does on some I/O,
        // disk-full and out-of-memory errors), whoever's it was: the requests after it would
        // then run in autocommit, each committed alone at positions after a lost one's.
        if conn.is_autocommit() {
            return Err(SqliteError::TransactionEnded);
        }
        let parts = match request {
            Request::Append(append) => std::slice::from_ref(&append.part),
            Request::AppendStreams(append) => append.parts.as_slice(),
            Request::Write(write) => {
                let savepoint = conn.savepoint()?;
                let outcome = match (write.write)(&savepoint) {
                    Ok(()) => {
                        savepoint.commit()?;
                        if write.moves_log {
                            head = read_head(conn)?;
                            versions.clear();
                        }
                        Ok(Done::Written)
                    }
                    Err(error) => Err(error.into()),
                };
                results.push(outcome);
                continue;
            }
        };
        let outcome = if writes_one_row(parts) {
            let outcome = append_parts(conn, parts, head, &versions)?;
            if outcome.is_err() && conn.is_autocommit() {
                // The failed insert took the whole transaction with it.
                return Err(SqliteError::TransactionEnded);
            }
            outcome
        } else {
            // The request's parts in one savepoint: stored together, or rolled back together.
            let savepoint = conn.savepoint()?;
            let outcome = append_parts(&savepoint, parts, head, &versions)?;
            if outcome.is_ok() {
                savepoint.commit()?;
            } else {
                // Drop behaviour is rollback: the request leaves no trace in the transaction.
                savepoint.finish()?;
            }
            outcome
        };
        let result = match outcome {
            Ok(appended) => {
                for (part, result) in parts.iter().zip(&appended) {
                    head = head.max(result.position);
                    versions.insert(&part.stream, result.version);
                }
                Ok(appended)
            }
            Err(why) => refusal(conn, parts, why, &versions)?,
        };
        results.push(result.map(|mut appended| match request {
            Request::Append(_) => Done::Appended(appended.remove(0)),
            _ => Done::AppendedAll(appended),
        }));
    }
    Ok((results, head))
}

/// Whether the request is one stream's append of at most one event: at most one `INSERT`,
/// after its version check. SQLite backs out a failed statement whole and leaves the
/// transaction open (or, on some I/O errors, rolls all of it back, which fails the group), so
/// such a request needs no savepoint of its own: a refused one leaves nothing.
fn writes_one_row(parts: &[StreamAppend]) -> bool {
    matches!(parts, [part] if part.events.len() <= 1)
}

/// Checks each part's expected version and inserts its events after the global `head`: the
/// results, or why the request was refused at its first refused part (the caller rolls back
/// the parts before it). The outer error fails the whole group.
fn append_parts(
    conn: &Connection,
    parts: &[StreamAppend],
    head: u64,
    versions: &HashMap<&str, u64>,
) -> Result<Result<Vec<AppendResult>, Refused>, SqliteError> {
    let mut appended = Vec::with_capacity(parts.len());
    let mut at = head;
    for part in parts {
        let actual = match versions.get(part.stream.as_str()) {
            Some(&version) => version,
            None => stream_version(conn, &part.stream)?,
        };
        if !part.expected.matches(actual) {
            return Ok(Err(Refused::Mismatch));
        }
        match insert(conn, part, actual, at) {
            Ok(result) => {
                at = at.max(result.position);
                appended.push(result);
            }
            Err(why) => return Ok(Err(why)),
        }
    }
    Ok(Ok(appended))
}

/// The results of a request that was not written: the original results of an identical
/// earlier request (idempotent retry), or the error that explains the refusal.
fn refusal(
    conn: &Connection,
    parts: &[StreamAppend],
    refused: Refused,
    versions: &HashMap<&str, u64>,
) -> Result<Result<Vec<AppendResult>, Error>, SqliteError> {
    let otherwise = match refused {
        Refused::Failed(error) => return Ok(Err(error.into())),
        // No stored id explains the constraint: report what SQLite said.
        Refused::Constraint(error) => SqliteError::from(error).into(),
        Refused::Mismatch => Error::backend("a version mismatch that no longer shows"),
    };
    let mut replays = Vec::with_capacity(parts.len());
    for part in parts {
        replays.push(match replayed(conn, part)? {
            Replay::Original(result) => Some(result),
            Replay::Duplicate(error) => return Ok(Err(error)),
            Replay::New => None,
        });
    }
    let version = |stream: &str| match versions.get(stream) {
        Some(&version) => Ok(version),
        None => stream_version(conn, stream).map_err(Error::from),
    };
    Ok(settle_refusal(parts, &replays, version, otherwise))
}

/// Inserts the batch at `actual + 1 ..`, positions at `head + 1 ..`.
fn insert(
    conn: &Connection,
    request: &StreamAppend,
    actual: u64,
    head: u64,
) -> Result<AppendResult, Refused> {
    let count = request.events.len() as u64;
    if count == 0 {
        return Ok(AppendResult {
            first_version: actual + 1,
            version: actual,
            first_position: head + 1,
            position: head,
        });
    }
    let mut statement = conn.prepare_cached(INSERT)?;
    for (offset, event) in (0_u64..).zip(&request.events) {
        insert_row(
            &mut statement,
            &Row {
                position: head + 1 + offset,
                stream: &request.stream,
                version: actual + 1 + offset,
                id: event.id,
                name: &event.name,
                schema_version: event.schema_version,
                payload: &event.payload,
                metadata: &event.metadata,
            },
        )?;
    }
    Ok(AppendResult {
        first_version: actual + 1,
        version: actual + count,
        first_position: head + 1,
        position: head + count,
    })
}

/// One row of the `events` table, as [`insert_row`] writes it.
pub(super) struct Row<'a> {
    pub(super) position: u64,
    pub(super) stream: &'a str,
    pub(super) version: u64,
    pub(super) id: Uuid,
    pub(super) name: &'a str,
    pub(super) schema_version: u16,
    pub(super) payload: &'a [u8],
    pub(super) metadata: &'a Metadata,
}

/// Inserts `row` with `statement`, the cached [`INSERT`].
pub(super) fn insert_row(
    statement: &mut CachedStatement<'_>,
    row: &Row<'_>,
) -> Result<(), SqliteError> {
    let position = to_sql_int("global position", row.position)?;
    let extra = if row.metadata.extra.is_empty() {
        None
    } else {
        Some(
            serde_json::to_string(&row.metadata.extra)
                .map_err(|source| SqliteError::Metadata { position, source })?,
        )
    };
    let uuid = |id: &Option<Uuid>| id.map(|id| *id.as_bytes());
    statement.execute(params![
        position,
        row.stream,
        to_sql_int("stream version", row.version)?,
        &row.id.as_bytes()[..],
        row.name,
        i64::from(row.schema_version),
        row.payload,
        row.metadata.timestamp.as_micros(),
        uuid(&row.metadata.correlation_id)
            .as_ref()
            .map(|id| &id[..]),
        uuid(&row.metadata.causation_id).as_ref().map(|id| &id[..]),
        extra,
    ])?;
    Ok(())
}

/// The global head as the transaction sees it: correct even if another process wrote since.
pub(super) fn read_head(conn: &Connection) -> Result<u64, SqliteError> {
    let head = conn
        .prepare_cached("SELECT COALESCE(MAX(position), 0) FROM events")?
        .query_row([], |row| row.get::<_, i64>(0))?;
    Ok(stored_u64(head))
}

/// What the store already holds of a batch's event ids.
enum Replay {
    /// None of them: the batch is new.
    New,
    /// All of them, in order, in this stream, where the expectation puts them: a retry.
    Original(AppendResult),
    /// Some of them, or elsewhere.
    Duplicate(Error),
}

/// Looks up the batch's ids, with the same rules as the in-memory store.
fn replayed(conn: &Connection, request: &StreamAppend) -> Result<Replay, SqliteError> {
    let mut lookup =
        conn.prepare_cached("SELECT stream, version, position FROM events WHERE event_id = ?1")?;
    let mut seen = HashSet::with_capacity(request.events.len());
    let mut stored = Vec::new();
    for event in &request.events {
        if !seen.insert(event.id) {
            return Ok(Replay::Duplicate(Error::DuplicateEvent {
                stream: request.stream.clone(),
                version: 0,
                event_id: event.id,
            }));
        }
        let found = lookup
            .query_row([&event.id.as_bytes()[..]], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    stored_u64(row.get(1)?),
                    stored_u64(row.get(2)?),
                ))
            })
            .optional()?;
        if let Some((stream, version, position)) = found {
            stored.push((event.id, stream, version, position));
        }
    }
    let Some((first_id, first_stream, first_version, first_position)) = stored.first() else {
        return Ok(Replay::New);
    };
    let whole_batch_in_place = stored.len() == request.events.len()
        && (0_u64..)
            .zip(&stored)
            .all(|(offset, (_, stream, version, _))| {
                *stream == request.stream && *version == first_version + offset
            })
        && request.expected.matches(first_version - 1);
    if !whole_batch_in_place {
        return Ok(Replay::Duplicate(Error::DuplicateEvent {
            stream: first_stream.clone(),
            version: *first_version,
            event_id: *first_id,
        }));
    }
    let (_, _, last_version, last_position) = &stored[stored.len() - 1];
    Ok(Replay::Original(AppendResult {
        first_version: *first_version,
        version: *last_version,
        first_position: *first_position,
        position: *last_position,
    }))
}

/// The stream's version as stored (0 when it has no events).
pub(super) fn stream_version(conn: &Connection, stream: &str) -> Result<u64, SqliteError> {
    let version = conn
        .prepare_cached("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?1")?
        .query_row([stream], |row| row.get::<_, i64>(0))?;
    Ok(stored_u64(version))
}

/// A stored version or position: never negative (the schema and the writer see to it).
pub(super) fn stored_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::NewEvent;
    use crate::store::ExpectedVersion;
    use crate::store::sqlite::SqliteOptions;
    use crate::store::sqlite::open::open_writer;

    fn append(stream: &str) -> Request {
        let (reply, _) = oneshot::channel();
        Request::Append(AppendRequest {
            part: StreamAppend {
                stream: stream.to_owned(),
                expected: ExpectedVersion::Any,
                events: vec![NewEvent::new("Happened", 1, &b"{}"[..])],
            },
            reply,
        })
    }

    /// A request whose failure ends the whole transaction (as a disk-full or I/O error may)
    /// fails the group: the appends after it do not run in autocommit, each committed alone
    /// after the lost ones' positions.
    #[test]
    fn a_transaction_ended_by_one_request_fails_the_whole_group() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (mut conn, _) =
            open_writer(&SqliteOptions::new(dir.path().join("events.db"))).expect("open");
        let (reply, _) = oneshot::channel();
        let lost = Request::Write(WriteRequest {
            write: Box::new(|conn| {
                conn.execute_batch("ROLLBACK")?;
                Err(SqliteError::TransactionEnded)
            }),
            moves_log: false,
            reply,
        });
        let group = [append("first"), lost, append("after"), append("last")];
        assert!(matches!(
            write_group(&mut conn, &group),
            Err(SqliteError::TransactionEnded)
        ));
        assert!(conn.is_autocommit(), "no transaction left open");
        let stored: i64 = conn
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
            .expect("count");
        assert_eq!(stored, 0, "nothing of the group was committed");
    }
}
