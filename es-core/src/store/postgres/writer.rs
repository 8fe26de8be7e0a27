//! The group writer: one task per store instance takes every append queued while the previous
//! group was committing and sends them all in one `es_append_group` call, in autocommit. The
//! function decides each append in order and returns a conflict or a duplicate id as a result
//! rather than raising, so one append's refusal does not undo its neighbours. A lone append to
//! several streams is a group of one; a lone append to one stream goes through `es_append`,
//! which decides the same but costs the server less (no arrays of appends to walk).

use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::Row;
use uuid::Uuid;

use super::error::{PgError, db};
use super::listen::advance;
use super::row::to_u64;
use super::sql::{APPEND, APPEND_GROUP};
use crate::error::Error;
use crate::record::Metadata;
use crate::store::{AppendResult, ExpectedVersion, StreamAppend};

/// The most appends one group commit carries.
const MAX_GROUP: usize = 64;
/// The most payload bytes (with names and metadata) a group gathers, unless its first append
/// alone is larger: a group is one statement, so one protocol message, and PostgreSQL refuses
/// a message over 1 GiB (one append is at most `MAX_APPEND_BYTES`, a quarter of it).
const MAX_GROUP_BYTES: usize = 64 * 1024 * 1024;

/// How many appends may wait for the writer task before `append` waits for room.
pub(super) const QUEUE: usize = 1024;

/// One append, as queued for the writer task.
#[derive(Debug)]
pub(super) enum Request {
    /// One stream: a part of its own.
    One {
        part: StreamAppend,
        reply: oneshot::Sender<Result<AppendResult, Error>>,
    },
    /// Several streams, all or nothing: `es_append_streams`' parts.
    Many {
        parts: Vec<StreamAppend>,
        reply: oneshot::Sender<Result<Vec<AppendResult>, Error>>,
    },
}

impl Request {
    fn parts(&self) -> &[StreamAppend] {
        match self {
            Self::One { part, .. } => std::slice::from_ref(part),
            Self::Many { parts, .. } => parts,
        }
    }

    /// About the bytes the append adds to its group's message.
    fn size(&self) -> usize {
        self.parts()
            .iter()
            .flat_map(|part| &part.events)
            .map(|event| {
                let extra: usize = (event.metadata.extra.iter())
                    .map(|(key, value)| key.len() + value.len())
                    .sum();
                // The id, version, timestamps and links, and the arrays' per-element headers.
                event.payload.len() + event.name.len() + extra + 128
            })
            .sum()
    }

    /// Sends the outcome to the caller, who may have given up waiting: the append stands
    /// either way.
    fn answer(self, outcome: Result<Vec<AppendResult>, Error>) {
        match self {
            Self::One { reply, .. } => {
                let _ = reply.send(outcome.and_then(|results| {
                    results
                        .into_iter()
                        .next()
                        .ok_or_else(|| PgError::BadAppendResult("a row").into())
                }));
            }
            Self::Many { reply, .. } => {
                let _ = reply.send(outcome);
            }
        }
    }
}

/// The expectation as `es_append_group` takes it: a kind (0 any, 1 no stream, 2 stream exists,
/// 3 exact) and a version.
fn expectation(expected: ExpectedVersion) -> (i16, i64) {
    match expected {
        ExpectedVersion::Any => (0, 0),
        ExpectedVersion::NoStream => (1, 0),
        ExpectedVersion::StreamExists => (2, 0),
        // A version past i64::MAX matches no stream: -1 never does either.
        ExpectedVersion::Exact(version) => (3, i64::try_from(version).unwrap_or(-1)),
    }
}

/// The events of a group, in the column-per-field shape `es_append_group` takes.
struct Columns<'a> {
    ids: Vec<Uuid>,
    names: Vec<&'a str>,
    schema_versions: Vec<i32>,
    payloads: Vec<&'a [u8]>,
    timestamps: Vec<i64>,
    correlation_ids: Vec<Option<Uuid>>,
    causation_ids: Vec<Option<Uuid>>,
    extras: Vec<Option<String>>,
}

impl<'a> Columns<'a> {
    fn new(parts: &[&'a StreamAppend]) -> Self {
        let events = || parts.iter().flat_map(|part| &part.events);
        Self {
            ids: events().map(|e| e.id).collect(),
            names: events().map(|e| &*e.name).collect(),
            schema_versions: events().map(|e| i32::from(e.schema_version)).collect(),
            payloads: events().map(|e| &e.payload[..]).collect(),
            timestamps: events().map(|e| e.metadata.timestamp.0).collect(),
            correlation_ids: events().map(|e| e.metadata.correlation_id).collect(),
            causation_ids: events().map(|e| e.metadata.causation_id).collect(),
            extras: events().map(|e| extra_json(&e.metadata)).collect(),
        }
    }
}

/// The user key-values as the `extra` column takes them: a JSON object, or NULL for none.
pub(super) fn extra_json(metadata: &Metadata) -> Option<String> {
    (!metadata.extra.is_empty()).then(|| serde_json::to_string(&metadata.extra).unwrap_or_default())
}

/// A group's parameters: every part of every append, flattened, each part tagged with its
/// append's 1-based index.
struct Params<'a> {
    appends: Vec<i32>,
    streams: Vec<&'a str>,
    kinds: Vec<i16>,
    expected: Vec<i64>,
    counts: Vec<i32>,
    columns: Columns<'a>,
}

impl<'a> Params<'a> {
    fn new(group: &'a [Request]) -> Self {
        let tagged: Vec<(i32, &StreamAppend)> = (1..)
            .zip(group)
            .flat_map(|(append, request)| request.parts().iter().map(move |part| (append, part)))
            .collect();
        let parts: Vec<&StreamAppend> = tagged.iter().map(|&(_, part)| part).collect();
        let (kinds, expected) = parts.iter().map(|p| expectation(p.expected)).unzip();
        Self {
            appends: tagged.iter().map(|&(append, _)| append).collect(),
            streams: parts.iter().map(|p| p.stream.as_str()).collect(),
            kinds,
            expected,
            // The store caps a call's size far below 2^31 events.
            counts: parts
                .iter()
                .map(|p| i32::try_from(p.events.len()).unwrap_or(i32::MAX))
                .collect(),
            columns: Columns::new(&parts),
        }
    }

    fn as_sql(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 13] {
        let columns = &self.columns;
        [
            &self.appends,
            &self.streams,
            &self.kinds,
            &self.expected,
            &self.counts,
            &columns.ids,
            &columns.names,
            &columns.schema_versions,
            &columns.payloads,
            &columns.timestamps,
            &columns.correlation_ids,
            &columns.causation_ids,
            &columns.extras,
        ]
    }
}

/// Each append's results, from the rows `es_append_group` returned for the group: one row per
/// part of an accepted append, one row naming the refused part of a refused one.
fn outcomes(group: &[Request], rows: &[Row]) -> Vec<Result<Vec<AppendResult>, Error>> {
    match per_append(group.len(), rows) {
        Ok(per_append) => group
            .iter()
            .zip(per_append)
            .map(|(request, rows)| outcome(request.parts(), &rows))
            .collect(),
        Err(error) => group.iter().map(|_| Err(copy(&error))).collect(),
    }
}

/// The rows of each of `appends` appends, by their first column (the 1-based append).
fn per_append(appends: usize, rows: &[Row]) -> Result<Vec<Vec<&Row>>, Error> {
    let mut per_append: Vec<Vec<&Row>> = (0..appends).map(|_| Vec::new()).collect();
    for row in rows {
        let append: Option<i32> = row.try_get(0).map_err(db)?;
        append
            .and_then(|append| usize::try_from(append).ok())
            .and_then(|append| append.checked_sub(1))
            .and_then(|index| per_append.get_mut(index))
            .ok_or(PgError::BadAppendResult("the append"))?
            .push(row);
    }
    Ok(per_append)
}

/// One append's results, from its rows: one per part, or one naming the refused part.
fn outcome(parts: &[StreamAppend], rows: &[&Row]) -> Result<Vec<AppendResult>, Error> {
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let part: Option<i32> = row.try_get(1).map_err(db)?;
        let index = part
            .and_then(|part| usize::try_from(part).ok())
            .and_then(|part| part.checked_sub(1))
            .filter(|&index| index < parts.len())
            .ok_or(PgError::BadAppendResult("the part"))?;
        results.push(part_outcome(&parts[index], row, 2)?);
    }
    if results.len() != parts.len() {
        return Err(PgError::BadAppendResult("a row per part").into());
    }
    Ok(results)
}

/// One part's result, from the columns of `row` starting at `at`.
fn part_outcome(part: &StreamAppend, row: &Row, at: usize) -> Result<AppendResult, Error> {
    // Every column is read as nullable: a value the function did not fill is an error naming
    // it, never a panic.
    let missing = |what| -> Error { PgError::BadAppendResult(what).into() };
    let status: Option<i16> = row.try_get(at).map_err(db)?;
    let field = |index: usize| -> Result<u64, Error> {
        let value: Option<i64> = row.try_get(at + index).map_err(db)?;
        to_u64(
            value.ok_or_else(|| missing("a version or position"))?,
            0,
            "negative version or position in append result",
        )
    };
    match status.ok_or_else(|| missing("the status"))? {
        0 => Ok(AppendResult {
            first_version: field(1)?,
            version: field(2)?,
            first_position: field(3)?,
            position: field(4)?,
        }),
        1 => Err(Error::Conflict {
            stream: part.stream.clone(),
            expected: part.expected,
            actual: field(2)?,
        }),
        _ => {
            let stream: Option<String> = row.try_get(at + 5).map_err(db)?;
            let event_id: Option<Uuid> = row.try_get(at + 6).map_err(db)?;
            Err(Error::DuplicateEvent {
                stream: stream.ok_or_else(|| missing("the duplicate's stream"))?,
                version: field(1)?,
                event_id: event_id.ok_or_else(|| missing("the duplicate's id"))?,
            })
        }
    }
}

/// The writer task: takes every append queued, commits them as one group, answers each.
pub(super) async fn write_groups(
    pool: Pool,
    mut queue: mpsc::Receiver<Request>,
    head: Arc<watch::Sender<u64>>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    // A request that did not fit the last group: the next one starts with it.
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(request) => request,
            None => match queue.recv().await {
                Some(request) => request,
                None => break,
            },
        };
        group.push(first);
        // Let the appenders woken by the previous group's answers queue up behind this one.
        tokio::task::yield_now().await;
        fill(&mut group, &mut queue, &mut next);
        tracing::trace!(appends = group.len(), "group commit");
        let results = match pool.get().await {
            Ok(client) => append_group(&client, &group).await,
            Err(error) => {
                let error: Error = PgError::from(error).into();
                group.iter().map(|_| Err(copy(&error))).collect()
            }
        };
        if let Some(position) = results
            .iter()
            .filter_map(|result| result.as_ref().ok())
            .flatten()
            .map(|result| result.position)
            .max()
        {
            advance(&head, i64::try_from(position).unwrap_or(0));
        }
        for (request, result) in group.drain(..).zip(results) {
            request.answer(result);
        }
    }
}

/// Adds the requests queued behind the group's first, up to `MAX_GROUP` of them and
/// `MAX_GROUP_BYTES`; the one that would pass the size waits in `next`.
fn fill(group: &mut Vec<Request>, queue: &mut mpsc::Receiver<Request>, next: &mut Option<Request>) {
    let mut bytes: usize = group.iter().map(Request::size).sum();
    while group.len() < MAX_GROUP {
        let Ok(request) = queue.try_recv() else {
            break;
        };
        let size = request.size();
        if bytes.saturating_add(size) > MAX_GROUP_BYTES {
            *next = Some(request);
            break;
        }
        bytes += size;
        group.push(request);
    }
}

/// A copy of a backend error, for each append of a failed group.
fn copy(error: &Error) -> Error {
    match error {
        Error::Backend(source) => Error::Backend(Arc::clone(source)),
        other => Error::backend(other.to_string()),
    }
}

/// A group in one `es_append_group` call, in autocommit: one statement, one round trip, one
/// transaction. When the statement fails (one append's event breaks a constraint), each append
/// is retried alone, so the others still commit.
async fn append_group(
    client: &deadpool_postgres::Client,
    group: &[Request],
) -> Vec<Result<Vec<AppendResult>, Error>> {
    if let [Request::One { part, .. }] = group {
        return vec![append_one(client, part).await.map(|result| vec![result])];
    }
    match run(client, group).await {
        Ok(rows) => outcomes(group, &rows),
        // Alone, the error is the append's own. Or the connection died: whether the group
        // committed is unknown, and a retry by the caller is safe.
        Err(error) if group.len() == 1 || client.is_closed() => {
            group.iter().map(|_| Err(copy(&error))).collect()
        }
        Err(_) => {
            let mut results = Vec::with_capacity(group.len());
            for request in group {
                let alone = std::slice::from_ref(request);
                results.push(match run(client, alone).await {
                    Ok(rows) => outcomes(alone, &rows)
                        .pop()
                        .unwrap_or_else(|| Err(PgError::BadAppendResult("the append").into())),
                    Err(error) => Err(error),
                });
            }
            results
        }
    }
}

/// A lone one-stream append through `es_append`, in autocommit: its one row.
async fn append_one(
    client: &deadpool_postgres::Client,
    part: &StreamAppend,
) -> Result<AppendResult, Error> {
    let (kind, expected) = expectation(part.expected);
    let columns = Columns::new(&[part]);
    let statement = client.prepare_cached(APPEND).await.map_err(db)?;
    let rows = client
        .query(
            &statement,
            &[
                &part.stream.as_str(),
                &kind,
                &expected,
                &columns.ids,
                &columns.names,
                &columns.schema_versions,
                &columns.payloads,
                &columns.timestamps,
                &columns.correlation_ids,
                &columns.causation_ids,
                &columns.extras,
            ],
        )
        .await
        .map_err(db)?;
    match &rows[..] {
        [row] => part_outcome(part, row, 0),
        _ => Err(PgError::BadAppendResult("a row").into()),
    }
}

/// Runs `es_append_group` for `group`; its rows.
async fn run(client: &deadpool_postgres::Client, group: &[Request]) -> Result<Vec<Row>, Error> {
    let params = Params::new(group);
    let statement = client.prepare_cached(APPEND_GROUP).await.map_err(db)?;
    client.query(&statement, &params.as_sql()).await.map_err(db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::NewEvent;
    use crate::store::ExpectedVersion;

    fn append(payload: &bytes::Bytes) -> Request {
        let (reply, _) = oneshot::channel();
        Request::One {
            part: StreamAppend {
                stream: "large".to_owned(),
                expected: ExpectedVersion::Any,
                events: vec![NewEvent::new("Large", 1, payload.clone())],
            },
            reply,
        }
    }

    /// Large appends queued together go in groups under `MAX_GROUP_BYTES` (one statement is
    /// one message, which PostgreSQL caps at 1 GiB); the one that does not fit starts the
    /// next group, and small ones fill a group up to `MAX_GROUP`.
    #[test]
    fn groups_stop_at_their_byte_size() {
        let payload = bytes::Bytes::from(vec![0u8; 30 * 1024 * 1024]);
        let (sender, mut queue) = mpsc::channel(QUEUE);
        for _ in 0..5 {
            sender.try_send(append(&payload)).expect("queue");
        }
        let small = bytes::Bytes::from_static(b"{}");
        for _ in 0..=MAX_GROUP {
            sender.try_send(append(&small)).expect("queue");
        }
        let mut next = None;
        let mut sizes = Vec::new();
        while let Some(first) = next.take().or_else(|| queue.try_recv().ok()) {
            let mut group = vec![first];
            fill(&mut group, &mut queue, &mut next);
            assert!(
                group.len() == 1
                    || group.iter().map(Request::size).sum::<usize>() <= MAX_GROUP_BYTES,
                "a group of {} appends passes the size",
                group.len()
            );
            sizes.push(group.len());
        }
        // 2 + 2 large, then the fifth with 63 small ones, then the last 2 small.
        assert_eq!(sizes, [2, 2, MAX_GROUP, 2]);
    }
}
