//! Wires under SIGKILL: `bank settle --follow` runs the wire process and is killed at random
//! moments, again and again (on SQLite, then on PostgreSQL), while this test requests wires and
//! confirms some of them as the other bank would. Afterwards every wire is confirmed, refunded
//! or failed; each moved its account's money exactly as its outcome says (one withdrawal unless
//! it failed, one refund if refunded, found by the wire's correlation id); and the total is
//! conserved.

#![cfg(unix)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bank::wire::{ConfirmWire, RequestWire, Wire, WireProcess, WireSettings, WireStatus};
use bank::{BankAccount, Deposit, OpenAccount};
use es_core::prelude::*;
use es_core::store::postgres::driver::tokio_postgres;

const ACCOUNTS: usize = 5;
const OPENING: u64 = 1_000;
const TIMEOUT_MS: u64 = 150;
const LEASE_MS: u64 = 300;

type Bank = App<AnyEventStore>;

/// `bank settle --follow` on `database`, wires refunded after `timeout_ms`.
fn settle_follow(database: &str, timeout_ms: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bank"))
        .args(["--database", database, "settle", "--follow"])
        .args(["--wire-timeout-ms", &timeout_ms.to_string()])
        .args(["--lease-ms", &LEASE_MS.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start `bank settle --follow`")
}

fn correlation(wire: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, wire.as_bytes())
}

async fn kill_loop(app: &Bank, database: &str, prefix: &str, kills: usize) {
    let accounts: Vec<String> = (0..ACCOUNTS)
        .map(|i| format!("{prefix}-acct-{i}"))
        .collect();
    for account in &accounts {
        app.send(OpenAccount {
            account: account.clone(),
            owner: "Owner".into(),
        })
        .await
        .expect("open");
        app.send(Deposit {
            account: account.clone(),
            amount: OPENING,
        })
        .await
        .expect("deposit");
    }
    let mut rng = fastrand::Rng::new();
    let mut wires: Vec<String> = Vec::new();
    let started = Instant::now();
    for kill in 0..kills {
        let mut child = settle_follow(database, TIMEOUT_MS);
        let until = Instant::now() + Duration::from_millis(50 + rng.u64(..300));
        while Instant::now() < until {
            let wire = format!("{prefix}-wire-{}", wires.len());
            let request = RequestWire {
                wire: wire.clone(),
                from: accounts[rng.usize(..ACCOUNTS)].clone(),
                to: "other-bank/9".into(),
                amount: rng.u64(1..=400),
            };
            let metadata = CommandMetadata::new().correlation_id(correlation(&wire));
            app.send_with(request, metadata)
                .await
                .expect("request a wire");
            wires.push(wire);
            // The other bank confirms some wires, some of them after their deadline.
            if rng.bool() {
                let wire = wires[rng.usize(..wires.len())].clone();
                let _ = app.send(ConfirmWire { wire }).await;
            }
            tokio::time::sleep(Duration::from_millis(rng.u64(5..40))).await;
        }
        child.kill().expect("SIGKILL the settling process");
        let status = child.wait().expect("reap it");
        assert!(
            !status.success(),
            "kill {kill}: it stopped on its own: {status}"
        );
    }
    // Settle what is left, in this process, once the last holder's lease has run out.
    let settings = WireSettings {
        confirmation_timeout: Duration::from_millis(TIMEOUT_MS),
    };
    let mut runner = ProcessRunner::<WireProcess, _>::new(app.clone(), settings)
        .lease(Duration::from_millis(LEASE_MS));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let progress = runner.run_once().await.expect("a settling run");
        let mut open = 0;
        for wire in &wires {
            let (state, _) = app.load::<Wire>(wire).await.expect("load a wire");
            open += usize::from(matches!(
                state.status,
                WireStatus::Requested | WireStatus::Sent
            ));
        }
        if progress.leading && progress.events == 0 && progress.deadlines == 0 && open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} wires still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check(app, &accounts, &wires).await;
    eprintln!(
        "{kills} SIGKILLs of the settling process in {:.1?}: {} wires, all settled once",
        started.elapsed(),
        wires.len()
    );
}

/// Every wire settled; its money moved once, as its outcome says; the total conserved.
async fn check(app: &Bank, accounts: &[String], wires: &[String]) {
    // Per correlation id (one per wire): the withdrawals and deposits made for it.
    let mut moves: HashMap<Uuid, (u32, u32)> = HashMap::new();
    let mut after = 0;
    loop {
        let batch = app
            .store()
            .read_all(after, 1_000)
            .await
            .expect("read the log");
        let Some(last) = batch.last() else { break };
        after = last.position;
        for record in &batch {
            let Some(correlation) = record.metadata.correlation_id else {
                continue;
            };
            let entry = moves.entry(correlation).or_default();
            match &*record.name {
                "MoneyWithdrawn" => entry.0 += 1,
                "MoneyDeposited" => entry.1 += 1,
                _ => {}
            }
        }
    }
    let mut confirmed = 0;
    for wire in wires {
        let (state, _) = app.load::<Wire>(wire).await.expect("load a wire");
        let (withdrawn, refunded) = moves.get(&correlation(wire)).copied().unwrap_or_default();
        let expected = match state.status {
            WireStatus::Confirmed => {
                confirmed += state.amount;
                (1, 0)
            }
            WireStatus::Refunded => (1, 1),
            WireStatus::Failed => (0, 0),
            other => panic!("wire {wire} ends {other:?}"),
        };
        assert_eq!(
            (withdrawn, refunded),
            expected,
            "wire {wire} ({:?}) moved money (withdrawals, refunds) = {:?}",
            state.status,
            (withdrawn, refunded)
        );
    }
    let mut total = 0;
    for account in accounts {
        total += app
            .load::<BankAccount>(account)
            .await
            .expect("load")
            .0
            .balance;
    }
    assert_eq!(
        total + confirmed,
        OPENING * ACCOUNTS as u64,
        "money was created or destroyed"
    );
}

fn bank_app(store: AnyEventStore) -> Bank {
    App::builder(store)
        .aggregate::<BankAccount>()
        .aggregate::<Wire>()
        .build()
        .expect("build the app")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wires_settle_once_under_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("bank.db");
    let store = es_core::SqliteEventStore::open(&path).await.expect("open");
    let app = bank_app(AnyEventStore::new(store));
    kill_loop(&app, path.to_str().expect("a UTF-8 path"), "s", 20).await;
}

/// The URL of a fresh schema `bank_t_{name}` on the database `ES_POSTGRES_URL` names, and an
/// app on it; `None` when the variable is not set.
async fn postgres(name: &str) -> Option<(String, Bank)> {
    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        eprintln!("WARNING: PostgreSQL test {name} DID NOT RUN: ES_POSTGRES_URL is not set");
        return None;
    };
    let schema = format!("bank_t_{name}");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .expect("a fresh schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}options=-csearch_path%3D{schema}");
    let store = PostgresEventStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    Some((url, bank_app(AnyEventStore::new(store))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wires_settle_once_under_sigkill_on_postgres() {
    let Some((url, app)) = postgres("wire_kill").await else {
        return;
    };
    kill_loop(&app, &url, "p", 20).await;
}

/// Two nodes run `settle --follow` on one database: only the lease holder acts; when it is
/// killed, the other takes over within the lease's length and settles what follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_passes_to_the_second_node_when_the_holder_dies_on_postgres() {
    let Some((url, app)) = postgres("wire_lease").await else {
        return;
    };
    app.send(OpenAccount {
        account: "a".into(),
        owner: "A".into(),
    })
    .await
    .expect("open");
    app.send(Deposit {
        account: "a".into(),
        amount: OPENING,
    })
    .await
    .expect("deposit");
    let request = |wire: &str| RequestWire {
        wire: wire.into(),
        from: "a".into(),
        to: "other-bank/9".into(),
        amount: 10,
    };
    // Wires wait a minute for their confirmation: none is refunded during the test.
    let mut first = settle_follow(&url, 60_000);
    app.send(request("w1")).await.expect("request");
    wait_until_sent(&app, "w1").await;
    let holder = lease_holder(&app).await;
    let mut second = settle_follow(&url, 60_000);
    app.send(request("w2")).await.expect("request");
    wait_until_sent(&app, "w2").await;
    // Three lease lengths with both running: the holder renews, the other never takes it.
    tokio::time::sleep(Duration::from_millis(3 * LEASE_MS)).await;
    assert_eq!(
        lease_holder(&app).await,
        holder,
        "the lease moved while its holder lived"
    );
    first.kill().expect("SIGKILL the holder");
    first.wait().expect("reap it");
    app.send(request("w3")).await.expect("request");
    let started = Instant::now();
    wait_until_sent(&app, "w3").await;
    let taken = started.elapsed();
    assert_ne!(
        lease_holder(&app).await,
        holder,
        "the second node took the lease"
    );
    second.kill().expect("SIGKILL the second node");
    second.wait().expect("reap it");
    let (account, _) = app.load::<BankAccount>("a").await.expect("load");
    assert_eq!(account.balance, OPENING - 30, "each wire withdrawn once");
    eprintln!("the second node took over and settled a wire {taken:.1?} after the holder's death");
}

async fn wait_until_sent(app: &Bank, wire: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.load::<Wire>(wire).await.expect("load").0.status != WireStatus::Sent {
        assert!(Instant::now() < deadline, "wire {wire} was never sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The node that last took or renewed the wire process's lease, as its stream records it.
async fn lease_holder(app: &Bank) -> String {
    let stream = "process-wire.lease";
    let version = app
        .store()
        .stream_version(stream)
        .await
        .expect("lease version");
    let last = app
        .store()
        .read_stream(stream, version, 1)
        .await
        .expect("read the lease");
    let record: serde_json::Value =
        serde_json::from_slice(&last[0].payload).expect("a lease record");
    record["holder"].to_string()
}
