//! The runner of read models in the store's own SQLite file: a projection's rows and its
//! checkpoint commit in one transaction, so after a crash they are never apart (effectively
//! exactly-once). The trait they implement is [`SqliteProjection`], in the driver module.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use rusqlite::OptionalExtension;
use tokio::sync::Mutex;

use super::SqliteEventStore;
use super::driver::SqliteProjection;
use super::error::{SqliteError, to_sql_int};
use super::writer::stored_u64;
use crate::error::{Error, catch_panic, projection_failed};
use crate::projection::runner;
use crate::record::RecordedEvent;
use crate::store::{EventStore, validate_stream_name};

/// How many events one transaction of a read model applies.
const BATCH: usize = 1024;

impl SqliteEventStore {
    /// Applies every event after the projection's checkpoint to its read model, a batch per
    /// transaction that also moves the checkpoint, until it reaches the end of the log; returns
    /// the position reached. Run it again (after a command, on a timer, or in a loop waiting on
    /// [`head`](EventStore::head)) to follow the log. Runs of one projection may overlap: a
    /// batch another run has applied meanwhile is not applied again.
    /// Query the read model with [`driver::read_with`](super::driver::read_with).
    ///
    /// # Errors
    /// [`Error::Projection`] naming the event `apply` failed on (nothing of its batch is
    /// committed; the checkpoint stays before it), or [`Error::Backend`].
    pub async fn run_projection<P: SqliteProjection>(
        &self,
        projection: &Arc<Mutex<P>>,
    ) -> Result<u64, Error> {
        validate_stream_name(P::NAME)?;
        let mut run = OnWriter {
            store: self,
            projection,
            set_up: false,
        };
        runner::run(self, &mut run, BATCH, u64::MAX, |_| {}).await
    }
}

/// The checkpointed runner's unit of work on SQLite: one write on the store's writer (sharing
/// its group commit, never waiting for a lock) that applies the batch to the read model's
/// tables and moves the checkpoint.
struct OnWriter<'a, P> {
    store: &'a SqliteEventStore,
    projection: &'a Arc<Mutex<P>>,
    /// Whether `setup` ran in a committed write of this run.
    set_up: bool,
}

impl<P: SqliteProjection> runner::Checkpointed for OnWriter<'_, P> {
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

impl<P: SqliteProjection> OnWriter<'_, P> {
    /// The unit of work: `batch`, read after checkpoint `after`, and the checkpoint moved past
    /// it, in one write on the store's writer.
    async fn apply(&mut self, after: u64, batch: Vec<RecordedEvent>) -> Result<(), Error> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let last = to_sql_int("checkpoint", last.position)?;
        // Locked here, on the caller's task: the writer thread never waits for a lock that a
        // task holds (perhaps while it waits for the writer). A write is an `Fn`, hence the std
        // mutex around the guard.
        let projection = StdMutex::new(Arc::clone(self.projection).lock_owned().await);
        let set_up = self.set_up;
        // Whether the batch was applied, not skipped: only then did `setup` run.
        let applied = Arc::new(AtomicBool::new(false));
        let applied_in_write = Arc::clone(&applied);
        self.store
            .write(move |conn| {
                let stored = conn
                    .prepare_cached("SELECT position FROM checkpoints WHERE name = ?1")?
                    .query_row([P::NAME], |row| row.get::<_, i64>(0))
                    .optional()?;
                if stored.map_or(0, stored_u64) != after {
                    // Another run applied this batch meanwhile: the runner reads on from there.
                    return Ok(());
                }
                let mut projection = projection.lock().unwrap_or_else(PoisonError::into_inner);
                if !set_up {
                    // A panic in user code is its error: on the writer thread it would stop the
                    // store.
                    catch_panic(|| projection.setup(conn))
                        .unwrap_or_else(|panicked| Err(Box::new(panicked)))
                        .map_err(|source| SqliteError::ReadModelSetup {
                            projection: P::NAME,
                            source,
                        })?;
                }
                for record in &batch {
                    catch_panic(|| projection.apply(conn, record))
                        .unwrap_or_else(|panicked| Err(Box::new(panicked)))
                        .map_err(|source| {
                            SqliteError::Refused(projection_failed(P::NAME, record, source))
                        })?;
                }
                conn.prepare_cached(
                    "INSERT INTO checkpoints (name, position) VALUES (?1, ?2) \
                     ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                )?
                .execute((P::NAME, last))?;
                applied_in_write.store(true, Ordering::Relaxed);
                Ok(())
            })
            .await?;
        self.set_up |= applied.load(Ordering::Relaxed);
        Ok(())
    }
}
