//! The one loop that runs a checkpointed projection: read the global log after the checkpoint a
//! batch at a time, and apply each batch and move the checkpoint past it in one unit of work,
//! until the end of the log or a target position. A backend supplies only the unit of work: the
//! app's lock on an in-memory read model, or a SQL transaction that holds the read model's rows
//! and its checkpoint together.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument;

use crate::error::Error;
use crate::observability;
use crate::record::RecordedEvent;
use crate::store::EventStore;

/// Where a projection's checkpoint lives, and its units of work: each applies a batch and moves
/// the checkpoint past it, both or neither.
pub(crate) trait Checkpointed: Send {
    /// The projection's name: the label of its metrics.
    const NAME: &'static str;

    /// The stored checkpoint: the position of the last event applied.
    fn checkpoint(&mut self) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Applies `batch`, read after checkpoint `after`, and moves the checkpoint to its last
    /// position: both, or (on an error, which names the event) neither, as far as the backend
    /// can undo. A backend shared by several runs checks `after` under its lock and applies
    /// nothing when another run has moved the checkpoint meanwhile.
    fn commit(
        &mut self,
        after: u64,
        batch: Vec<RecordedEvent>,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Applies the log after `projection`'s checkpoint, `batch` events per unit of work, until the
/// end of the log or at least `until`; `progress` hears the position after each unit. Returns
/// the position reached.
///
/// The next batch is read while one is applied (the store, a database server perhaps, reads
/// and sends it while the projection folds); a batch read ahead is used only if the next unit
/// starts at the checkpoint it was read after, so a run of the same projection elsewhere
/// between two units is never skipped or applied twice.
pub(crate) async fn run<S, K>(
    store: &S,
    projection: &mut K,
    batch: usize,
    until: u64,
    mut progress: impl FnMut(u64),
) -> Result<u64, Error>
where
    S: EventStore + ?Sized,
    K: Checkpointed,
{
    let mut ahead: Option<(u64, Vec<RecordedEvent>)> = None;
    loop {
        let checkpoint = projection.checkpoint().await?;
        if checkpoint >= until {
            return Ok(checkpoint);
        }
        let events = match ahead.take() {
            Some((after, events)) if after == checkpoint => events,
            _ => store.read_all(checkpoint, batch).await?,
        };
        let Some(last) = events.last().map(|record| record.position) else {
            return Ok(checkpoint);
        };
        let more = events.len() == batch && last < until;
        let count = events.len();
        let span = tracing::debug_span!(
            "projection_batch",
            projection = K::NAME,
            from = checkpoint,
            to = last,
            count
        );
        let unit = async {
            let started = Instant::now();
            projection.commit(checkpoint, events).await?;
            observability::projection_batch::<K>(count, last, *store.head().borrow(), started);
            Ok::<_, Error>(())
        };
        let (next, committed) = tokio::join!(
            biased;
            async {
                if more {
                    Some(store.read_all(last, batch).await)
                } else {
                    None
                }
            },
            unit.instrument(span),
        );
        committed?;
        progress(last);
        match next.transpose()? {
            Some(next) => ahead = Some((last, next)),
            None => return Ok(last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::NewEvent;
    use crate::store::{ExpectedVersion, InMemoryEventStore};

    /// A checkpoint in memory that another run may move between two units of work.
    struct Recorder {
        checkpoint: u64,
        applied: Vec<u64>,
        /// Moved to before the unit of work with this number starts (another node's run).
        jump: Option<(usize, u64)>,
        units: usize,
    }

    impl Checkpointed for Recorder {
        const NAME: &'static str = "recorder";

        async fn checkpoint(&mut self) -> Result<u64, Error> {
            self.units += 1;
            if let Some((unit, to)) = self.jump {
                if unit == self.units {
                    self.checkpoint = to;
                }
            }
            Ok(self.checkpoint)
        }

        async fn commit(&mut self, _after: u64, batch: Vec<RecordedEvent>) -> Result<(), Error> {
            self.applied
                .extend(batch.iter().map(|record| record.position));
            self.checkpoint = batch.last().map_or(self.checkpoint, |last| last.position);
            Ok(())
        }
    }

    async fn log_of(events: u64) -> InMemoryEventStore {
        let store = InMemoryEventStore::new();
        for _ in 0..events {
            store
                .append("s", ExpectedVersion::Any, vec![NewEvent::new("E", 1, "{}")])
                .await
                .unwrap();
        }
        store
    }

    fn recorder(jump: Option<(usize, u64)>) -> Recorder {
        Recorder {
            checkpoint: 0,
            applied: Vec::new(),
            jump,
            units: 0,
        }
    }

    #[tokio::test]
    async fn every_event_once_in_order_with_progress_per_batch() {
        let store = log_of(10).await;
        let mut projection = recorder(None);
        let mut progress = Vec::new();
        let reached = run(&store, &mut projection, 4, u64::MAX, |at| progress.push(at))
            .await
            .unwrap();
        assert_eq!(reached, 10);
        assert_eq!(projection.applied, (1..=10).collect::<Vec<_>>());
        assert_eq!(progress, [4, 8, 10]);
    }

    #[tokio::test]
    async fn a_batch_read_ahead_is_dropped_when_another_run_moved_the_checkpoint() {
        let store = log_of(12).await;
        // Before the second unit, another node's run has applied up to 6: the batch read ahead
        // after 4 (events 5 to 8) must not be applied again.
        let mut projection = recorder(Some((2, 6)));
        let reached = run(&store, &mut projection, 4, u64::MAX, |_| {})
            .await
            .unwrap();
        assert_eq!(reached, 12);
        assert_eq!(projection.applied, [1, 2, 3, 4, 7, 8, 9, 10, 11, 12]);
    }

    #[tokio::test]
    async fn a_run_stops_at_its_target_batch() {
        let store = log_of(12).await;
        let mut projection = recorder(None);
        let reached = run(&store, &mut projection, 4, 5, |_| {}).await.unwrap();
        assert_eq!(
            reached, 8,
            "the batch that passes the target is applied whole"
        );
        let reached = run(&store, &mut projection, 4, 5, |_| {}).await.unwrap();
        assert_eq!(reached, 8, "nothing to do past the target");
        assert_eq!(projection.applied, (1..=8).collect::<Vec<_>>());
    }
}
