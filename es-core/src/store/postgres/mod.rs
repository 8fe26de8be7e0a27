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
//! group was committing and runs them in one transaction (group commit), each through the
//! `es_append` SQL function, which returns a conflict or a duplicate id as a result rather than
//! raising, so one append's refusal does not undo its neighbours. If the group's transaction
//! fails anyway, each of its appends is retried alone. A lone append is one statement in
//! autocommit: one round trip.
//!
//! A transaction that took the lock and then rolls back (an error, a killed client)
//! consumed nothing: the next append takes the same positions, and readers were never waiting
//! on it, so it stalls no reader at all; it stalls other writers until PostgreSQL ends it. The
//! store's own transactions never wait on the client between statements: a lone append is one
//! statement, and a group is sent pipelined and sets `idle_in_transaction_session_timeout` to
//! 5 s, the bound on how long a client that stalls mid-group holds the lock. A killed client's
//! transaction ends when PostgreSQL sees its connection drop.
//!
//! # Live appends from other nodes
//!
//! `es_append` sends `NOTIFY` (delivered at commit) on a channel named after the schema. Each
//! store instance keeps one listening connection that moves [`head`](EventStore::head) forward,
//! and reconnects (with a short backoff) after the database restarts; [`Subscription`] also
//! polls, so a notification lost during a restart delays an event but never loses it.
//!
//! [`Subscription`]: crate::store::Subscription
//!
//! # Driver
//!
//! tokio-postgres with a deadpool pool: prepared statements, the binary protocol, and
//! pipelining (a group commit is sent as one burst: `BEGIN`, the appends, `COMMIT`).

mod read_model;

pub use read_model::PostgresProjection;

use std::collections::BTreeMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::{AsyncMessage, NoTls, Row};
use uuid::Uuid;

use crate::error::Error;
use crate::record::{Metadata, NewEvent, RecordedEvent, Snapshot, Timestamp};
use crate::store::{AppendResult, EventStore, ExpectedVersion, validate_stream_name};

/// The schema versions this code knows, in order; `migrate` applies the missing ones.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("schema.sql")),
    (2, include_str!("schema_2.sql")),
    (3, include_str!("schema_3.sql")),
];

/// The most appends one group commit carries.
const MAX_GROUP: usize = 64;

/// How many appends may wait for the writer task before `append` waits for room.
const QUEUE: usize = 1024;

const APPEND: &str = "SELECT o_status, o_first_version, o_version, o_first_position, \
     o_position, o_dup_stream, o_dup_id \
     FROM es_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const READ_STREAM: &str = "SELECT position, stream, version, id, name, schema_version, payload, \
     timestamp_us, correlation_id, causation_id, extra::text FROM es_events \
     WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3";

const READ_ALL: &str = "SELECT position, stream, version, id, name, schema_version, payload, \
     timestamp_us, correlation_id, causation_id, extra::text FROM es_events \
     WHERE position > $1 ORDER BY position LIMIT $2";

const FIND_EVENT: &str = "SELECT position, stream, version, id, name, schema_version, payload, \
     timestamp_us, correlation_id, causation_id, extra::text FROM es_events WHERE id = $1";

const STREAM_VERSION: &str =
    "SELECT version FROM es_events WHERE stream = $1 ORDER BY version DESC LIMIT 1";

const SAVE_SNAPSHOT: &str = "INSERT INTO es_snapshots (stream, version, schema_version, payload) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (stream, version) \
     DO UPDATE SET schema_version = excluded.schema_version, payload = excluded.payload";

const LOAD_SNAPSHOT: &str = "SELECT version, schema_version, payload FROM es_snapshots \
     WHERE stream = $1 AND version <= $2 ORDER BY version DESC LIMIT 1";

const SAVE_CHECKPOINT: &str = "INSERT INTO es_checkpoints (name, position) VALUES ($1, $2) \
     ON CONFLICT (name) DO UPDATE SET position = excluded.position";

const LOAD_CHECKPOINT: &str = "SELECT position FROM es_checkpoints WHERE name = $1";

const HEAD: &str = "SELECT coalesce(max(position), 0) FROM es_events";

const BEGIN: &str = "BEGIN; SET LOCAL idle_in_transaction_session_timeout = '5s'";

/// The backend's own failures, shown to users only as the source of [`Error::Backend`].
#[derive(Debug, thiserror::Error)]
enum PgError {
    #[error("PostgreSQL error")]
    Db(#[from] tokio_postgres::Error),
    #[error("cannot get a connection from the pool")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("cannot build the connection pool")]
    Build(#[from] deadpool_postgres::BuildError),
    #[error("the store's writer task has stopped (was its runtime shut down?)")]
    WriterStopped,
    #[error("the database's event store schema is version {found}, newer than this code's {known}")]
    NewerSchema { found: i32, known: i32 },
    #[error("stored row at position {position} is corrupt: {what}")]
    Corrupt { position: i64, what: &'static str },
    #[error("the read model of projection `{projection}` could not be set up")]
    ReadModelSetup {
        projection: &'static str,
        #[source]
        source: crate::codec::BoxError,
    },
    #[error("{what} {value} does not fit a PostgreSQL bigint")]
    OutOfRange { what: &'static str, value: u64 },
    #[error("snapshot of stream `{stream}` at version {version} is corrupt: {what}")]
    CorruptSnapshot {
        stream: String,
        version: i64,
        what: &'static str,
    },
}

/// A version or position as a bigint.
fn to_bigint(what: &'static str, value: u64) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| PgError::OutOfRange { what, value }.into())
}

impl From<PgError> for Error {
    fn from(error: PgError) -> Self {
        Error::backend(error)
    }
}

fn db(error: tokio_postgres::Error) -> Error {
    PgError::Db(error).into()
}

/// An event store in a PostgreSQL database, shared by any number of processes.
///
/// Cheap to clone (clones share the pool, the writer task and the listener). Create it inside a
/// tokio runtime and use it there: its writer and listener are tasks of that runtime.
///
/// ```no_run
/// # async fn demo() -> Result<(), es_core::Error> {
/// use es_core::store::PostgresEventStore;
///
/// let store = PostgresEventStore::connect("postgres://app@127.0.0.1/app").await?;
/// store.migrate().await?;
/// # Ok(())
/// # }
/// ```
///
/// The tables live in the first schema of the connection's `search_path` (`public` by
/// default); set another with the URL's `options=-csearch_path%3Dname`.
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

#[derive(Debug)]
struct Request {
    stream: String,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<AppendResult, Error>>,
}

impl PostgresEventStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db?options=..`) without
    /// TLS, with a pool of up to 16 connections, and listens for other nodes' appends. For TLS,
    /// build the pool yourself and use [`from_pool`](Self::from_pool).
    ///
    /// Does not create the tables: call [`migrate`](Self::migrate) once (it is safe to call from
    /// every node at startup).
    ///
    /// # Errors
    /// [`Error::Backend`] when the URL is invalid or the database cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let config = tokio_postgres::Config::from_str(url).map_err(db)?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(PgError::from)?;
        Self::from_pool(pool, Some(config)).await
    }

    /// A store over an existing pool (built with any TLS connector). `listen` is the
    /// configuration of the extra connection that listens for appends of other nodes (opened
    /// without TLS); without it, [`head`](EventStore::head) moves only with this instance's own
    /// appends and subscriptions find other nodes' events by polling.
    ///
    /// # Errors
    /// [`Error::Backend`] when the database cannot be reached.
    pub async fn from_pool(
        pool: Pool,
        listen: Option<tokio_postgres::Config>,
    ) -> Result<Self, Error> {
        let client = pool.get().await.map_err(PgError::from)?;
        let row = client
            .query_one("SELECT left('es_head:' || current_schema(), 63)", &[])
            .await
            .map_err(db)?;
        let channel: String = row.get(0);
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
        // The head is a hint; a missing schema (not migrated yet) leaves it at 0.
        if let Ok(client) = store.inner.pool.get().await {
            if let Ok(row) = client.query_one(HEAD, &[]).await {
                advance(&store.inner.head, row.get(0));
            }
        }
        Ok(store)
    }

    /// Creates or upgrades the tables and functions in the connection's schema. Versioned and
    /// idempotent; concurrent callers (several nodes starting) serialize on an advisory lock.
    ///
    /// # Errors
    /// [`Error::Backend`] when the database fails or holds a newer schema than this code knows.
    pub async fn migrate(&self) -> Result<(), Error> {
        let mut client = self.inner.pool.get().await.map_err(PgError::from)?;
        let tx = client.transaction().await.map_err(db)?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(hashtext('es_migrate:' || current_schema())); \
             CREATE TABLE IF NOT EXISTS es_schema_version ( \
                 version integer NOT NULL PRIMARY KEY, \
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(db)?;
        let current: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM es_schema_version",
                &[],
            )
            .await
            .map_err(db)?
            .get(0);
        let known = MIGRATIONS.last().map_or(0, |&(version, _)| version);
        if current > known {
            return Err(PgError::NewerSchema {
                found: current,
                known,
            }
            .into());
        }
        for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            tx.batch_execute(sql).await.map_err(db)?;
            tx.execute(
                "INSERT INTO es_schema_version (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    /// The pool this store reads through.
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
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

    async fn read(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<RecordedEvent>, Error> {
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let statement = client.prepare_cached(sql).await.map_err(db)?;
        let rows = client.query(&statement, params).await.map_err(db)?;
        let mut shared = SharedNames::default();
        rows.iter().map(|row| recorded(row, &mut shared)).collect()
    }
}

/// Moves the head hint forward (never back).
fn advance(head: &watch::Sender<u64>, position: i64) {
    let position = u64::try_from(position).unwrap_or(0);
    head.send_if_modified(|current| {
        if position > *current {
            *current = position;
            true
        } else {
            false
        }
    });
}

fn to_u64(value: i64, position: i64, what: &'static str) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| PgError::Corrupt { position, what }.into())
}

/// The stream and event names of the rows of one read, allocated once each: a read holds runs
/// of one stream and a handful of event names.
#[derive(Default)]
struct SharedNames {
    stream: Option<Arc<str>>,
    names: Vec<Arc<str>>,
}

impl SharedNames {
    fn stream(&mut self, stream: &str) -> Arc<str> {
        match &self.stream {
            Some(last) if **last == *stream => Arc::clone(last),
            _ => Arc::clone(self.stream.insert(Arc::from(stream))),
        }
    }

    fn name(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.names.iter().find(|known| ***known == *name) {
            return Arc::clone(known);
        }
        let name: Arc<str> = Arc::from(name);
        // Bounded: a read of many distinct names searches a short list, then allocates.
        if self.names.len() < 16 {
            self.names.push(Arc::clone(&name));
        }
        name
    }
}

fn recorded(row: &Row, shared: &mut SharedNames) -> Result<RecordedEvent, Error> {
    let position: i64 = row.try_get(0).map_err(db)?;
    let stream: &str = row.try_get(1).map_err(db)?;
    let version: i64 = row.try_get(2).map_err(db)?;
    let schema_version: i32 = row.try_get(5).map_err(db)?;
    let payload: Vec<u8> = row.try_get(6).map_err(db)?;
    let extra: Option<&str> = row.try_get(10).map_err(db)?;
    let extra = match extra {
        None => BTreeMap::new(),
        Some(json) => serde_json::from_str(json).map_err(|_| PgError::Corrupt {
            position,
            what: "metadata `extra` is not a map of strings",
        })?,
    };
    Ok(RecordedEvent {
        id: row.try_get(3).map_err(db)?,
        stream: shared.stream(stream),
        version: to_u64(version, position, "negative version")?,
        position: to_u64(position, position, "negative position")?,
        name: shared.name(row.try_get(4).map_err(db)?),
        schema_version: u16::try_from(schema_version).map_err(|_| PgError::Corrupt {
            position,
            what: "schema version out of range",
        })?,
        payload: Bytes::from(payload),
        metadata: Metadata {
            timestamp: Timestamp(row.try_get(7).map_err(db)?),
            correlation_id: row.try_get(8).map_err(db)?,
            causation_id: row.try_get(9).map_err(db)?,
            extra,
        },
    })
}

impl EventStore for PostgresEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        validate_stream_name(stream)?;
        for (index, event) in events.iter().enumerate() {
            if events[..index].iter().any(|earlier| earlier.id == event.id) {
                return Err(Error::DuplicateEvent {
                    stream: stream.to_owned(),
                    version: 0,
                    event_id: event.id,
                });
            }
        }
        let (reply, answer) = oneshot::channel();
        let request = Request {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
        };
        self.inner
            .writer
            .send(request)
            .await
            .map_err(|_| PgError::WriterStopped)?;
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

    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        validate_stream_name(stream)?;
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let statement = client.prepare_cached(STREAM_VERSION).await.map_err(db)?;
        let row = client.query_opt(&statement, &[&stream]).await.map_err(db)?;
        match row {
            None => Ok(0),
            Some(row) => {
                let version: i64 = row.get(0);
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
        let position = to_bigint("checkpoint position", position)?;
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

/// One append's parameters, in the column-per-field shape `es_append` takes.
struct Params<'a> {
    stream: &'a str,
    kind: i16,
    expected: i64,
    ids: Vec<Uuid>,
    names: Vec<&'a str>,
    schema_versions: Vec<i32>,
    payloads: Vec<&'a [u8]>,
    timestamps: Vec<i64>,
    correlation_ids: Vec<Option<Uuid>>,
    causation_ids: Vec<Option<Uuid>>,
    extras: Vec<Option<String>>,
}

impl<'a> Params<'a> {
    fn new(request: &'a Request) -> Self {
        let (kind, expected) = match request.expected {
            ExpectedVersion::Any => (0, 0),
            ExpectedVersion::NoStream => (1, 0),
            ExpectedVersion::StreamExists => (2, 0),
            // A version past i64::MAX matches no stream: -1 never does either.
            ExpectedVersion::Exact(version) => (3, i64::try_from(version).unwrap_or(-1)),
        };
        let events = &request.events;
        Self {
            stream: &request.stream,
            kind,
            expected,
            ids: events.iter().map(|e| e.id).collect(),
            names: events.iter().map(|e| &*e.name).collect(),
            schema_versions: events.iter().map(|e| i32::from(e.schema_version)).collect(),
            payloads: events.iter().map(|e| &e.payload[..]).collect(),
            timestamps: events.iter().map(|e| e.metadata.timestamp.0).collect(),
            correlation_ids: events.iter().map(|e| e.metadata.correlation_id).collect(),
            causation_ids: events.iter().map(|e| e.metadata.causation_id).collect(),
            extras: events
                .iter()
                .map(|e| {
                    (!e.metadata.extra.is_empty())
                        .then(|| serde_json::to_string(&e.metadata.extra).unwrap_or_default())
                })
                .collect(),
        }
    }

    fn as_sql(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 11] {
        [
            &self.stream,
            &self.kind,
            &self.expected,
            &self.ids,
            &self.names,
            &self.schema_versions,
            &self.payloads,
            &self.timestamps,
            &self.correlation_ids,
            &self.causation_ids,
            &self.extras,
        ]
    }
}

/// The result of one `es_append` call.
fn outcome(request: &Request, row: &Row) -> Result<AppendResult, Error> {
    let status: i16 = row.get(0);
    let field = |index: usize| -> Result<u64, Error> {
        let value: Option<i64> = row.get(index);
        to_u64(
            value.unwrap_or(-1),
            0,
            "negative version or position in append result",
        )
    };
    match status {
        0 => Ok(AppendResult {
            first_version: field(1)?,
            version: field(2)?,
            first_position: field(3)?,
            position: field(4)?,
        }),
        1 => Err(Error::Conflict {
            stream: request.stream.clone(),
            expected: request.expected,
            actual: field(2)?,
        }),
        _ => Err(Error::DuplicateEvent {
            stream: row.get(5),
            version: field(1)?,
            event_id: row.get(6),
        }),
    }
}

/// The writer task: takes every append queued, commits them as one group, answers each.
async fn write_groups(
    pool: Pool,
    mut queue: mpsc::Receiver<Request>,
    head: Arc<watch::Sender<u64>>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = queue.recv().await {
        group.push(first);
        // Let the appenders woken by the previous group's answers queue up behind this one.
        tokio::task::yield_now().await;
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        tracing::trace!(appends = group.len(), "group commit");
        let results = match pool.get().await {
            Ok(client) => {
                if group.len() == 1 {
                    vec![append_one(&client, &group[0]).await]
                } else {
                    append_group(&client, &group).await
                }
            }
            Err(error) => {
                let error: Error = PgError::from(error).into();
                group.iter().map(|_| Err(copy(&error))).collect()
            }
        };
        if let Some(position) = results
            .iter()
            .filter_map(|result| result.as_ref().ok())
            .map(|result| result.position)
            .max()
        {
            advance(&head, i64::try_from(position).unwrap_or(0));
        }
        for (request, result) in group.drain(..).zip(results) {
            // The caller may have given up waiting; its append stands either way.
            let _ = request.reply.send(result);
        }
    }
}

/// A copy of a backend error, for each append of a failed group.
fn copy(error: &Error) -> Error {
    match error {
        Error::Backend(source) => Error::Backend(Arc::clone(source)),
        other => Error::backend(other.to_string()),
    }
}

/// One append in autocommit: one statement, one round trip.
async fn append_one(
    client: &deadpool_postgres::Client,
    request: &Request,
) -> Result<AppendResult, Error> {
    let statement = client.prepare_cached(APPEND).await.map_err(db)?;
    let params = Params::new(request);
    let row = client
        .query_one(&statement, &params.as_sql())
        .await
        .map_err(db)?;
    outcome(request, &row)
}

/// Several appends in one transaction, sent pipelined: `BEGIN`, each `es_append`, `COMMIT`.
/// When the transaction fails, each append is retried alone.
async fn append_group(
    client: &deadpool_postgres::Client,
    group: &[Request],
) -> Vec<Result<AppendResult, Error>> {
    let statement = match client.prepare_cached(APPEND).await {
        Ok(statement) => statement,
        Err(error) => {
            let error = db(error);
            return group.iter().map(|_| Err(copy(&error))).collect();
        }
    };
    let params: Vec<Params<'_>> = group.iter().map(Params::new).collect();
    let sql: Vec<_> = params.iter().map(Params::as_sql).collect();
    // Polled in order, each future sends its message on its first poll: one burst on the wire.
    let mut steps: Vec<Pin<Box<dyn Future<Output = Step> + Send + '_>>> =
        Vec::with_capacity(group.len() + 2);
    steps.push(Box::pin(async {
        Step::Done(client.batch_execute(BEGIN).await)
    }));
    for params in &sql {
        steps.push(Box::pin(async {
            Step::Row(client.query_one(&statement, params).await)
        }));
    }
    steps.push(Box::pin(async {
        Step::Done(client.batch_execute("COMMIT").await)
    }));
    let (mut begun, mut committed, mut rows) = (Ok(()), Ok(()), Vec::with_capacity(group.len()));
    for (index, step) in join_in_order(steps).await.into_iter().enumerate() {
        match step {
            Step::Done(result) if index == 0 => begun = result,
            Step::Done(result) => committed = result,
            Step::Row(result) => rows.push(result),
        }
    }
    let all_ran = rows.iter().all(Result::is_ok);
    match (begun, committed) {
        (Ok(()), Ok(())) if all_ran => group
            .iter()
            .zip(rows)
            .map(|(request, row)| row.map_err(db).and_then(|row| outcome(request, &row)))
            .collect(),
        (Err(error), _) | (_, Err(error)) if client.is_closed() => {
            // The connection died: whether the group committed is unknown; a retry is safe.
            let error = db(error);
            group.iter().map(|_| Err(copy(&error))).collect()
        }
        _ => {
            // The transaction rolled back (one append raised): retry each alone.
            let _ = client.batch_execute("ROLLBACK").await;
            let mut results = Vec::with_capacity(group.len());
            for request in group {
                results.push(append_one(client, request).await);
            }
            results
        }
    }
}

/// What one step of a pipelined group returns.
enum Step {
    Done(Result<(), tokio_postgres::Error>),
    Row(Result<Row, tokio_postgres::Error>),
}

/// Polls every future in order on each wake-up; the outputs in the same order.
async fn join_in_order<F: Future + Unpin>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Option<F>> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match Pin::new(future).poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Keeps one connection listening on the schema's channel; reconnects after failures.
async fn listen_loop(
    config: tokio_postgres::Config,
    channel: String,
    head: Arc<watch::Sender<u64>>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            let quoted = format!("LISTEN \"{}\"", channel.replace('"', "\"\""));
            let ready = {
                let setup = async {
                    client.batch_execute(&quoted).await?;
                    client.query_one(HEAD, &[]).await
                };
                // Drive the connection while the setup runs on it.
                let mut setup = std::pin::pin!(setup);
                poll_fn(|cx| {
                    if let Poll::Ready(result) = setup.as_mut().poll(cx) {
                        return Poll::Ready(Some(result));
                    }
                    match connection.poll_message(cx) {
                        Poll::Ready(None | Some(Err(_))) => Poll::Ready(None),
                        // Notifications before the head read are covered by it.
                        Poll::Ready(Some(Ok(_))) => {
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        }
                        Poll::Pending => Poll::Pending,
                    }
                })
                .await
            };
            if let Some(Ok(row)) = ready {
                backoff = Duration::from_millis(50);
                advance(&head, row.get(0));
                while let Some(Ok(message)) = poll_fn(|cx| connection.poll_message(cx)).await {
                    if let AsyncMessage::Notification(note) = message {
                        if let Ok(position) = note.payload().parse::<i64>() {
                            advance(&head, position);
                        }
                    }
                }
            }
            drop(client);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}
