//! The one loop that runs a checkpointed projection: read the global log after the checkpoint a
//! batch at a time, and apply each batch and move the checkpoint past it in one unit of work,
//! until the end of the log or a target position. A backend supplies only the unit of work: the
//! app's lock on an in-memory read model, which folds each event as the store reads it, or a
//! SQL transaction that holds the read model's rows and its checkpoint together, which takes
//! its batch as records.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument;

use crate::error::Error;
use crate::observability;
use crate::record::{RecordedEvent, RecordedEventRef};
use crate::store::EventStore;

/// Where a projection's checkpoint lives, and its units of work: each applies a batch and moves
/// the checkpoint past it, both or neither.
pub(crate) trait Checkpointed: Send {
    /// The projection's name: the label of its metrics.
    const NAME: &'static str;

    /// The stored checkpoint: the position of the last event applied.
    fn checkpoint(&mut self) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Applies `events` (read after checkpoint [`Events::after`], by [`Events::fold`] or
    /// [`Events::batch`]) and moves the checkpoint to the last one's position: both, or (on an
    /// error, which names the event) neither, as far as the backend can undo. A backend shared
    /// by several runs checks `after` under its lock and applies nothing when another run has
    /// moved the checkpoint meanwhile. Returns what `fold` or `batch` returned.
    fn commit<S: EventStore + ?Sized>(
        &mut self,
        events: Events<'_, S>,
    ) -> impl Future<Output = Result<Option<Applied>, Error>> + Send;
}

/// What a unit of work read: how many events, up to which position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applied {
    count: usize,
    last: u64,
}

/// A batch read ahead, and the checkpoint it was read after.
type Ahead = Option<(u64, Vec<RecordedEvent>)>;

/// The events of one unit of work: at most the runner's batch size, after a checkpoint. A unit
/// takes them one of two ways: folded as the store reads them, or as records (the SQL read
/// models', so unused without a SQL backend).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) struct Events<'r, S: ?Sized> {
    store: &'r S,
    after: u64,
    limit: usize,
    until: u64,
    ahead: &'r mut Ahead,
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
impl<S: EventStore + ?Sized> Events<'_, S> {
    /// The checkpoint the events come after.
    pub(crate) fn after(&self) -> u64 {
        self.after
    }

    /// Calls `apply` on each event as the store reads it ([`EventStore::fold_all`]): the store
    /// reads and sends the rows while the unit applies them, so nothing is read ahead. `None`
    /// when no event follows the checkpoint.
    ///
    /// # Errors
    /// The store's, or the first of `apply`'s.
    pub(crate) async fn fold(
        self,
        apply: &mut (dyn FnMut(RecordedEventRef<'_>) -> Result<(), Error> + Send),
    ) -> Result<Option<Applied>, Error> {
        let mut last = self.after;
        let count = self
            .store
            .fold_all(self.after, self.limit, &mut |event| {
                apply(event)?;
                last = event.position;
                Ok(())
            })
            .await?;
        Ok((count > 0).then_some(Applied { count, last }))
    }

    /// Calls `apply` on the events as records: the batch read ahead after this checkpoint if
    /// there is one, else read now. While `apply` runs, the next batch is read (the store reads
    /// and sends it meanwhile); the runner uses it only if the next unit starts at the
    /// checkpoint it was read after, so a run of the same projection elsewhere between two
    /// units is never skipped or applied twice. `None` (and `apply` not called) when no event
    /// follows the checkpoint.
    ///
    /// # Errors
    /// The store's, or `apply`'s.
    pub(crate) async fn batch<F>(
        self,
        apply: impl FnOnce(Vec<RecordedEvent>) -> F + Send,
    ) -> Result<Option<Applied>, Error>
    where
        F: Future<Output = Result<(), Error>> + Send,
    {
        let records = match self.ahead.take() {
            Some((after, records)) if after == self.after => records,
            _ => self.store.read_all(self.after, self.limit).await?,
        };
        let Some(last) = records.last().map(|record| record.position) else {
            return Ok(None);
        };
        let count = records.len();
        let more = count == self.limit && last < self.until;
        let (next, applied) = tokio::join!(
            biased;
            async {
                if more {
                    Some(self.store.read_all(last, self.limit).await)
                } else {
                    None
                }
            },
            apply(records),
        );
        applied?;
        // This unit is committed: a failed read ahead is not its error. The next unit reads
        // that batch again, and reports the error if it persists.
        *self.ahead = next.and_then(Result::ok).map(|next| (last, next));
        Ok(Some(Applied { count, last }))
    }
}

/// Applies the log after `projection`'s checkpoint, `batch` events per unit of work, until the
/// end of the log or at least `until`; `progress` hears the position after each unit. Returns
/// the position reached.
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
    let mut ahead = None;
    loop {
        let checkpoint = projection.checkpoint().await?;
        if checkpoint >= until {
            return Ok(checkpoint);
        }
        let span = tracing::debug_span!(
            "projection_batch",
            projection = K::NAME,
            from = checkpoint,
            to = tracing::field::Empty,
            count = tracing::field::Empty,
        );
        let started = Instant::now();
        let events = Events {
            store,
            after: checkpoint,
            limit: batch,
            until,
            ahead: &mut ahead,
        };
        let applied = projection.commit(events).instrument(span.clone()).await?;
        let Some(Applied { count, last }) = applied else {
            return Ok(checkpoint);
        };
        span.record("to", last).record("count", count);
        observability::projection_batch::<K>(count, last, *store.head().borrow(), started);
        progress(last);
        if count < batch || last >= until {
            return Ok(last);
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
        /// Whether its units fold the events as they are read rather than take records.
        folds: bool,
        /// The position of an event a folding unit fails on.
        fail_at: Option<u64>,
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

        async fn commit<S: EventStore + ?Sized>(
            &mut self,
            events: Events<'_, S>,
        ) -> Result<Option<Applied>, Error> {
            if self.folds {
                let applied = events
                    .fold(&mut |event| {
                        if self.fail_at == Some(event.position) {
                            return Err(Error::backend("fails here"));
                        }
                        self.applied.push(event.position);
                        self.checkpoint = event.position;
                        Ok(())
                    })
                    .await;
                return applied;
            }
            events
                .batch(|batch| async move {
                    self.applied
                        .extend(batch.iter().map(|record| record.position));
                    self.checkpoint = batch.last().map_or(self.checkpoint, |last| last.position);
                    Ok(())
                })
                .await
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

    fn recorder(jump: Option<(usize, u64)>, folds: bool) -> Recorder {
        Recorder {
            checkpoint: 0,
            applied: Vec::new(),
            jump,
            units: 0,
            folds,
            fail_at: None,
        }
    }

    #[tokio::test]
    async fn every_event_once_in_order_with_progress_per_batch() {
        for folds in [false, true] {
            let store = log_of(10).await;
            let mut projection = recorder(None, folds);
            let mut progress = Vec::new();
            let reached = run(&store, &mut projection, 4, u64::MAX, |at| progress.push(at))
                .await
                .unwrap();
            assert_eq!(reached, 10, "folds: {folds}");
            assert_eq!(
                projection.applied,
                (1..=10).collect::<Vec<_>>(),
                "folds: {folds}"
            );
            assert_eq!(progress, [4, 8, 10], "folds: {folds}");
        }
    }

    #[tokio::test]
    async fn a_unit_that_folds_resumes_from_the_moved_checkpoint() {
        let store = log_of(12).await;
        let mut projection = recorder(Some((2, 6)), true);
        let reached = run(&store, &mut projection, 4, u64::MAX, |_| {})
            .await
            .unwrap();
        assert_eq!(reached, 12);
        assert_eq!(projection.applied, [1, 2, 3, 4, 7, 8, 9, 10, 11, 12]);
    }

    #[tokio::test]
    async fn a_failing_fold_stops_the_run_after_the_events_before_it() {
        let store = log_of(10).await;
        let mut projection = recorder(None, true);
        projection.fail_at = Some(6);
        let error = run(&store, &mut projection, 4, u64::MAX, |_| {})
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Backend(_)), "{error:?}");
        assert_eq!(projection.applied, (1..=5).collect::<Vec<_>>());
        assert_eq!(projection.checkpoint, 5);
    }

    #[tokio::test]
    async fn a_batch_read_ahead_is_dropped_when_another_run_moved_the_checkpoint() {
        let store = log_of(12).await;
        // Before the second unit, another node's run has applied up to 6: the batch read ahead
        // after 4 (events 5 to 8) must not be applied again.
        let mut projection = recorder(Some((2, 6)), false);
        let reached = run(&store, &mut projection, 4, u64::MAX, |_| {})
            .await
            .unwrap();
        assert_eq!(reached, 12);
        assert_eq!(projection.applied, [1, 2, 3, 4, 7, 8, 9, 10, 11, 12]);
    }

    #[tokio::test]
    async fn a_run_stops_at_its_target_batch() {
        let store = log_of(12).await;
        let mut projection = recorder(None, false);
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
