//! The store conformance suite on [`SqliteEventStore`], a fresh temporary file per test,
//! directly and behind `Arc<dyn DynEventStore>`.

use std::path::PathBuf;
use std::sync::Arc;

use es_core::store::{AppendResult, EventStore, ExpectedVersion, SqliteEventStore};
use es_core::testing::conformance;
use es_core::{DynEventStore, Error, NewEvent, RecordedEvent};
use tempfile::TempDir;

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
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        EventStore::head(&self.store)
    }
}

es_core::conformance_tests!(sqlite, TempSqlite::new());

/// Two stores opened on one file see each other's appends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_see_each_other() {
    let first = TempSqlite::new().await;
    let second = TempSqlite {
        store: SqliteEventStore::open(first.path())
            .await
            .expect("open the same file again"),
        dir: Arc::clone(&first.dir),
    };
    conformance::two_instances_see_each_other(&first, &second).await;
    let first_dyn: Arc<dyn DynEventStore> = Arc::new(first);
    let second_dyn: Arc<dyn DynEventStore> = Arc::new(second);
    conformance::two_instances_see_each_other(&first_dyn, &second_dyn).await;
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
    let dyn_store: Arc<dyn DynEventStore> = Arc::new(store.clone());
    tokio::join!(
        conformance::run_all(&store),
        conformance::run_all(&dyn_store)
    );
}
