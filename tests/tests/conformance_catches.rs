//! The conformance suite catches broken stores: each test wraps the in-memory store in one
//! deliberate contract violation and expects the case that guards that clause to fail, naming
//! itself.

use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use es_core::testing::conformance::{self, StalledAppend};
use es_core::{
    AppendResult, Error, EventStore, ExpectedVersion, InMemoryEventStore, NewEvent, RecordedEvent,
    Snapshot, StreamAppend,
};

/// One contract violation.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Appends whatever the expectation.
    IgnoreExpected,
    /// Reports a conflict's actual version off by one.
    WrongActual,
    /// Stores a batch one event at a time, keeping what went in before a failure.
    SplitBatches,
    /// Treats stream names case-insensitively.
    FoldCase,
    /// Rewrites JSON payloads on the way out, as a JSON column type would.
    NormalizeJson,
    /// Ignores the limit of `read_stream`.
    IgnoreLimit,
    /// Gives every appended event a fresh id, so retries write again.
    FreshIds,
    /// Fails with a backend error on versions that do not fit an `i64`.
    NarrowVersions,
    /// Leaves every fifth position out of the global log.
    SkipPositions,
    /// Hands out each page of the global log in reverse.
    ReversePages,
    /// Holds at most three events per stream on reads, like a wrongly paged reader.
    TruncateStreams,
    /// Gives the newest snapshot whatever version is asked for.
    NewestSnapshot,
    /// Keeps the first checkpoint saved, like an `INSERT .. ON CONFLICT DO NOTHING`.
    FirstCheckpoint,
    /// Appends the parts of a multi-stream call one by one, keeping those before a refusal.
    SplitCalls,
    /// Lets another append in between the parts of a multi-stream call.
    InterleavedCalls,
    /// Appends a multi-stream call's parts whatever their expectations, after a pause in
    /// which other writers run.
    UnguardedCalls,
}

#[derive(Debug, Clone)]
struct Faulty {
    store: InMemoryEventStore,
    fault: Fault,
}

fn faulty(fault: Fault) -> Faulty {
    Faulty {
        store: InMemoryEventStore::new(),
        fault,
    }
}

impl Faulty {
    fn name(&self, stream: &str) -> String {
        match self.fault {
            Fault::FoldCase => stream.to_lowercase(),
            _ => stream.to_owned(),
        }
    }

    fn outgoing(&self, mut events: Vec<RecordedEvent>) -> Vec<RecordedEvent> {
        if let Fault::NormalizeJson = self.fault {
            for event in &mut events {
                if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&event.payload) {
                    event.payload = Bytes::from(serde_json::to_vec(&value).expect("a JSON value"));
                }
            }
        }
        events
    }
}

fn beyond_i64(expected: ExpectedVersion) -> bool {
    matches!(expected, ExpectedVersion::Exact(v) if i64::try_from(v).is_err())
}

impl EventStore for Faulty {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        mut events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        let stream = self.name(stream);
        match self.fault {
            Fault::IgnoreExpected => {
                self.store
                    .append(&stream, ExpectedVersion::Any, events)
                    .await
            }
            Fault::WrongActual => match self.store.append(&stream, expected, events).await {
                Err(Error::Conflict {
                    stream,
                    expected,
                    actual,
                }) => Err(Error::Conflict {
                    stream,
                    expected,
                    actual: actual + 1,
                }),
                other => other,
            },
            Fault::SplitBatches if events.len() > 1 => {
                let mut result = None::<AppendResult>;
                for event in events {
                    let expected = result.map_or(expected, |r| ExpectedVersion::Exact(r.version));
                    let one = self.store.append(&stream, expected, vec![event]).await?;
                    result = Some(match result {
                        Some(first) => AppendResult {
                            version: one.version,
                            position: one.position,
                            ..first
                        },
                        None => one,
                    });
                }
                Ok(result.expect("a batch of two or more"))
            }
            Fault::FreshIds => {
                for event in &mut events {
                    event.id = uuid::Uuid::now_v7();
                }
                self.store.append(&stream, expected, events).await
            }
            Fault::NarrowVersions if beyond_i64(expected) => {
                Err(Error::backend("version out of range for BIGINT"))
            }
            _ => self.store.append(&stream, expected, events).await,
        }
    }

    async fn append_streams(
        &self,
        mut parts: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, Error> {
        for part in &mut parts {
            part.stream = self.name(&part.stream);
        }
        match self.fault {
            Fault::SplitCalls | Fault::InterleavedCalls => {
                let mut results = Vec::with_capacity(parts.len());
                for part in parts {
                    if let Fault::InterleavedCalls = self.fault {
                        let filler = NewEvent::new("Filler", 1, "{}");
                        self.store
                            .append("filler", ExpectedVersion::Any, vec![filler])
                            .await?;
                    }
                    results.push(
                        self.store
                            .append(&part.stream, part.expected, part.events)
                            .await?,
                    );
                }
                Ok(results)
            }
            Fault::UnguardedCalls => {
                tokio::task::yield_now().await;
                for part in &mut parts {
                    part.expected = ExpectedVersion::Any;
                }
                self.store.append_streams(parts).await
            }
            Fault::FreshIds => {
                for event in parts.iter_mut().flat_map(|part| &mut part.events) {
                    event.id = uuid::Uuid::now_v7();
                }
                self.store.append_streams(parts).await
            }
            _ => self.store.append_streams(parts).await,
        }
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        let limit = match self.fault {
            Fault::IgnoreLimit => usize::MAX,
            _ => limit,
        };
        let mut events = self
            .store
            .read_stream(&self.name(stream), from, limit)
            .await?;
        if let Fault::TruncateStreams = self.fault {
            events.retain(|event| event.version <= 3);
        }
        Ok(self.outgoing(events))
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        let mut events = self.store.read_all(after, limit).await?;
        match self.fault {
            Fault::SkipPositions => {
                let last = events.last().cloned();
                events.retain(|event| event.position % 5 != 0);
                // Keep the page's end so readers move on past the hole.
                if let Some(last) = last.filter(|last| last.position % 5 == 0) {
                    events.push(RecordedEvent {
                        stream: "elsewhere".into(),
                        ..last
                    });
                }
            }
            Fault::ReversePages => events.reverse(),
            _ => {}
        }
        Ok(self.outgoing(events))
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        self.store.stream_version(&self.name(stream)).await
    }

    async fn find_event(&self, id: uuid::Uuid) -> Result<Option<RecordedEvent>, Error> {
        Ok(self.store.find_event(id).await?.map(|event| {
            let mut events = self.outgoing(vec![event]);
            events.remove(0)
        }))
    }

    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store.head()
    }

    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        self.store.save_snapshot(stream, snapshot).await
    }

    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error> {
        let max_version = match self.fault {
            Fault::NewestSnapshot => u64::MAX,
            _ => max_version,
        };
        self.store.load_snapshot(stream, max_version).await
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        if let Fault::FirstCheckpoint = self.fault {
            if self.store.load_checkpoint(name).await? != 0 {
                return Ok(());
            }
        }
        self.store.save_checkpoint(name, position).await
    }

    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error> {
        self.store.load_checkpoint(name).await
    }
}

/// Runs a case that must fail and returns its panic message.
async fn failure_of<F: Future<Output = ()> + Send + 'static>(case: F) -> String {
    let Err(error) = tokio::spawn(case).await else {
        panic!("the case passed on a faulty store");
    };
    let payload = error.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(ToString::to_string))
        .unwrap_or_default()
}

macro_rules! catches {
    ($($test:ident: $fault:ident => $case:ident;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let store = faulty(Fault::$fault);
                let message =
                    failure_of(async move { conformance::$case(&store).await }).await;
                let case = concat!(stringify!($case), ":");
                assert!(message.contains(case), "expected a failure of {case} got {message:?}");
            }
        )*
    };
}

catches! {
    ignored_expectation: IgnoreExpected => expected_version_matrix;
    ignored_expectation_in_races: IgnoreExpected => concurrent_exact_appends_one_winner;
    wrong_actual_version: WrongActual => concurrent_exact_appends_one_winner;
    wrong_actual_version_in_matrix: WrongActual => expected_version_matrix;
    torn_batch: SplitBatches => failed_batch_leaves_no_trace;
    case_folded_names: FoldCase => stream_names;
    normalized_json_payload: NormalizeJson => round_trip;
    ignored_limit: IgnoreLimit => range_reads;
    retries_write_twice: FreshIds => idempotent_retry;
    narrow_versions: NarrowVersions => large_versions_in_conflicts;
    holes_in_the_global_log: SkipPositions => global_log_from_position;
    holes_seen_by_the_reliability_run: SkipPositions => concurrent_appends_lose_nothing;
    global_log_out_of_order: ReversePages => catch_up_subscription;
    truncated_stream_reads: TruncateStreams => long_stream_read_whole;
    snapshot_above_the_version_asked: NewestSnapshot => snapshots;
    checkpoint_never_moves: FirstCheckpoint => checkpoints;
    torn_multi_stream_call: SplitCalls => multi_stream_atomic;
    interleaved_multi_stream_call: InterleavedCalls => multi_stream_positions_contiguous;
    multi_stream_retries_write_twice: FreshIds => multi_stream_idempotent_retry;
    unguarded_transfers: UnguardedCalls => multi_stream_transfers_conserve;
}

/// The classic bug of SQL stores: positions come from a sequence taken at insert, rows become
/// visible at commit, and readers trust `position > checkpoint`. A reader that passes a
/// reserved position before its append commits never sees it.
#[derive(Debug, Clone, Default)]
struct SequenceStore {
    inner: Arc<Mutex<Sequenced>>,
    head: Arc<tokio::sync::watch::Sender<u64>>,
}

#[derive(Debug, Default)]
struct Sequenced {
    next: u64,
    committed: Vec<RecordedEvent>,
}

impl SequenceStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Sequenced> {
        self.inner.lock().expect("the toy store's lock")
    }

    fn version(&self, stream: &str) -> u64 {
        let log = self.lock();
        log.committed
            .iter()
            .filter(|e| &*e.stream == stream)
            .count() as u64
    }

    /// Takes positions for `events` now; they become visible when `commit` runs.
    fn reserve(&self, events: &[NewEvent]) -> u64 {
        let mut log = self.lock();
        let first = log.next + 1;
        log.next += events.len() as u64;
        first
    }

    fn commit(&self, stream: &str, first_position: u64, events: Vec<NewEvent>) -> AppendResult {
        let first_version = self.version(stream) + 1;
        let count = events.len() as u64;
        let mut log = self.lock();
        for ((event, version), position) in events
            .into_iter()
            .zip(first_version..)
            .zip(first_position..)
        {
            log.committed.push(RecordedEvent {
                id: event.id,
                stream: stream.into(),
                version,
                position,
                name: event.name.into(),
                schema_version: event.schema_version,
                payload: event.payload,
                metadata: event.metadata,
            });
        }
        let head = log.next;
        drop(log);
        self.head.send_replace(head);
        AppendResult {
            first_version,
            version: first_version + count - 1,
            first_position,
            position: first_position + count - 1,
        }
    }
}

impl EventStore for SequenceStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        let actual = self.version(stream);
        if !expected.matches(actual) {
            let stream = stream.to_owned();
            return Err(Error::Conflict {
                stream,
                expected,
                actual,
            });
        }
        let first_position = self.reserve(&events);
        Ok(self.commit(stream, first_position, events))
    }

    async fn append_streams(&self, _: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        Err(Error::backend("the toy store has no multi-stream appends"))
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        let log = self.lock();
        let events = log
            .committed
            .iter()
            .filter(|e| &*e.stream == stream && e.version >= from);
        Ok(events.take(limit).cloned().collect())
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        let mut events: Vec<RecordedEvent> = self
            .lock()
            .committed
            .iter()
            .filter(|e| e.position > after)
            .cloned()
            .collect();
        events.sort_by_key(|e| e.position);
        events.truncate(limit);
        Ok(events)
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        Ok(self.version(stream))
    }

    async fn find_event(&self, id: uuid::Uuid) -> Result<Option<RecordedEvent>, Error> {
        Ok(self.lock().committed.iter().find(|e| e.id == id).cloned())
    }

    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.head.subscribe()
    }

    // The toy store exists for the gap race alone; it keeps no derived state.
    async fn save_snapshot(&self, _: &str, _: Snapshot) -> Result<(), Error> {
        Err(Error::backend("the toy store keeps no snapshots"))
    }

    async fn load_snapshot(&self, _: &str, _: u64) -> Result<Option<Snapshot>, Error> {
        Ok(None)
    }

    async fn save_checkpoint(&self, _: &str, _: u64) -> Result<(), Error> {
        Err(Error::backend("the toy store keeps no checkpoints"))
    }

    async fn load_checkpoint(&self, _: &str) -> Result<u64, Error> {
        Ok(0)
    }
}

/// An append of the toy store that has taken its positions and not committed.
struct Reserved {
    store: SequenceStore,
    stream: String,
    first_position: u64,
    events: Vec<NewEvent>,
}

impl StalledAppend for Reserved {
    async fn commit(self) -> Result<AppendResult, Error> {
        Ok(self
            .store
            .commit(&self.stream, self.first_position, self.events))
    }

    async fn roll_back(self) -> Result<(), Error> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_passing_an_open_append() {
    let store = SequenceStore::default();
    let hook = {
        let store = store.clone();
        move |stream: String, events: Vec<NewEvent>| {
            let first_position = store.reserve(&events);
            std::future::ready(Reserved {
                store,
                stream,
                first_position,
                events,
            })
        }
    };
    let message = failure_of(async move { conformance::gap_race(&store, hook).await }).await;
    assert!(
        message.contains("gap_race:"),
        "expected a failure of gap_race, got {message:?}"
    );
    assert!(message.contains("never delivers it"), "{message}");
}
