//! The store conformance suite on [`SqliteEventStore`], a fresh temporary file per test,
//! directly and behind `AnyEventStore`.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use es_core::store::{AppendResult, EventStore, ExpectedVersion, SqliteEventStore};
use es_core::testing::conformance::{self, StalledAppend};
use es_core::{AnyEventStore, Error, NewEvent, RecordedEvent, Snapshot, StreamAppend};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A store in a temporary directory that is removed after the store closes.
#[derive(Clone)]
struct TempSqlite {
    // Dropped first: the last clone closes the database, then the directory goes.
    store: SqliteEventStore,
    dir: Arc<TempDir>,
}

impl TempSqlite {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteEventStore::open(dir.path().join("events.db"))
            .await
            .expect("open a fresh database");
        Self {
            store,
            dir: Arc::new(dir),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("events.db")
    }

    /// A second instance on the same file.
    fn reopen(&self) -> impl Future<Output = Self> + use<> {
        let (path, dir) = (self.path(), Arc::clone(&self.dir));
        async move {
            let store = SqliteEventStore::open(path)
                .await
                .expect("open the same file again");
            Self { store, dir }
        }
    }
}

impl EventStore for TempSqlite {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        EventStore::append(&self.store, stream, expected, events).await
    }
    async fn append_streams(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        EventStore::append_streams(&self.store, parts).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        EventStore::read_stream(&self.store, stream, from, limit).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        EventStore::read_all(&self.store, after, limit).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        EventStore::stream_version(&self.store, stream).await
    }
    async fn find_event(&self, id: uuid::Uuid) -> Result<Option<RecordedEvent>, Error> {
        EventStore::find_event(&self.store, id).await
    }
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        EventStore::head(&self.store)
    }
    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        EventStore::save_snapshot(&self.store, stream, snapshot).await
    }
    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error> {
        EventStore::load_snapshot(&self.store, stream, max_version).await
    }
    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        EventStore::save_checkpoint(&self.store, name, position).await
    }
    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error> {
        EventStore::load_checkpoint(&self.store, name).await
    }
}

// A second `SqliteEventStore` on the same file is a second instance.
es_core::conformance_tests!(sqlite, TempSqlite::new(), TempSqlite::reopen);

/// Writer A of cases 13 and 14: another connection (standing in for another process) that holds
/// SQLite's write lock with its rows inserted and not yet committed.
struct RawStall {
    decide: std::sync::mpsc::Sender<bool>,
    done: oneshot::Receiver<rusqlite::Result<AppendResult>>,
}

impl RawStall {
    async fn finish(self, commit: bool) -> Result<AppendResult, Error> {
        // A send fails only when the thread has already failed; `done` then says why.
        let _ = self.decide.send(commit);
        self.done
            .await
            .expect("the stalled writer answers")
            .map_err(Error::backend)
    }
}

impl StalledAppend for RawStall {
    async fn commit(self) -> Result<AppendResult, Error> {
        self.finish(true).await
    }

    async fn roll_back(self) -> Result<(), Error> {
        self.finish(false).await.map(|_| ())
    }
}

/// Starts writer A on `path`: `events` as a new stream, held open before its commit.
fn stall(path: PathBuf) -> impl FnOnce(String, Vec<NewEvent>) -> StallFuture {
    move |stream, events| {
        let (locked, is_locked) = oneshot::channel();
        let (decide, decision) = std::sync::mpsc::channel();
        let (finished, done) = oneshot::channel();
        std::thread::spawn(move || {
            let result = hold(&path, &stream, &events, locked, &decision);
            let _ = finished.send(result);
        });
        Box::pin(async move {
            let held = is_locked.await;
            let stall = RawStall { decide, done };
            if held.is_err() {
                let error = stall.finish(false).await;
                panic!("the stalled writer could not start: {error:?}");
            }
            stall
        })
    }
}

type StallFuture = std::pin::Pin<Box<dyn Future<Output = RawStall> + Send>>;

fn hold(
    path: &std::path::Path,
    stream: &str,
    events: &[NewEvent],
    locked: oneshot::Sender<()>,
    decision: &std::sync::mpsc::Receiver<bool>,
) -> rusqlite::Result<AppendResult> {
    let mut raw = rusqlite::Connection::open(path)?;
    raw.busy_timeout(Duration::from_secs(5))?;
    let tx = raw.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let head: i64 = tx.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |row| {
        row.get(0)
    })?;
    for (offset, event) in (1_i64..).zip(events) {
        let extra = (!event.metadata.extra.is_empty())
            .then(|| serde_json::to_string(&event.metadata.extra).expect("a JSON object"));
        tx.execute(
            "INSERT INTO events (position, stream, version, event_id, name, schema_version, \
             payload, timestamp, correlation_id, causation_id, extra) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            rusqlite::params![
                head + offset,
                stream,
                offset,
                &event.id.as_bytes()[..],
                event.name.as_ref(),
                i64::from(event.schema_version),
                &event.payload[..],
                event.metadata.timestamp.as_micros(),
                event
                    .metadata
                    .correlation_id
                    .as_ref()
                    .map(|id| &id.as_bytes()[..]),
                event
                    .metadata
                    .causation_id
                    .as_ref()
                    .map(|id| &id.as_bytes()[..]),
                extra,
            ],
        )?;
    }
    let _ = locked.send(());
    let count = u64::try_from(events.len()).expect("a small batch");
    let first_position = u64::try_from(head).expect("a position") + 1;
    if decision.recv().unwrap_or(false) {
        tx.commit()?;
    } else {
        tx.rollback()?;
    }
    Ok(AppendResult {
        first_version: 1,
        version: count,
        first_position,
        position: first_position + count - 1,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gap_race() {
    let store = TempSqlite::new().await;
    conformance::gap_race(&store, stall(store.path())).await;
    let path = store.path();
    let shared = AnyEventStore::new(store);
    conformance::gap_race(&shared, stall(path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_append() {
    let store = TempSqlite::new().await;
    conformance::rolled_back_append(&store, stall(store.path())).await;
    let path = store.path();
    let shared = AnyEventStore::new(store);
    conformance::rolled_back_append(&shared, stall(path)).await;
}

/// Case 6 past 2^32: one row inserted with SQL puts a stream at a high version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_past_2_31() {
    let store = TempSqlite::new().await;
    let path = store.path();
    conformance::versions_past_2_31(&store, |stream, version| async move {
        let raw = rusqlite::Connection::open(&path).expect("open the database");
        raw.busy_timeout(std::time::Duration::from_secs(5))
            .expect("set a busy timeout");
        raw.execute(
            "INSERT INTO events (position, stream, version, event_id, name, schema_version, \
             payload, timestamp) VALUES ((SELECT COALESCE(MAX(position), 0) + 1 FROM events), \
             ?1, ?2, ?3, 'Seeded', 1, x'', 0)",
            rusqlite::params![
                stream,
                i64::try_from(version).expect("a version SQLite holds"),
                &uuid::Uuid::now_v7().as_bytes()[..]
            ],
        )
        .expect("seed the stream");
    })
    .await;
}

/// Every case, in sequence, on one file shared with another run of them at the same time,
/// one run directly and one through the dyn companion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_concurrently_on_one_file() {
    let store = TempSqlite::new().await;
    let dyn_store = AnyEventStore::new(store.clone());
    tokio::join!(
        conformance::run_all(&store),
        conformance::run_all(&dyn_store)
    );
}
