//! Cases 13 and 14 with a backend hook: an append held open between taking its place in the
//! global log and committing.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use uuid::Uuid;

use super::support::{
    POLL, append, events, ids, join, ok, read_global, read_whole, unique_stream, within,
};
use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent};
use crate::store::{AppendResult, EventStore, ExpectedVersion};

/// An append a backend has started and holds open: it has done everything up to its commit
/// (taken its global position, its sequence value, its lock), and waits. The hook of
/// [`gap_race`] and [`rolled_back_append`] returns one.
pub trait StalledAppend: Send {
    /// Commits the append and returns what [`EventStore::append`] would have returned.
    ///
    /// # Errors
    /// What the backend's append would return.
    fn commit(self) -> impl Future<Output = Result<AppendResult, Error>> + Send;

    /// Rolls the append back, as a failure before the commit would.
    ///
    /// # Errors
    /// What the backend's rollback returns.
    fn roll_back(self) -> impl Future<Output = Result<(), Error>> + Send;
}

/// How many reads of the global log the reader makes while the stalled append is open.
const READS_WHILE_STALLED: usize = 10;

/// Case 13 with a backend hook: `stall(stream, events)` starts appending `events` to `stream`
/// (expecting no stream) and returns it held open before its commit (writer A). Writer B then
/// appends to another stream (on a backend that serializes appends it waits for A; it is not
/// awaited). A reader follows the global log from before A all along, like a catch-up
/// subscription: while A is open, after A commits, and after B. It must see A and B exactly once
/// each, at strictly increasing positions, each where its append said: a reader that moved its
/// checkpoint past A while A was open would never see A.
///
/// # Panics
/// On a violation of the contract.
pub async fn gap_race<S, F, Fut>(store: &S, stall: F)
where
    S: EventStore + Clone,
    F: FnOnce(String, Vec<NewEvent>) -> Fut,
    Fut: Future,
    Fut::Output: StalledAppend,
{
    const CASE: &str = "gap_race";
    let (mut reader, writer_a, writer_b) = Reader::start(CASE, store).await;
    let batch_a = events(0, 2);
    let stalled = stall(writer_a.clone(), batch_a.clone()).await;
    let batch_b = events(10, 2);
    let b = {
        let (store, stream, batch) = (store.clone(), writer_b.clone(), batch_b.clone());
        tokio::spawn(async move {
            append(CASE, &store, &stream, ExpectedVersion::NoStream, batch).await
        })
    };
    for _ in 0..READS_WHILE_STALLED {
        reader.read(store).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let appended_a = ok(
        CASE,
        "committing the stalled append",
        stalled.commit().await,
    );
    reader.read(store).await;
    let appended_b = within(CASE, "writer B", join(b)).await;
    reader.read(store).await;
    reader.skipped_nothing(store).await;
    let want = [(batch_a, appended_a), (batch_b, appended_b)];
    within(CASE, "reading both writers' events", reader.until(store, 4)).await;
    reader.check(&want);
    let stored = read_whole(CASE, store, &writer_a, 10).await;
    let got: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
    assert_eq!(
        got,
        ids(&want[0].0),
        "{CASE}: the stalled append is not stored after its commit"
    );
}

/// Case 14 with a backend hook: like [`gap_race`], but the stalled append (writer A) rolls back.
/// The reader then gets writer B's events without waiting on A (within the suite's hang guard),
/// never sees A, and A's stream stays empty; A's ids can be appended afterwards.
///
/// # Panics
/// On a violation of the contract.
pub async fn rolled_back_append<S, F, Fut>(store: &S, stall: F)
where
    S: EventStore + Clone,
    F: FnOnce(String, Vec<NewEvent>) -> Fut,
    Fut: Future,
    Fut::Output: StalledAppend,
{
    const CASE: &str = "rolled_back_append";
    let (mut reader, writer_a, writer_b) = Reader::start(CASE, store).await;
    let batch_a = events(0, 2);
    let stalled = stall(writer_a.clone(), batch_a.clone()).await;
    let batch_b = events(10, 2);
    let b = {
        let (store, stream, batch) = (store.clone(), writer_b.clone(), batch_b.clone());
        tokio::spawn(async move {
            append(CASE, &store, &stream, ExpectedVersion::NoStream, batch).await
        })
    };
    for _ in 0..READS_WHILE_STALLED / 2 {
        reader.read(store).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ok(
        CASE,
        "rolling the stalled append back",
        stalled.roll_back().await,
    );
    let appended_b = within(CASE, "writer B", join(b)).await;
    within(CASE, "reading writer B's events", reader.until(store, 2)).await;
    reader.check(&[(batch_b, appended_b)]);
    let version = ok(
        CASE,
        "stream_version",
        store.stream_version(&writer_a).await,
    );
    assert_eq!(
        version, 0,
        "{CASE}: the rolled-back append left events behind"
    );
    let again = append(CASE, store, &writer_a, ExpectedVersion::NoStream, batch_a).await;
    assert_eq!(
        again.version, 2,
        "{CASE}: the rolled-back ids could not be appended again"
    );
}

/// A reader of the global log from a checkpoint, as a catch-up subscription reads it.
struct Reader {
    case: &'static str,
    start: u64,
    checkpoint: u64,
    streams: HashSet<String>,
    seen: Vec<RecordedEvent>,
}

impl Reader {
    /// A marker append to start after, the reader, and the streams of writers A and B.
    async fn start<S: EventStore>(case: &'static str, store: &S) -> (Self, String, String) {
        let marker = unique_stream(case);
        let start = append(
            case,
            store,
            &marker,
            ExpectedVersion::NoStream,
            events(0, 1),
        )
        .await;
        let (a, b) = (unique_stream(case), unique_stream(case));
        let reader = Self {
            case,
            start: start.position,
            checkpoint: start.position,
            streams: [a.clone(), b.clone()].into(),
            seen: Vec::new(),
        };
        (reader, a, b)
    }

    /// One read from the checkpoint to the end of what is visible, advancing the checkpoint.
    async fn read<S: EventStore>(&mut self, store: &S) {
        let case = self.case;
        loop {
            let step = format!("read_all(after {}, limit 100)", self.checkpoint);
            let batch = ok(case, &step, store.read_all(self.checkpoint, 100).await);
            let done = batch.len() < 100;
            for recorded in batch {
                assert!(
                    recorded.position > self.checkpoint,
                    "{case}: {step} returned position {}: a reader that has seen a position \
                     must never see a new event at or below it",
                    recorded.position
                );
                self.checkpoint = recorded.position;
                if self.streams.contains(&*recorded.stream) {
                    self.seen.push(recorded);
                }
            }
            if done {
                return;
            }
        }
    }

    /// Fails if the global log, read afresh, holds an event of the writers that this reader
    /// has not seen at or below its checkpoint: one it will never deliver.
    async fn skipped_nothing<S: EventStore>(&self, store: &S) {
        let case = self.case;
        let streams: HashSet<&str> = self.streams.iter().map(String::as_str).collect();
        let all = read_global(case, store, self.start, 100, &streams).await;
        for recorded in all {
            let seen = self.seen.iter().any(|e| e.id == recorded.id);
            assert!(
                seen || recorded.position > self.checkpoint,
                "{case}: event {} (version {} of `{}`) is at position {}, below position {} \
                 the reader had already reached: it became visible after the reader passed \
                 it, so a catch-up subscriber never delivers it",
                recorded.id,
                recorded.version,
                recorded.stream,
                recorded.position,
                self.checkpoint
            );
        }
    }

    /// Reads until `count` events of the writers were seen.
    async fn until<S: EventStore>(&mut self, store: &S, count: usize) {
        while self.seen.len() < count {
            self.read(store).await;
            if self.seen.len() < count {
                tokio::time::sleep(POLL).await;
            }
        }
    }

    /// Checks that the reader saw exactly the `want` batches' events, each once, in order, at
    /// the versions and positions each append reported.
    #[track_caller]
    fn check(&self, want: &[(Vec<NewEvent>, AppendResult)]) {
        let case = self.case;
        let total: usize = want.iter().map(|(batch, _)| batch.len()).sum();
        let seen: Vec<Uuid> = self.seen.iter().map(|e| e.id).collect();
        assert_eq!(
            seen.len(),
            total,
            "{case}: the reader saw {} events of the writers, expected {total}: {seen:?}",
            seen.len()
        );
        for (batch, appended) in want {
            let of_batch: Vec<&RecordedEvent> = self
                .seen
                .iter()
                .filter(|e| batch.iter().any(|sent| sent.id == e.id))
                .collect();
            let got: Vec<(Uuid, u64)> = of_batch.iter().map(|e| (e.id, e.version)).collect();
            let expected: Vec<(Uuid, u64)> = batch
                .iter()
                .zip(appended.first_version..)
                .map(|(sent, version)| (sent.id, version))
                .collect();
            assert_eq!(
                got, expected,
                "{case}: the reader saw a batch wrong, missing or twice"
            );
            let (first, last) = (of_batch[0], of_batch[of_batch.len() - 1]);
            assert_eq!(
                (first.position, last.position),
                (appended.first_position, appended.position),
                "{case}: a batch is not at the positions its append reported"
            );
        }
    }
}
