//! Case 24 under SIGKILL: a child process moves money between accounts with multi-stream
//! appends (the `transferer` binary) and is killed at random moments, again and again, on
//! SQLite and on PostgreSQL. After every kill: each transfer in the log has both legs, next to
//! each other in the global log; every acknowledged transfer is stored; the total is conserved
//! and no account is overdrawn.

#![cfg(unix)]

mod postgres_support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use es_core::store::{ExpectedVersion, SqliteEventStore};
use es_core::{AnyEventStore, EventStore, RecordedEvent};
use es_tests::{transfer_amount, transfer_leg};

const ACCOUNTS: usize = 6;
const OPENING: i64 = 1_000;

/// Runs the child once, kills it after a random while, returns the transfers it acknowledged.
fn run_and_kill(store: &str, schema: &str, random: &mut fastrand::Rng) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_transferer"))
        .args([store, schema, &ACCOUNTS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the transferer starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| line.strip_prefix("ack ").map(str::to_owned))
            .collect::<Vec<_>>()
    });
    std::thread::sleep(Duration::from_millis(30 + random.u64(..250)));
    child.kill().expect("SIGKILL is delivered");
    let status = child.wait().expect("the child is reaped");
    assert!(
        !status.success(),
        "the transferer stopped on its own: {status}"
    );
    reader.join().expect("the reader thread finishes")
}

/// Opens the accounts with their opening balance.
async fn open_accounts(store: &AnyEventStore) {
    for index in 0..ACCOUNTS {
        let opening = transfer_leg(uuid::Uuid::nil(), OPENING);
        store
            .append(
                &format!("account-{index}"),
                ExpectedVersion::NoStream,
                vec![opening],
            )
            .await
            .expect("open an account");
    }
}

async fn read_everything(store: &AnyEventStore) -> Vec<RecordedEvent> {
    let mut all: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = all.last().map_or(0, |event| event.position);
        let batch = store.read_all(after, 2_000).await.expect("read the log");
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

/// The checks after each kill; returns how many transfers are stored.
fn check(all: &[RecordedEvent], acknowledged: &HashSet<String>, kill: usize) -> usize {
    let mut legs: HashMap<String, Vec<&RecordedEvent>> = HashMap::new();
    let mut balances: HashMap<&str, i64> = HashMap::new();
    for event in all {
        let payload: serde_json::Value =
            serde_json::from_slice(&event.payload).expect("payloads are JSON");
        let transfer = payload["transfer"]
            .as_str()
            .expect("a transfer id")
            .to_owned();
        let amount = transfer_amount(event).expect("an amount");
        let balance = balances.entry(&event.stream).or_default();
        *balance += amount;
        assert!(
            *balance >= 0,
            "after kill {kill}: `{}` is overdrawn at version {}",
            event.stream,
            event.version
        );
        if transfer != uuid::Uuid::nil().to_string() {
            legs.entry(transfer).or_default().push(event);
        }
    }
    for (transfer, legs) in &legs {
        assert_eq!(
            legs.len(),
            2,
            "after kill {kill}: transfer {transfer} is torn: {legs:?}"
        );
        assert_eq!(
            legs[1].position,
            legs[0].position + 1,
            "after kill {kill}: the legs of transfer {transfer} are apart in the global log"
        );
        assert_eq!(
            transfer_amount(legs[0]).unwrap() + transfer_amount(legs[1]).unwrap(),
            0,
            "after kill {kill}: transfer {transfer} creates money"
        );
    }
    for transfer in acknowledged {
        assert!(
            legs.contains_key(transfer),
            "after kill {kill}: acknowledged transfer {transfer} is lost"
        );
    }
    assert_eq!(
        balances.values().sum::<i64>(),
        OPENING * i64::try_from(ACCOUNTS).expect("a few accounts"),
        "after kill {kill}: the total moved"
    );
    legs.len()
}

/// The kill loop on one store: `reopen` gives a fresh handle on it after each kill.
async fn kill_loop<F, Fut>(kills: usize, store: &str, schema: &str, reopen: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = AnyEventStore>,
{
    open_accounts(&reopen().await).await;
    let mut random = fastrand::Rng::new();
    let mut acknowledged = HashSet::new();
    let started = Instant::now();
    let mut stored = 0;
    for kill in 1..=kills {
        let (store, schema) = (store.to_owned(), schema.to_owned());
        let mut rng = random.fork();
        let acks = tokio::task::spawn_blocking(move || run_and_kill(&store, &schema, &mut rng))
            .await
            .expect("the kill runs");
        acknowledged.extend(acks);
        let handle = reopen().await;
        stored = check(&read_everything(&handle).await, &acknowledged, kill);
    }
    eprintln!(
        "{kills} SIGKILLs in {:.1?}: {} transfers acknowledged, {stored} stored, none torn",
        started.elapsed(),
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= kills,
        "the children acknowledged only {} transfers in {kills} runs",
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_transfers_survive_sigkill() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("transfers.db");
    let reopen = || async {
        AnyEventStore::new(
            SqliteEventStore::open(&path)
                .await
                .expect("reopen the file"),
        )
    };
    kill_loop(30, &format!("sqlite:{}", path.display()), "-", reopen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_transfers_survive_sigkill() {
    let Some((_, url, schema)) = postgres_support::store("transfer_kill").await else {
        return;
    };
    let reopen = || async {
        let store = es_core::PostgresEventStore::builder(&url)
            .schema(&schema)
            .connect()
            .await
            .expect("connect");
        AnyEventStore::new(store)
    };
    kill_loop(20, &url, &schema, reopen).await;
}
