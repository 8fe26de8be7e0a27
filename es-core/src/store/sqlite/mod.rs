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

mod admin;
pub mod driver;
mod error;
mod open;
mod options;
mod read_model;
mod row;
mod writer;

pub use options::{SqliteOptions, Synchronous};

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use self::error::SqliteError;
use self::error::to_sql_int;
use self::open::open_reader;
use self::row::Decoder;
use self::writer::{AppendRequest, AppendStreamsRequest, Request, Write, WriteRequest, stored_u64};
use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent, Snapshot};
use crate::store::{
    AppendResult, EventStore, ExpectedVersion, StreamAppend, validate_append, validate_appends,
    validate_position, validate_stream_name,
};

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
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// use es_core::prelude::*;
///
/// let store = SqliteEventStore::open(dir.path().join("bank.db")).await?;
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
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// use es_core::store::{SqliteEventStore, Synchronous};
    ///
    /// let store = SqliteEventStore::builder(dir.path().join("bank.db"))
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
        self.write_request(Box::new(write), false).await
    }

    /// Hands `write` to the writer; `moves_log`: it adds events (an import).
    async fn write_request(&self, write: Write, moves_log: bool) -> Result<(), Error> {
        let (reply, answer) = oneshot::channel();
        self.to_writer(Request::Write(WriteRequest {
            write,
            moves_log,
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
            part: StreamAppend::new(stream, expected, events),
            reply,
        }))
        .await?;
        answer.await.map_err(|_| SqliteError::WriterStopped)?
    }

    async fn append_streams(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        validate_appends(&parts)?;
        let (reply, answer) = oneshot::channel();
        self.to_writer(Request::AppendStreams(AppendStreamsRequest {
            parts,
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
            match rows.next()? {
                Some(row) => Ok(Some(row::snapshot(row, 0, &stream)?)),
                None => Ok(None),
            }
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
