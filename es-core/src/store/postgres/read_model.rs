//! Read models in the store's own PostgreSQL database: a projection's rows and its checkpoint
//! commit in one transaction, so after a crash they are never apart (effectively exactly-once).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_postgres::{IsolationLevel, Transaction};

use super::PostgresEventStore;
use super::error::{PgError, db, to_bigint};
use crate::codec::BoxError;
use crate::error::{Error, catch_panic_async, projection_failed};
use crate::projection::runner;
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
    /// [`head`](EventStore::head)) to follow the log. Runs of one projection, from this node or
    /// others, take turns on the checkpoint's row lock, and a batch another run has applied
    /// meanwhile is not applied again.
    ///
    /// # Errors
    /// [`Error::Projection`] naming the event `apply` failed on (nothing of its batch is
    /// committed; the checkpoint stays before it), or [`Error::Backend`].
    pub async fn run_projection<P: PostgresProjection>(
        &self,
        projection: &Arc<Mutex<P>>,
    ) -> Result<u64, Error> {
        validate_stream_name(P::NAME)?;
        let mut run = InTransaction {
            store: self,
            projection,
            set_up: false,
        };
        runner::run(self, &mut run, BATCH, u64::MAX, |_| {}).await
    }
}

/// The checkpointed runner's unit of work on PostgreSQL: one transaction that takes the
/// checkpoint's row lock, applies the batch to the read model's tables and moves the
/// checkpoint.
struct InTransaction<'a, P> {
    store: &'a PostgresEventStore,
    projection: &'a Arc<Mutex<P>>,
    /// Whether `setup` ran in a committed transaction of this run.
    set_up: bool,
}

impl<P: PostgresProjection> runner::Checkpointed for InTransaction<'_, P> {
    const NAME: &'static str = P::NAME;

    async fn checkpoint(&mut self) -> Result<u64, Error> {
        self.store.load_checkpoint(P::NAME).await
    }

    async fn commit<S: EventStore + ?Sized>(
        &mut self,
        events: runner::Events<'_, S>,
    ) -> Result<Option<runner::Applied>, Error> {
        let after = events.after();
        events.batch(move |batch| self.apply(after, batch)).await
    }
}

impl<P: PostgresProjection> InTransaction<'_, P> {
    /// The unit of work: `batch`, read after checkpoint `after`, and the checkpoint moved past
    /// it, in one transaction.
    async fn apply(&mut self, after: u64, batch: Vec<RecordedEvent>) -> Result<(), Error> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let last = to_bigint("checkpoint", last.position)?;
        // Locked before the transaction begins: no transaction waits, open, on a user's lock.
        let mut projection = self.projection.lock().await;
        let mut client = self.store.inner.pool.get().await.map_err(PgError::from)?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(db)?;
        // The checkpoint's row lock makes runs of this projection take turns.
        tx.execute(
            "INSERT INTO es_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&P::NAME],
        )
        .await
        .map_err(db)?;
        let locked: i64 = tx
            .query_one(
                "SELECT position FROM es_checkpoints WHERE name = $1 FOR UPDATE",
                &[&P::NAME],
            )
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        if u64::try_from(locked).ok() != Some(after) {
            // Another run applied this batch meanwhile: the runner reads on from its checkpoint.
            return Ok(());
        }
        if !self.set_up {
            let setup = catch_panic_async(projection.setup(&tx)).await;
            setup
                .unwrap_or_else(|panicked| Err(Box::new(panicked)))
                .map_err(|source| {
                    Error::backend(PgError::ReadModelSetup {
                        projection: P::NAME,
                        source,
                    })
                })?;
        }
        for record in &batch {
            // A panic in the handler is its error: the transaction rolls back with it.
            catch_panic_async(projection.apply(&tx, record))
                .await
                .unwrap_or_else(|panicked| Err(Box::new(panicked)))
                .map_err(|source| projection_failed(P::NAME, record, source))?;
        }
        tx.execute(
            "UPDATE es_checkpoints SET position = $2 WHERE name = $1",
            &[&P::NAME, &last],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.set_up = true;
        Ok(())
    }
}
