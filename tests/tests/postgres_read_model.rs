//! Case 22 on PostgreSQL: a read model in the store's database commits its rows with its
//! checkpoint. A child process (`postgres_projector`) appends events and runs the projection
//! until it is killed with SIGKILL, many times; after each kill the read model's rows are
//! exactly the events up to the checkpoint. Also: a failing or panicking `apply` rolls back its
//! batch and names the event.

mod postgres_support;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use es_core::store::postgres::driver::PostgresProjection;
use es_core::store::postgres::driver::tokio_postgres::{Client, Transaction};
use es_core::store::{EventStore, ExpectedVersion, PostgresEventStore};
use es_core::{BoxError, Error, NewEvent, RecordedEvent};
use postgres_support::{raw, store};
use tokio::sync::Mutex;

const KILLS: usize = 20;

async fn check(store: &PostgresEventStore, client: &Client, kill: usize) -> u64 {
    // The checkpoint and the rows in one statement, so one snapshot: a killed child's COMMIT
    // that the server takes after the kill lands before or after both, never between.
    let exists: bool = client
        .query_one("SELECT to_regclass('applied') IS NOT NULL", &[])
        .await
        .expect("query")
        .get(0);
    let rows = if exists {
        "(SELECT count(*) FROM applied), (SELECT coalesce(max(position), 0) FROM applied), \
         (SELECT coalesce(sum(amount), 0)::bigint FROM applied)"
    } else {
        "0::bigint, 0::bigint, 0::bigint"
    };
    let row = client
        .query_one(
            &format!(
                "SELECT coalesce((SELECT position FROM es_checkpoints WHERE name = 'totals'), 0), \
                 {rows}"
            ),
            &[],
        )
        .await
        .expect("query");
    let checkpoint = u64::try_from(row.get::<_, i64>(0)).expect("a position");
    let (rows, last, sum) = (
        row.get::<_, i64>(1),
        row.get::<_, i64>(2),
        row.get::<_, i64>(3),
    );
    let checkpoint_i = i64::try_from(checkpoint).expect("small");
    assert_eq!(last, checkpoint_i, "kill {kill}: rows and checkpoint apart");
    assert_eq!(
        rows, checkpoint_i,
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
    let Some((store, url, schema)) = store("read_model_kill").await else {
        return;
    };
    let client = raw(&url, &schema).await;
    let mut random = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .subsec_nanos()
        | 1;
    let (mut previous, mut progressed) = (0, 0);
    for kill in 1..=KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_postgres_projector"))
            .args([&url, &schema])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the child starts");
        random ^= random << 13;
        random ^= random >> 17;
        random ^= random << 5;
        tokio::time::sleep(Duration::from_millis(100 + u64::from(random % 300))).await;
        child.kill().expect("SIGKILL is delivered");
        child.wait().expect("reaped");
        // PostgreSQL ends the killed client's transaction when it sees the connection drop.
        let checkpoint = check(&store, &client, kill).await;
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
        "postgres read model: {KILLS} kills, checkpoint and rows agreed after each; \
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

impl PostgresProjection for Failing {
    const NAME: &'static str = "failing";

    async fn setup(&mut self, tx: &Transaction<'_>) -> Result<(), BoxError> {
        tx.batch_execute("CREATE TABLE IF NOT EXISTS seen (position bigint PRIMARY KEY)")
            .await?;
        Ok(())
    }

    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        record: &RecordedEvent,
    ) -> Result<(), BoxError> {
        if record.position == self.fail_at {
            assert!(!self.panics, "the read model panics on this one");
            return Err("the read model refuses this one".into());
        }
        tx.execute(
            "INSERT INTO seen VALUES ($1)",
            &[&i64::try_from(record.position)?],
        )
        .await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_apply_rolls_back_its_batch_and_names_the_event() {
    failing_apply_rolls_back("read_model_failing", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_apply_rolls_back_its_batch_and_names_the_event() {
    failing_apply_rolls_back("read_model_panicking", true).await;
}

async fn failing_apply_rolls_back(test: &str, panics: bool) {
    let Some((store, url, schema)) = store(test).await else {
        return;
    };
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
    let client = raw(&url, &schema).await;
    let exists: bool = client
        .query_one("SELECT to_regclass('seen') IS NOT NULL", &[])
        .await
        .expect("query")
        .get(0);
    assert!(!exists, "the batch, setup included, rolled back");
    projection.lock().await.fail_at = 0;
    assert_eq!(store.run_projection(&projection).await.expect("resumes"), 5);
    let rows: i64 = client
        .query_one("SELECT count(*) FROM seen", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(rows, 5);
}
