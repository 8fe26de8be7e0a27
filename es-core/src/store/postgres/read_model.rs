//! Read models in the store's own PostgreSQL database: a projection's rows and its checkpoint
//! commit in one transaction, so after a crash they are never apart (effectively exactly-once).

use std::future::Future;

use tokio_postgres::Transaction;

use super::{PgError, PostgresEventStore, db};
use crate::codec::BoxError;
use crate::error::Error;
use crate::record::RecordedEvent;
use crate::store::{EventStore, validate_stream_name};

/// How many events one transaction of a read model applies.
const BATCH: usize = 1024;

/// A projection whose read model lives in tables of the store's PostgreSQL database.
///
/// [`PostgresEventStore::run_projection`] applies the log to it in batches: each batch's
/// writes and the projection's checkpoint commit in one transaction, or neither does. Runs of
/// one projection from several nodes take turns on the checkpoint's row lock.
pub trait PostgresProjection: Send {
    /// The projection's name: its checkpoint is stored under it.
    const NAME: &'static str;

    /// Creates or migrates the read model's tables; runs in the transaction of the first batch
    /// of each [`run_projection`](PostgresEventStore::run_projection).
    ///
    /// # Errors
    /// Whatever fails; nothing of the batch is committed.
    fn setup(&mut self, tx: &Transaction<'_>) -> impl Future<Output = Result<(), BoxError>> + Send {
        let _ = tx;
        async { Ok(()) }
    }

    /// Applies one event to the read model's tables, inside the transaction that also moves
    /// the checkpoint past it.
    ///
    /// # Errors
    /// Whatever fails: the whole batch and its checkpoint roll back, and the error names the
    /// event.
    fn apply(
        &mut self,
        tx: &Transaction<'_>,
        record: &RecordedEvent,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;
}

impl PostgresEventStore {
    /// Applies every event after the projection's checkpoint to its read model, a batch per
    /// transaction that also moves the checkpoint, until it reaches the end of the log; returns
    /// the position reached. Run it again (after a command, on a timer, or in a loop waiting on
    /// [`head`](EventStore::head)) to follow the log.
    ///
    /// # Errors
    /// [`Error::Projection`] naming the event `apply` failed on (nothing of its batch is
    /// committed; the checkpoint stays before it), or [`Error::Backend`].
    pub async fn run_projection<P: PostgresProjection>(
        &self,
        projection: &mut P,
    ) -> Result<u64, Error> {
        validate_stream_name(P::NAME)?;
        let mut set_up = false;
        loop {
            let mut client = self.inner.pool.get().await.map_err(PgError::from)?;
            let tx = client.transaction().await.map_err(db)?;
            // The checkpoint's row lock makes runs of this projection take turns.
            tx.execute(
                "INSERT INTO es_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                &[&P::NAME],
            )
            .await
            .map_err(db)?;
            let checkpoint: i64 = tx
                .query_one(
                    "SELECT position FROM es_checkpoints WHERE name = $1 FOR UPDATE",
                    &[&P::NAME],
                )
                .await
                .map_err(db)?
                .get(0);
            let checkpoint = u64::try_from(checkpoint).unwrap_or(0);
            let batch = self.read_all(checkpoint, BATCH).await?;
            let Some(last) = batch.last().map(|record| record.position) else {
                tx.commit().await.map_err(db)?;
                return Ok(checkpoint);
            };
            if !set_up {
                projection.setup(&tx).await.map_err(|source| {
                    Error::backend(PgError::ReadModelSetup {
                        projection: P::NAME,
                        source,
                    })
                })?;
                set_up = true;
            }
            for record in &batch {
                projection
                    .apply(&tx, record)
                    .await
                    .map_err(|source| Error::Projection {
                        projection: P::NAME,
                        stream: record.stream.to_string(),
                        version: record.version,
                        position: record.position,
                        event: record.name.to_string(),
                        source,
                    })?;
            }
            let position = i64::try_from(last).map_err(|_| PgError::OutOfRange {
                what: "checkpoint position",
                value: last,
            })?;
            tx.execute(
                "UPDATE es_checkpoints SET position = $2 WHERE name = $1",
                &[&P::NAME, &position],
            )
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            if batch.len() < BATCH {
                return Ok(last);
            }
        }
    }
}
