//! The runner of read models in the store's own SQLite file: a projection's rows and its
//! checkpoint commit in one transaction, so after a crash they are never apart (effectively
//! exactly-once). The trait they implement is [`SqliteProjection`], in the driver module.

use std::sync::{Arc, Mutex, PoisonError};

use super::SqliteEventStore;
use super::driver::SqliteProjection;
use super::error::{SqliteError, to_sql_int};
use crate::error::Error;
use crate::store::{EventStore, validate_stream_name};

/// How many events one transaction of a read model applies.
const BATCH: usize = 1024;

impl SqliteEventStore {
    /// Applies every event after the projection's checkpoint to its read model, a batch per
    /// transaction that also moves the checkpoint, until it reaches the end of the log; returns
    /// the position reached. Run it again (after a command, on a timer, or in a loop waiting on
    /// [`head`](EventStore::head)) to follow the log. Runs of one projection must not overlap.
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
}
