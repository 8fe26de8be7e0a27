//! The PostgreSQL backend (feature `postgres`): many application nodes on one database.
//!
//! # Global order: one lock row, and group commit
//!
//! A sequence value is taken at insert but becomes visible at commit, so a reader that trusts
//! `position > checkpoint` skips a transaction that took a lower value and commits late. This
//! store closes that gap by construction: every append locks the single row of
//! `es_append_lock` (`SELECT .. FOR UPDATE`: a lock only, the row is never updated, so it leaves
//! no dead row versions behind) and holds the lock until it commits, taking the positions after
//! `max(position)`, read under the lock. A second append, from this process or another node,
//! waits for the lock and reads the first one's rows once it has committed, so positions are
//! gapless and become visible strictly in order. A reader simply reads `position > p`: it never
//! waits on a writer, and nothing can appear at or below a position it has seen.
//!
//! The other known cure (parallel writers, rows tagged with `pg_current_xact_id()`, readers
//! stopping below `pg_snapshot_xmin`) orders the log by (transaction id, sequence), which is not
//! the `u64` position readers checkpoint: mapping it back to a monotone `u64` needs a second,
//! serialized step anyway. The cost of the lock row is that appends across the whole
//! database commit one after another; this store pays it once per group instead of once per
//! append: one writer task per store instance takes every append queued while the previous
//! group was committing and sends them in one call of the `es_append_group` SQL function, in
//! autocommit. The function takes the lock once, checks every append's ids and versions with one
//! query each, decides each append in order (each sees the ones before it), writes the accepted
//! events with one INSERT and returns a conflict or a duplicate id as a result rather than
//! raising, so one append's refusal does not undo its neighbours. If the statement fails anyway,
//! each of its appends is retried alone. A lone append to one stream is one `es_append` call
//! (the server does less for it than for a group of one): one round trip either way.
//!
//! A transaction that took the lock and then rolls back (an error, a killed client)
//! consumed nothing: the next append takes the same positions, and readers were never waiting
//! on it, so it stalls no reader at all; it stalls other writers until PostgreSQL ends it. The
//! store's own transactions never wait on the client: each is one statement in autocommit. A
//! killed client's transaction ends when PostgreSQL sees its connection drop.
//!
//! # Live appends from other nodes
//!
//! Each append function sends `NOTIFY` (delivered at commit) on a channel named after the
//! schema. Each store instance keeps one listening connection that moves
//! [`head`](EventStore::head) forward,
//! and reconnects (with a short backoff) after the database restarts; [`Subscription`] also
//! polls, so a notification lost during a restart delays an event but never loses it.
//!
//! [`Subscription`]: crate::store::Subscription
//!
//! # Driver
//!
//! tokio-postgres with a deadpool pool: prepared statements, the binary protocol, and
//! pipelining. Nothing of the driver shows in this module's API; [`driver`] is the one place that hands out its types
//! (a pool of one's own for TLS, read models written in SQL).
//!
//! # Isolation
//!
//! The append functions need READ COMMITTED: under REPEATABLE READ or SERIALIZABLE their
//! snapshot, taken before they wait for the lock row, would miss the appends they waited for.
//! The store's sessions use it whatever the database's or role's default.

mod admin;
mod error;
mod listen;
mod migrate;
mod options;
mod read_model;
mod row;
mod sql;
mod writer;

pub mod driver;

pub use options::PostgresOptions;

use std::pin::pin;
use std::sync::Arc;

use bytes::Bytes;
use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use self::error::{PgError, db, to_bigint};
use self::listen::{advance, listen_loop};
use self::row::{Columns, SharedNames, next_row, replayed, to_u64};
use self::sql::{
    FIND_EVENT, FOLD_STREAM, HEAD, LOAD_CHECKPOINT, LOAD_SNAPSHOT, READ_ALL, READ_STREAM,
    SAVE_CHECKPOINT, SAVE_SNAPSHOT, STREAM_VERSION,
};
use self::writer::{QUEUE, Request, write_groups};
use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent, RecordedEventRef, ReplayedEvent, Snapshot};
use crate::store::{
    AppendResult, EventStore, ExpectedVersion, StreamAppend, repeated_id, validate_append,
    validate_appends, validate_position, validate_stream_name,
};

/// An event store in a PostgreSQL database, shared by any number of processes.
///
/// Cheap to clone (clones share the pool, the writer task and the listener). Create it inside a
/// tokio runtime and use it there: its writer and listener are tasks of that runtime.
///
/// ```no_run
/// # async fn demo() -> Result<(), es_core::Error> {
/// use std::time::Duration;
/// use es_core::store::PostgresEventStore;
///
/// // A server at this URL is needed to run this.
/// let store = PostgresEventStore::connect("postgres://app@127.0.0.1/app").await?;
/// store.migrate().await?;
///
/// // Or with settings of one's own:
/// let store = PostgresEventStore::builder("postgres://app@127.0.0.1/app")
///     .pool_size(32)
///     .connect_timeout(Duration::from_secs(5))
///     .schema("billing")
///     .connect()
///     .await?;
/// # Ok(())
/// # }
/// ```
///
/// The tables live in the first schema of the connection's `search_path` (`public` by
/// default); set another with [`PostgresOptions::schema`] or the URL's
/// `options=-csearch_path%3Dname`.
#[derive(Debug, Clone)]
pub struct PostgresEventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: Pool,
    writer: mpsc::Sender<Request>,
    head: Arc<watch::Sender<u64>>,
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

impl PostgresEventStore {
    /// Queues `request` for the group writer.
    async fn to_writer(&self, request: Request) -> Result<(), Error> {
        self.inner
            .writer
            .send(request)
            .await
            .map_err(|_| PgError::WriterStopped.into())
    }

    /// Connects to the database at `url` with the default [`PostgresOptions`].
    ///
    /// # Errors
    /// As [`PostgresOptions::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        PostgresOptions::new(url).connect().await
    }

    /// The options to connect to the database at `url` with settings of one's own.
    pub fn builder(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions::new(url)
    }

    /// A store over `pool`; `listen` configures the extra connection that listens for appends
    /// of other nodes.
    async fn start(pool: Pool, listen: Option<tokio_postgres::Config>) -> Result<Self, Error> {
        let client = pool.get().await.map_err(PgError::from)?;
        let row = client
            .query_one("SELECT left('es_head:' || current_schema(), 63)", &[])
            .await
            .map_err(db)?;
        // NULL when no schema of the `search_path` exists.
        let channel: Option<String> = row.try_get(0).map_err(db)?;
        let channel = channel.ok_or(PgError::NoSchema)?;
        drop(client);
        let head = Arc::new(watch::channel(0).0);
        let (writer, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write_groups(pool.clone(), queue, Arc::clone(&head)));
        let listener =
            listen.map(|config| tokio::spawn(listen_loop(config, channel, Arc::clone(&head))));
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                writer,
                head,
                listener,
            }),
        };
        // The head is a hint; a missing table (not migrated yet) leaves it at 0.
        if let Ok(client) = store.inner.pool.get().await {
            if let Ok(Ok(head)) = client.query_one(HEAD, &[]).await.map(|row| row.try_get(0)) {
                advance(&store.inner.head, head);
            }
        }
        Ok(store)
    }

    /// Runs one statement on a pooled connection (autocommit).
    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<(), Error> {
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let statement = client.prepare_cached(sql).await.map_err(db)?;
        client.execute(&statement, params).await.map_err(db)?;
        Ok(())
    }

    /// Reads records, each decoded as its row arrives (the rows are not collected first; the
    /// records are).
    async fn read(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<RecordedEvent>, Error> {
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let statement = client.prepare_cached(sql).await.map_err(db)?;
        let rows = client
            .query_raw(&statement, params.iter().copied())
            .await
            .map_err(db)?;
        let mut rows = pin!(rows);
        let mut shared = SharedNames::default();
        let mut records = Vec::new();
        while let Some(row) = next_row(rows.as_mut()).await? {
            records.push(Columns::of(&row)?.record(&mut shared));
        }
        Ok(records)
    }
}

impl EventStore for PostgresEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        validate_append(stream, &events)?;
        if let Some(event_id) = repeated_id(&events) {
            return Err(Error::DuplicateEvent {
                stream: stream.to_owned(),
                version: 0,
                event_id,
            });
        }
        let (reply, answer) = oneshot::channel();
        let part = StreamAppend::new(stream, expected, events);
        self.to_writer(Request::One { part, reply }).await?;
        answer.await.map_err(|_| PgError::WriterStopped)?
    }

    async fn append_streams(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        validate_appends(&parts)?;
        // An id twice in one call would break the table's unique index mid-call.
        for part in &parts {
            if let Some(event_id) = repeated_id(&part.events) {
                return Err(Error::DuplicateEvent {
                    stream: part.stream.clone(),
                    version: 0,
                    event_id,
                });
            }
        }
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.to_writer(Request::Many { parts, reply }).await?;
        answer.await.map_err(|_| PgError::WriterStopped)?
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
        self.read(READ_STREAM, &[&stream, &from, &limit]).await
    }

    /// Streams the rows and folds each as it arrives, borrowing its name and payload: no record
    /// is built and only the four columns a replay needs are read.
    async fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn FnMut(ReplayedEvent<'_>) -> Result<(), Error> + Send),
    ) -> Result<usize, Error> {
        validate_stream_name(stream)?;
        let Ok(from) = i64::try_from(from) else {
            return Ok(0);
        };
        if limit == 0 {
            return Ok(0);
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let statement = client.prepare_cached(FOLD_STREAM).await.map_err(db)?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&stream, &from, &limit];
        let rows = client.query_raw(&statement, params).await.map_err(db)?;
        let mut rows = pin!(rows);
        let mut count = 0;
        while let Some(row) = next_row(rows.as_mut()).await? {
            each(replayed(&row, stream)?)?;
            count += 1;
        }
        Ok(count)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        let Ok(after) = i64::try_from(after) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(READ_ALL, &[&after, &limit]).await
    }

    /// Streams the rows of `read_all`'s query and folds each as it arrives, borrowing its
    /// stream, name and payload: no record is built, no batch held. The order guarantee is
    /// `read_all`'s, by the same construction: positions become visible in order.
    async fn fold_all(
        &self,
        after: u64,
        limit: usize,
        each: &mut (dyn FnMut(RecordedEventRef<'_>) -> Result<(), Error> + Send),
    ) -> Result<usize, Error> {
        let Ok(after) = i64::try_from(after) else {
            return Ok(0);
        };
        if limit == 0 {
            return Ok(0);
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let statement = client.prepare_cached(READ_ALL).await.map_err(db)?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&after, &limit];
        let rows = client.query_raw(&statement, params).await.map_err(db)?;
        let mut rows = pin!(rows);
        let mut count = 0;
        while let Some(row) = next_row(rows.as_mut()).await? {
            each(Columns::of(&row)?.event())?;
            count += 1;
        }
        Ok(count)
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        validate_stream_name(stream)?;
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let statement = client.prepare_cached(STREAM_VERSION).await.map_err(db)?;
        let row = client.query_opt(&statement, &[&stream]).await.map_err(db)?;
        match row {
            None => Ok(0),
            Some(row) => {
                let version: i64 = row.try_get(0).map_err(db)?;
                to_u64(version, 0, "negative version")
            }
        }
    }

    async fn find_event(&self, id: Uuid) -> Result<Option<RecordedEvent>, Error> {
        Ok(self.read(FIND_EVENT, &[&id]).await?.pop())
    }

    fn head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        validate_stream_name(stream)?;
        validate_position("snapshot version", snapshot.version)?;
        let version = to_bigint("snapshot version", snapshot.version)?;
        let schema_version = i32::from(snapshot.schema_version);
        self.execute(
            SAVE_SNAPSHOT,
            &[&stream, &version, &schema_version, &&snapshot.payload[..]],
        )
        .await
    }

    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error> {
        validate_stream_name(stream)?;
        let max_version = i64::try_from(max_version).unwrap_or(i64::MAX);
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let statement = client.prepare_cached(LOAD_SNAPSHOT).await.map_err(db)?;
        let Some(row) = client
            .query_opt(&statement, &[&stream, &max_version])
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let version: i64 = row.try_get(0).map_err(db)?;
        let corrupt = |what| PgError::CorruptSnapshot {
            stream: stream.to_owned(),
            version,
            what,
        };
        let schema_version: i32 = row.try_get(1).map_err(db)?;
        let payload: &[u8] = row.try_get(2).map_err(db)?;
        Ok(Some(Snapshot {
            version: u64::try_from(version).map_err(|_| corrupt("negative version"))?,
            schema_version: u16::try_from(schema_version)
                .map_err(|_| corrupt("schema version out of range"))?,
            payload: Bytes::copy_from_slice(payload),
        }))
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        validate_stream_name(name)?;
        validate_position("checkpoint", position)?;
        let position = to_bigint("checkpoint", position)?;
        self.execute(SAVE_CHECKPOINT, &[&name, &position]).await
    }

    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error> {
        validate_stream_name(name)?;
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let statement = client.prepare_cached(LOAD_CHECKPOINT).await.map_err(db)?;
        let row = client.query_opt(&statement, &[&name]).await.map_err(db)?;
        match row {
            None => Ok(0),
            Some(row) => {
                let position: i64 = row.try_get(0).map_err(db)?;
                to_u64(position, 0, "negative checkpoint")
            }
        }
    }
}
