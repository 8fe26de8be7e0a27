//! Case 22 on SQLite: a read model in the store's file commits its rows with its checkpoint.
//! A child process appends events and runs the projection until it is killed with SIGKILL, many
//! times; after each kill the read model's rows are exactly the events up to the checkpoint, no
//! more and no less, and the next run resumes there. Also: a failing `apply` rolls back its
//! batch and names the event.

#![cfg(unix)]

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::Arc;

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

use es_core::store::sqlite::driver::rusqlite::Connection;
use es_core::store::sqlite::driver::{self, SqliteProjection};
use es_core::store::{EventStore, ExpectedVersion, SqliteEventStore};
use es_core::{BoxError, Error, NewEvent, RecordedEvent};

const KILLS: usize = 30;

/// What the read model and the log say after a kill.
async fn check(store: &SqliteEventStore, kill: usize) -> u64 {
    let checkpoint = store.load_checkpoint("totals").await.expect("checkpoint");
    let (rows, last, sum): (u64, u64, i64) = driver::read_with(store, |conn| {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'applied')",
            [],
            |row| row.get(0),
        )?;
        if !exists {
            return Ok((0, 0, 0));
        }
        conn.query_row(
            "SELECT COUNT(*), COALESCE(MAX(position), 0), COALESCE(SUM(amount), 0) FROM applied",
            [],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?.unsigned_abs(),
                    row.get::<_, i64>(1)?.unsigned_abs(),
                    row.get(2)?,
                ))
            },
        )
    })
    .await
    .expect("read the read model");
    assert_eq!(last, checkpoint, "kill {kill}: rows and checkpoint apart");
    assert_eq!(
        rows, checkpoint,
        "kill {kill}: a row per event up to the checkpoint"
    );
    let events = store
        .read_all(0, usize::try_from(checkpoint).expect("small"))
        .await
        .expect("read");
    let want: i64 = events
        .iter()
        .map(|event| {
            let payload: serde_json::Value = serde_json::from_slice(&event.payload).expect("JSON");
            payload["amount"].as_i64().expect("an amount")
        })
        .sum();
    assert_eq!(sum, want, "kill {kill}: the rows are those of the events");
    checkpoint
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_and_checkpoint_commit_together_under_sigkill() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("read-model.db");
    let mut random = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .subsec_nanos()
        | 1;
    let mut progressed = 0;
    let mut previous = 0;
    for kill in 1..=KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sqlite_projector"))
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the projector starts");
        random ^= random << 13;
        random ^= random >> 17;
        random ^= random << 5;
        std::thread::sleep(Duration::from_millis(20 + u64::from(random % 200)));
        child.kill().expect("SIGKILL is delivered");
        let status = child.wait().expect("reaped");
        assert_eq!(
            status.signal(),
            Some(9),
            "the projector stopped on its own: {status}"
        );

        let store = SqliteEventStore::open(&path).await.expect("reopen");
        let checkpoint = check(&store, kill).await;
        assert!(
            checkpoint >= previous,
            "kill {kill}: the checkpoint moved back"
        );
        if checkpoint > previous {
            progressed += 1;
        }
        previous = checkpoint;
    }
    eprintln!(
        "sqlite read model: {KILLS} kills, checkpoint and rows agreed after each; \
         the projection advanced in {progressed} runs, to position {previous}"
    );
    assert!(
        progressed > KILLS / 3,
        "the projection hardly ran: {progressed} runs advanced"
    );
}

/// Fails on the event at `fail_at`, with an error or (with `panics`) a panic.
struct Failing {
    fail_at: u64,
    panics: bool,
}

impl SqliteProjection for Failing {
    const NAME: &'static str = "failing";

    fn setup(&mut self, conn: &Connection) -> Result<(), BoxError> {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS seen (position INTEGER PRIMARY KEY)")?;
        Ok(())
    }

    fn apply(&mut self, conn: &Connection, record: &RecordedEvent) -> Result<(), BoxError> {
        if record.position == self.fail_at {
            assert!(!self.panics, "the read model panics on this one");
            return Err("the read model refuses this one".into());
        }
        conn.execute(
            "INSERT INTO seen VALUES (?1)",
            [i64::try_from(record.position)?],
        )?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_apply_rolls_back_its_batch_and_names_the_event() {
    failing_apply_rolls_back(false).await;
}

/// A panic runs on the store's writer thread: it is the projection's error, and the store
/// keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_apply_rolls_back_its_batch_and_names_the_event() {
    failing_apply_rolls_back(true).await;
}

async fn failing_apply_rolls_back(panics: bool) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteEventStore::open(dir.path().join("events.db"))
        .await
        .expect("open");
    let events = (0..5)
        .map(|n| NewEvent::new("Added", 1, format!("{{\"n\":{n}}}")))
        .collect();
    store
        .append("ledger", ExpectedVersion::NoStream, events)
        .await
        .expect("append");
    let projection = Arc::new(Mutex::new(Failing { fail_at: 3, panics }));
    let error = store
        .run_projection(&projection)
        .await
        .expect_err("fails at 3");
    assert!(
        matches!(
            &error,
            Error::Projection {
                projection: "failing",
                version: 3,
                position: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("stream `ledger`"), "{error}");
    assert_eq!(
        store.load_checkpoint("failing").await.expect("checkpoint"),
        0
    );
    let seen: i64 = driver::read_with(&store, |conn| {
        conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'seen'",
            [],
            |row| row.get(0),
        )
    })
    .await
    .expect("read");
    assert_eq!(seen, 0, "the batch, setup included, rolled back");

    projection.lock().await.fail_at = 0;
    assert_eq!(store.run_projection(&projection).await.expect("resumes"), 5);
    let rows: i64 = driver::read_with(&store, |conn| {
        conn.query_row("SELECT COUNT(*) FROM seen", [], |row| row.get(0))
    })
    .await
    .expect("read");
    assert_eq!(rows, 5);
}

/// A task may hold the read model's lock while it appends: a run waiting for that lock must not
/// hold up the store's writer meanwhile (the append would never finish).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holding_the_read_model_while_appending_does_not_stall_the_writer() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteEventStore::open(dir.path().join("events.db"))
        .await
        .expect("open");
    let projection = Arc::new(Mutex::new(Failing {
        fail_at: 0,
        panics: false,
    }));
    for round in 0..5_u64 {
        store
            .append(
                "ledger",
                ExpectedVersion::Any,
                vec![NewEvent::new("Added", 1, "{}")],
            )
            .await
            .expect("append");
        let held = Arc::clone(&projection).lock_owned().await;
        let runner = {
            let (store, projection) = (store.clone(), Arc::clone(&projection));
            tokio::spawn(async move { store.run_projection(&projection).await })
        };
        // Time for the run to read its batch and hand its write to the writer (ordering only:
        // nothing is measured).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let appended = tokio::time::timeout(
            Duration::from_secs(30),
            store.append(
                "ledger",
                ExpectedVersion::Any,
                vec![NewEvent::new("Added", 1, "{}")],
            ),
        )
        .await;
        assert!(
            appended.is_ok(),
            "round {round}: the append waited for the held read model"
        );
        drop(held);
        runner.await.expect("the runner").expect("the run");
    }
}
