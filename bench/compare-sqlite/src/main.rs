//! W3s and W3sc of the bank workload on SQLite in its default durable mode (WAL,
//! `synchronous = FULL`): this framework's store through `App`, and raw rusqlite doing one
//! INSERT per command, each in its own transaction, in the same mode. Rounds interleave; the
//! table shows medians and each row's ratio to the raw baseline measured in the same run.
//! `compare-sqlite` runs both; `compare-sqlite w3sc` only that one.

// The bank aggregate and the timing are bench/compare's, shared as source; this program uses
// only part of them.
#[allow(dead_code)]
#[path = "../../compare/src/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../../compare/src/ours.rs"]
mod ours;

use std::cell::Cell;
use std::ops::Range;
use std::path::Path;

use es_core::App;
use es_core::store::SqliteEventStore;
pub use harness::*;

fn main() {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let app = runtime.block_on(async {
        let store = SqliteEventStore::open(dir.path().join("es.db"))
            .await
            .expect("open the store");
        App::builder(store)
            .aggregate::<ours::BankAccount>()
            .build()
            .expect("build the app")
    });
    let raw_path = dir.path().join("raw.db");
    create_raw(&raw_path);
    eprintln!("ratio: the row's rate over the raw baseline's (rounds use new accounts each time)");
    eprintln!();
    eprintln!("| workload | run | median | per second | ratio |");
    eprintln!("|---|---|---:|---:|---:|");
    let chosen: Vec<String> = std::env::args().skip(1).collect();
    let runs = |workload: &str| chosen.is_empty() || chosen.iter().any(|w| w == workload);
    if runs("w3s") {
        w3s(&runtime, &app, &raw_path);
    }
    if runs("w3sc") {
        w3sc(&runtime, &app, &raw_path);
    }
}

/// The accounts of the next round, so that every round writes new streams.
struct Rounds {
    next: Cell<u64>,
}

impl Rounds {
    fn take(&self, accounts: u64) -> Range<u64> {
        let first = self.next.get();
        self.next.set(first + accounts);
        first..first + accounts
    }
}

fn w3s(runtime: &tokio::runtime::Runtime, app: &App<SqliteEventStore>, raw_path: &Path) {
    const W: &str = "W3s commands, SQLite durable, sequential";
    let commands = w3_accounts() * COMMANDS_PER_ACCOUNT;
    let raw_rounds = Rounds { next: Cell::new(0) };
    let es_rounds = Rounds { next: Cell::new(0) };
    let raw_conn = raw_connection(raw_path);
    let [raw, framework] = medians(
        runtime,
        vec![
            run(|| {
                raw_commands(&raw_conn, raw_rounds.take(w3_accounts()));
                async {}
            }),
            run(|| ours::send_commands(app, es_rounds.take(w3_accounts()))),
        ],
    )[..] else {
        unreachable!("two runs")
    };
    row(
        W,
        "raw rusqlite, 1 insert per transaction (baseline)",
        commands,
        raw,
        raw,
    );
    row(W, "es (this framework)", commands, framework, raw);
}

fn w3sc(runtime: &tokio::runtime::Runtime, app: &App<SqliteEventStore>, raw_path: &Path) {
    const W: &str = "W3sc commands, SQLite durable, 8 tasks";
    let commands = TASKS * task_accounts() * COMMANDS_PER_ACCOUNT;
    // Far from W3s's accounts.
    let raw_rounds = Rounds {
        next: Cell::new(1_000_000),
    };
    let es_rounds = Rounds {
        next: Cell::new(1_000_000),
    };
    let mut raw_conns: Vec<rusqlite::Connection> =
        (0..TASKS).map(|_| raw_connection(raw_path)).collect();
    let [raw, framework] = medians(
        runtime,
        vec![
            run(|| {
                let accounts = raw_rounds.take(TASKS * task_accounts());
                // One thread and connection per task: SQLite's driver blocks.
                std::thread::scope(|scope| {
                    for (task, conn) in (0..).zip(raw_conns.iter_mut()) {
                        let first = accounts.start + task * task_accounts();
                        scope.spawn(move || raw_commands(conn, first..first + task_accounts()));
                    }
                });
                async {}
            }),
            run(|| {
                let accounts = es_rounds.take(TASKS * task_accounts());
                async move {
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|task| {
                            let app = app.clone();
                            let first = accounts.start + task * task_accounts();
                            tokio::spawn(async move {
                                ours::send_commands(&app, first..first + task_accounts()).await;
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("a task");
                    }
                }
            }),
        ],
    )[..] else {
        unreachable!("two runs")
    };
    row(
        W,
        "raw rusqlite, 8 connections, 1 insert per transaction (baseline)",
        commands,
        raw,
        raw,
    );
    row(W, "es (this framework), one app", commands, framework, raw);
}

/// The raw table: the columns of the store's events table, no framework.
fn create_raw(path: &Path) {
    raw_connection(path)
        .execute_batch(
            "CREATE TABLE events (
                 position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
                 event_id BLOB NOT NULL UNIQUE, name TEXT NOT NULL,
                 schema_version INTEGER NOT NULL, payload BLOB NOT NULL,
                 timestamp INTEGER NOT NULL, correlation_id BLOB, causation_id BLOB, extra TEXT,
                 UNIQUE (stream, version)) STRICT;",
        )
        .expect("create the raw table");
}

/// A connection in the store's durable mode: WAL, `synchronous = FULL`.
fn raw_connection(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open the raw database");
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .expect("busy timeout");
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
        .expect("durable mode");
    conn
}

/// The workload's commands for `accounts` as raw inserts: the event each command records,
/// serialized, inserted in its own (implicit) transaction.
fn raw_commands(conn: &rusqlite::Connection, accounts: Range<u64>) {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO events (stream, version, event_id, name, schema_version, payload, \
             timestamp) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)",
        )
        .expect("prepare");
    for account in accounts {
        let stream = format!("bank-account-{account}");
        for version in 1..=COMMANDS_PER_ACCOUNT {
            let n = version - 1;
            let (name, payload) = if n == 0 {
                let opened = ours::AccountOpened {
                    owner: "owner".into(),
                };
                ("AccountOpened", serde_json::to_vec(&opened))
            } else if is_deposit(n) {
                let deposited = ours::MoneyDeposited { amount: 10 };
                ("MoneyDeposited", serde_json::to_vec(&deposited))
            } else {
                let withdrawn = ours::MoneyWithdrawn { amount: 5 };
                ("MoneyWithdrawn", serde_json::to_vec(&withdrawn))
            };
            let id = uuid::Uuid::now_v7();
            let now = i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("after 1970")
                    .as_micros(),
            )
            .expect("fits");
            insert
                .execute(rusqlite::params![
                    stream,
                    i64::try_from(version).expect("fits"),
                    &id.as_bytes()[..],
                    name,
                    payload.expect("JSON"),
                    now,
                ])
                .expect("insert");
        }
    }
}
