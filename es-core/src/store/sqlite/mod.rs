//! The SQLite backend (feature `sqlite`, on by default): one file, no server, WAL.
//!
//! One writer thread owns the write connection and commits every append that is waiting in one
//! transaction (group commit), so global positions are gapless by construction and concurrent
//! appenders share each fsync. Reads use their own connections on blocking tasks; in WAL mode
//! they never wait for the writer, nor the writer for them.
//!
//! Open a store with [`SqliteEventStore::open`], or tune it first with
//! [`SqliteEventStore::builder`]. This API names none of the driver's types; read models in SQL
//! and ad-hoc queries of the file go through [`driver`], the one module that does.

pub mod driver;
mod error;
mod read_model;
mod writer;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use self::error::SqliteError;
use self::error::to_sql_int;
use self::writer::{AppendRequest, Request, WriteRequest, stored_u64};
use crate::error::Error;
use crate::record::{Metadata, NewEvent, RecordedEvent, Snapshot, Timestamp};
use crate::store::{
    AppendResult, EventStore, ExpectedVersion, validate_append, validate_position,
    validate_stream_name,
};

/// The schema versions this code knows, in order: opening applies those after the file's
/// `PRAGMA user_version` and sets it to the last.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("schema.sql")),
    (2, include_str!("schema_2.sql")),
];

/// How appends are made durable: SQLite's `synchronous` setting, always in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `synchronous = FULL` (the default): the WAL is synced at every commit. An acknowledged
    /// append survives a process kill and a power loss.
    #[default]
    Full,
    /// `synchronous = NORMAL`: the WAL is synced at checkpoints only. An acknowledged append
    /// survives a process kill; a power loss may lose the last transactions (never tear one).
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// How to open a [`SqliteEventStore`]: durability and tuning. Get one from
/// [`SqliteEventStore::builder`], set what differs from the defaults, then [`open`](Self::open).
///
/// | option | default | what it sets |
/// |---|---|---|
/// | [`synchronous`](Self::synchronous) | [`Synchronous::Full`] | how commits are made durable |
/// | [`busy_timeout`](Self::busy_timeout) | 5 s | how long to wait for another process's lock |
/// | [`readers`](Self::readers) | 4 | how many read connections are pooled |
/// | [`max_group`](Self::max_group) | 1,024 | the most appends committed in one transaction |
///
/// WAL journal mode is not an option: the store always uses it.
///
/// # Examples
/// ```no_run
/// # async fn demo() -> Result<(), es_core::Error> {
/// use std::time::Duration;
///
/// use es_core::store::{SqliteEventStore, Synchronous};
///
/// let store = SqliteEventStore::builder("bank.db")
///     .synchronous(Synchronous::Normal)
///     .busy_timeout(Duration::from_secs(10))
///     .readers(8)
///     .max_group(256)
///     .open()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    path: PathBuf,
    synchronous: Synchronous,
    busy_timeout: Duration,
    readers: usize,
    max_group: usize,
}

impl SqliteOptions {
    /// Options for the database file at `path` (created if missing), with the defaults:
    /// [`Synchronous::Full`], a 5 s busy timeout, 4 pooled read connections, groups of up to
    /// 1,024 appends. The same as [`SqliteEventStore::builder`].
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            readers: 4,
            max_group: 1024,
        }
    }

    /// How commits are made durable (default [`Synchronous::Full`]).
    #[must_use]
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// How long a connection waits for a lock held by another process before failing with a
    /// backend error (default 5 s).
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How many read connections to pool (default 4, at least 1): at most this many reads run
    /// at once; more wait for a free connection.
    #[must_use]
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// The most appends committed in one transaction (default 1,024; from 1 to 65,536).
    #[must_use]
    pub fn max_group(mut self, appends: usize) -> Self {
        self.max_group = appends.clamp(1, 65_536);
        self
    }

    /// Opens the store: creates the file and the schema if needed, sets WAL mode and starts the
    /// writer thread. Needs a Tokio runtime.
    ///
    /// # Errors
    /// [`Error::Backend`] when the file cannot be opened or created, is not a database, or holds
    /// a newer schema than this code knows.
    pub async fn open(self) -> Result<SqliteEventStore, Error> {
        let options = self.clone();
        let (conn, head) = tokio::task::spawn_blocking(move || open_writer(&options))
            .await
            .map_err(SqliteError::Task)??;
        let (head_tx, _) = watch::channel(head);
        let head_tx = Arc::new(head_tx);
        let (requests, receiver) = mpsc::channel(self.max_group * 4);
        let writer_head = Arc::clone(&head_tx);
        let max_group = self.max_group;
        let thread = std::thread::Builder::new()
            .name("es-sqlite-writer".into())
            .spawn(move || writer::run(conn, receiver, &writer_head, max_group))
            .map_err(Error::backend)?;
        Ok(SqliteEventStore {
            inner: Arc::new(Shared {
                requests: Some(requests),
                writer: Some(thread),
                head: head_tx,
                readers: Mutex::new(Vec::new()),
                read_permits: tokio::sync::Semaphore::new(self.readers),
                options: self,
            }),
        })
    }
}

/// The embedded event store: one SQLite file, no server (feature `sqlite`, on by default).
///
/// - **Durability**: an append is acknowledged after its transaction commits; with the default
///   [`Synchronous::Full`] it survives a process kill and a power loss.
/// - **Order**: one writer thread assigns global positions inside its transaction, so the global
///   log is gapless and commits in position order.
/// - **Concurrency**: appends from many tasks are committed together (group commit), each with
///   its own result; reads run on pooled connections in blocking tasks and never wait for the
///   writer.
/// - **One process per file** is the intended use. A second process on the same file is safe
///   (SQLite's locks serialize the writers, positions and versions are read inside the write
///   transaction), but it waits up to the busy timeout for the lock, and [`head`](EventStore::head)
///   does not see the other process's appends (subscriptions find them by polling).
/// - **Read models in SQL** can live in the same file, their rows committed with their
///   checkpoint: see [`run_projection`](Self::run_projection) and the [`driver`] module.
///
/// Cheap to clone (one `Arc`); the writer thread stops and the file is closed when the last
/// clone is dropped.
///
/// # Examples
/// ```no_run
/// # async fn demo() -> Result<(), es_core::Error> {
/// use es_core::prelude::*;
///
/// let store = SqliteEventStore::open("bank.db").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqliteEventStore {
    inner: Arc<Shared>,
}

struct Shared {
    /// `None` only while dropping: closing it stops the writer.
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    head: Arc<watch::Sender<u64>>,
    readers: Mutex<Vec<Connection>>,
    /// One permit per pooled reader: reads beyond the pool wait rather than open connections.
    read_permits: tokio::sync::Semaphore,
    options: SqliteOptions,
}

impl fmt::Debug for SqliteEventStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteEventStore")
            .field("path", &self.inner.options.path)
            .field("synchronous", &self.inner.options.synchronous)
            .field("head", &*self.inner.head.borrow())
            .finish_non_exhaustive()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what is queued and return.
        drop(self.requests.take());
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("the SQLite writer thread panicked");
            }
        }
    }
}

impl SqliteEventStore {
    /// Opens (or creates) the store in the file at `path` with the default options: WAL,
    /// [`Synchronous::Full`]. See [`builder`](Self::builder) to change them.
    ///
    /// # Errors
    /// [`Error::Backend`] when the file cannot be opened or created, is not a database, or holds
    /// a newer schema than this code knows.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        SqliteOptions::new(path).open().await
    }

    /// Options for opening the store in the file at `path` (created if missing): set the
    /// durability mode, busy timeout, read pool and group size, then
    /// [`open`](SqliteOptions::open). Unset options keep the defaults [`open`](Self::open) uses.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo() -> Result<(), es_core::Error> {
    /// use es_core::store::{SqliteEventStore, Synchronous};
    ///
    /// let store = SqliteEventStore::builder("bank.db")
    ///     .synchronous(Synchronous::Normal)
    ///     .open()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> SqliteOptions {
        SqliteOptions::new(path)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.options.path
    }

    /// Hands `request` to the writer thread.
    async fn to_writer(&self, request: Request) -> Result<(), Error> {
        let requests = self
            .inner
            .requests
            .as_ref()
            .ok_or(SqliteError::WriterStopped)?;
        requests
            .send(request)
            .await
            .map_err(|_| SqliteError::WriterStopped)?;
        Ok(())
    }

    /// Runs `write` on the writer's connection, in a savepoint of the next group commit.
    async fn write(
        &self,
        write: impl Fn(&Connection) -> Result<(), SqliteError> + Send + 'static,
    ) -> Result<(), Error> {
        let (reply, answer) = oneshot::channel();
        self.to_writer(Request::Write(WriteRequest {
            write: Box::new(write),
            reply,
        }))
        .await?;
        answer.await.map_err(|_| SqliteError::WriterStopped)?
    }

    /// Runs `read` on a pooled read connection, on a blocking task.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, SqliteError> + Send + 'static,
    ) -> Result<T, Error> {
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.inner.read_permits.acquire().await.ok();
        let shared = Arc::clone(&self.inner);
        let result = tokio::task::spawn_blocking(move || {
            let pooled = shared
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_reader(&shared.options)?,
            };
            let result = read(&conn);
            let mut pool = shared
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if pool.len() < shared.options.readers {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(SqliteError::Task)?;
        Ok(result?)
    }
}

impl EventStore for SqliteEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        validate_append(stream, &events)?;
        let (reply, answer) = oneshot::channel();
        self.to_writer(Request::Append(AppendRequest {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
        }))
        .await?;
        answer.await.map_err(|_| SqliteError::WriterStopped)?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        validate_stream_name(stream)?;
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let stream: Arc<str> = Arc::from(stream);
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT position, stream, version, event_id, name, schema_version, payload, \
                 timestamp, correlation_id, causation_id, extra FROM events \
                 WHERE stream = ?1 AND version >= ?2 ORDER BY version LIMIT ?3",
            )?;
            let mut rows = statement.query((&*stream, from, limit))?;
            let mut decoder = Decoder::new(Some(stream));
            let mut events = Vec::new();
            while let Some(row) = rows.next()? {
                events.push(decoder.decode(row)?);
            }
            Ok(events)
        })
        .await
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        let Ok(after) = i64::try_from(after) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT position, stream, version, event_id, name, schema_version, payload, \
                 timestamp, correlation_id, causation_id, extra FROM events \
                 WHERE position > ?1 ORDER BY position LIMIT ?2",
            )?;
            let mut rows = statement.query((after, limit))?;
            let mut decoder = Decoder::new(None);
            let mut events = Vec::new();
            while let Some(row) = rows.next()? {
                events.push(decoder.decode(row)?);
            }
            Ok(events)
        })
        .await
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        validate_stream_name(stream)?;
        let stream = stream.to_owned();
        self.read(move |conn| writer::stream_version(conn, &stream))
            .await
    }

    async fn find_event(&self, id: Uuid) -> Result<Option<RecordedEvent>, Error> {
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT position, stream, version, event_id, name, schema_version, payload, \
                 timestamp, correlation_id, causation_id, extra FROM events WHERE event_id = ?1",
            )?;
            let mut rows = statement.query([&id.as_bytes()[..]])?;
            match rows.next()? {
                Some(row) => Ok(Some(Decoder::new(None).decode(row)?)),
                None => Ok(None),
            }
        })
        .await
    }

    fn head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        validate_stream_name(stream)?;
        validate_position("snapshot version", snapshot.version)?;
        let stream = stream.to_owned();
        let version = to_sql_int("snapshot version", snapshot.version)?;
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO snapshots (stream, version, schema_version, payload) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute((
                &stream,
                version,
                i64::from(snapshot.schema_version),
                &snapshot.payload[..],
            ))?;
            Ok(())
        })
        .await
    }

    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error> {
        validate_stream_name(stream)?;
        let stream = stream.to_owned();
        let max_version = i64::try_from(max_version).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT version, schema_version, payload FROM snapshots \
                 WHERE stream = ?1 AND version <= ?2 ORDER BY version DESC LIMIT 1",
            )?;
            let mut rows = statement.query((&stream, max_version))?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            let version: i64 = row.get(0)?;
            let schema_version = u16::try_from(row.get::<_, i64>(1)?).map_err(|_| {
                SqliteError::MalformedSnapshot {
                    stream: stream.clone(),
                    version,
                }
            })?;
            Ok(Some(Snapshot {
                version: stored_u64(version),
                schema_version,
                payload: Bytes::copy_from_slice(row.get_ref(2)?.as_blob()?),
            }))
        })
        .await
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        validate_stream_name(name)?;
        validate_position("checkpoint", position)?;
        let name = name.to_owned();
        let position = to_sql_int("checkpoint", position)?;
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO checkpoints (name, position) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            )?
            .execute((&name, position))?;
            Ok(())
        })
        .await
    }

    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error> {
        validate_stream_name(name)?;
        let name = name.to_owned();
        self.read(move |conn| {
            let position = conn
                .prepare_cached("SELECT position FROM checkpoints WHERE name = ?1")?
                .query_row([&name], |row| row.get::<_, i64>(0))
                .optional()?;
            Ok(position.map_or(0, stored_u64))
        })
        .await
    }
}

/// Opens the write connection, sets WAL and the synchronous mode, creates or checks the schema,
/// and reads the global head.
fn open_writer(options: &SqliteOptions) -> Result<(Connection, u64), SqliteError> {
    let mut conn = Connection::open_with_flags(
        &options.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    let mode = set_wal(&conn, options.busy_timeout)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SqliteError::NoWal { mode });
    }
    conn.pragma_update(None, "synchronous", options.synchronous.pragma())?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = MIGRATIONS.last().map_or(0, |&(version, _)| version);
    if current > known {
        return Err(SqliteError::FutureSchema {
            found: current,
            supported: known,
        });
    }
    for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    let head = conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |row| {
        row.get::<_, i64>(0)
    })?;
    Ok((conn, stored_u64(head)))
}

/// Puts the file in WAL mode; the journal mode it ends in. On a new file that another process
/// is setting up at the same moment, SQLite answers "database is locked" at once instead of
/// calling the busy handler: retried, with a growing pause, until the busy timeout.
fn set_wal(conn: &Connection, busy_timeout: Duration) -> Result<String, SqliteError> {
    let deadline = Instant::now() + busy_timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return Ok(result?),
        }
    }
}

/// Opens a read connection: it cannot write, and waits out another process's locks.
fn open_reader(options: &SqliteOptions) -> Result<Connection, SqliteError> {
    let conn = Connection::open_with_flags(
        &options.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Turns rows into [`RecordedEvent`]s, sharing the `Arc<str>` of a stream or name that repeats.
struct Decoder {
    stream: Option<Arc<str>>,
    name: Option<Arc<str>>,
}

impl Decoder {
    fn new(stream: Option<Arc<str>>) -> Self {
        Self { stream, name: None }
    }

    fn decode(&mut self, row: &Row<'_>) -> Result<RecordedEvent, SqliteError> {
        let position: i64 = row.get(0)?;
        let malformed = |what| SqliteError::Malformed { position, what };
        let stream = shared(&mut self.stream, row.get_ref(1)?.as_str()?);
        let version: i64 = row.get(2)?;
        let id = Uuid::from_slice(row.get_ref(3)?.as_blob()?)
            .map_err(|_| malformed("the event id is not 16 bytes"))?;
        let name = shared(&mut self.name, row.get_ref(4)?.as_str()?);
        let schema_version = u16::try_from(row.get::<_, i64>(5)?)
            .map_err(|_| malformed("the schema version is not a 16-bit number"))?;
        let payload = Bytes::copy_from_slice(row.get_ref(6)?.as_blob()?);
        let timestamp = Timestamp(row.get(7)?);
        let correlation_id =
            optional_uuid(row, 8).map_err(|()| malformed("the correlation id is not 16 bytes"))?;
        let causation_id =
            optional_uuid(row, 9).map_err(|()| malformed("the causation id is not 16 bytes"))?;
        let extra = match row.get_ref(10)?.as_str_or_null()? {
            None => BTreeMap::new(),
            Some(json) => serde_json::from_str(json)
                .map_err(|source| SqliteError::Metadata { position, source })?,
        };
        Ok(RecordedEvent {
            id,
            stream,
            version: stored_u64(version),
            position: stored_u64(position),
            name,
            schema_version,
            payload,
            metadata: Metadata {
                timestamp,
                correlation_id,
                causation_id,
                extra,
            },
        })
    }
}

/// The cached `Arc` when it holds `text`, else a new one, cached.
fn shared(cache: &mut Option<Arc<str>>, text: &str) -> Arc<str> {
    match cache {
        Some(cached) if **cached == *text => Arc::clone(cached),
        _ => Arc::clone(cache.insert(Arc::from(text))),
    }
}

fn optional_uuid(row: &Row<'_>, column: usize) -> Result<Option<Uuid>, ()> {
    match row.get_ref(column).map_err(|_| ())?.as_blob_or_null() {
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => Uuid::from_slice(bytes).map(Some).map_err(|_| ()),
        Err(_) => Err(()),
    }
}
