//! Read models in the store's own SQLite file: a projection's rows and its checkpoint commit in
//! one transaction, so after a crash they are never apart (effectively exactly-once).

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

use super::SqliteEventStore;
use super::error::{SqliteError, to_sql_int};
use crate::codec::BoxError;
use crate::error::Error;
use crate::record::RecordedEvent;
use crate::store::{EventStore, validate_stream_name};

/// How many events one transaction of a read model applies.
const BATCH: usize = 1024;

/// A projection whose read model lives in tables of the store's SQLite file.
///
/// [`SqliteEventStore::run_projection`] applies the log to it in batches: each batch's writes
/// and the projection's checkpoint commit in one transaction (on the store's writer, so they
/// share its group commit and never wait for a lock), or neither does.
///
/// # Examples
/// ```no_run
/// use es_core::store::{SqliteEventStore, SqliteProjection};
/// use es_core::store::rusqlite::Connection;
/// use es_core::{BoxError, RecordedEvent};
///
/// struct Deposits;
///
/// impl SqliteProjection for Deposits {
///     const NAME: &'static str = "deposits";
///
///     fn setup(&mut self, conn: &Connection) -> Result<(), BoxError> {
///         conn.execute_batch("CREATE TABLE IF NOT EXISTS deposits (position INTEGER PRIMARY KEY)")?;
///         Ok(())
///     }
///
///     fn apply(&mut self, conn: &Connection, record: &RecordedEvent) -> Result<(), BoxError> {
///         if &*record.name == "MoneyDeposited" {
///             conn.execute("INSERT INTO deposits VALUES (?1)", [record.position as i64])?;
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait SqliteProjection: Send + 'static {
    /// The projection's name: its checkpoint is stored under it.
    const NAME: &'static str;

    /// Creates or migrates the read model's tables; runs in the transaction of the first batch
    /// of each [`run_projection`](SqliteEventStore::run_projection).
    ///
    /// # Errors
    /// Whatever fails; nothing of the batch is committed.
    fn setup(&mut self, conn: &Connection) -> Result<(), BoxError> {
        let _ = conn;
        Ok(())
    }

    /// Applies one event to the read model's tables, inside the transaction that also moves
    /// the checkpoint past it.
    ///
    /// # Errors
    /// Whatever fails: the whole batch and its checkpoint roll back, and the error names the
    /// event.
    fn apply(&mut self, conn: &Connection, record: &RecordedEvent) -> Result<(), BoxError>;
}

impl SqliteEventStore {
    /// Applies every event after the projection's checkpoint to its read model, a batch per
    /// transaction that also moves the checkpoint, until it reaches the end of the log; returns
    /// the position reached. Run it again (after a command, on a timer, or in a loop waiting on
    /// [`head`](EventStore::head)) to follow the log. Runs of one projection must not overlap.
    ///
    /// # Errors
    /// [`Error::Projection`] naming the event `apply` failed on (nothing of its batch is
    /// committed; the checkpoint stays before it), or [`Error::Backend`].
    pub async fn run_projection<P: SqliteProjection>(
        &self,
        projection: &Arc<Mutex<P>>,
    ) -> Result<u64, Error> {
        validate_stream_name(P::NAME)?;
        let mut set_up = false;
        loop {
            let checkpoint = self.load_checkpoint(P::NAME).await?;
            let batch = self.read_all(checkpoint, BATCH).await?;
            let Some(last) = batch.last().map(|record| record.position) else {
                return Ok(checkpoint);
            };
            let full = batch.len() == BATCH;
            let projection = Arc::clone(projection);
            let first_batch = !set_up;
            self.write(move |conn| {
                let mut projection = projection.lock().unwrap_or_else(PoisonError::into_inner);
                if first_batch {
                    projection
                        .setup(conn)
                        .map_err(|source| SqliteError::ReadModelSetup {
                            projection: P::NAME,
                            source,
                        })?;
                }
                for record in &batch {
                    projection.apply(conn, record).map_err(|source| {
                        SqliteError::Projection(Error::Projection {
                            projection: P::NAME,
                            stream: record.stream.to_string(),
                            version: record.version,
                            position: record.position,
                            event: record.name.to_string(),
                            source,
                        })
                    })?;
                }
                conn.prepare_cached(
                    "INSERT INTO checkpoints (name, position) VALUES (?1, ?2) \
                     ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                )?
                .execute((P::NAME, to_sql_int("checkpoint position", last)?))?;
                Ok(())
            })
            .await?;
            set_up = true;
            if !full {
                return Ok(last);
            }
        }
    }

    /// Runs `read` on one of the store's read connections (read-only, in WAL mode never
    /// blocked by the writer): how to query a read model kept by [`run_projection`](Self::run_projection).
    ///
    /// # Errors
    /// [`Error::Backend`] with `read`'s error.
    pub async fn read_with<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        self.read(move |conn| read(conn).map_err(SqliteError::from))
            .await
    }
}
