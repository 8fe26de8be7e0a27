//! The bank workloads of the peer comparison (bench/compare) on every store, through this
//! example's own aggregate and `Balances` projection: W1/W3 (sequential commands), W3c (8
//! concurrent tasks), W2 (replaying a 100,000-event stream), W4 (rebuilding the balances from
//! 100,000 events of 1,000 accounts) and W5 (a cached command on the long stream next to one
//! on a new stream). The SQL stores run in their default durable modes; their command
//! workloads are smaller than the comparison's so the whole suite runs in minutes.
//!
//! Run: `cargo bench -p bank --bench workloads` (with `ES_POSTGRES_URL` set, from
//! `eval "$(scripts/postgres env)"`, it runs on PostgreSQL too). Criterion's medians are in
//! `target/criterion/<group>/<bench>/new/estimates.json`.

#![allow(missing_docs)]

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use bank::{AccountOpened, Balances, BankAccount, Deposit, MoneyDeposited, OpenAccount, Withdraw};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use es_core::NewEvent;
use es_core::prelude::*;
use es_core::store::PostgresEventStore;
use es_core::store::postgres::driver;

const COMMANDS_PER_ACCOUNT: u64 = 100;
const LONG: u64 = 100_000;
const TASKS: u64 = 8;

/// How much of each workload a store runs per iteration.
struct Sizes {
    /// Accounts of the sequential command workload (x 100 commands).
    sequential: u64,
    /// Accounts per task of the concurrent one (x 100 commands, x 8 tasks).
    per_task: u64,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// One open, then alternating deposits of 10 and withdrawals of 5, as in the comparison.
async fn commands<S: EventStore>(app: &App<S>, accounts: std::ops::Range<u64>) {
    for account in accounts {
        let account = format!("a{account}");
        let owner = "owner".to_owned();
        app.send(OpenAccount {
            account: account.clone(),
            owner,
        })
        .await
        .expect("open");
        for n in 1..COMMANDS_PER_ACCOUNT {
            let account = account.clone();
            if n % 2 == 1 {
                app.send(Deposit {
                    account,
                    amount: 10,
                })
                .await
                .expect("deposit");
            } else {
                app.send(Withdraw { account, amount: 5 })
                    .await
                    .expect("withdraw");
            }
        }
    }
}

/// The next `count` account numbers, new on every call.
fn take(next: &Cell<u64>, count: u64) -> std::ops::Range<u64> {
    let first = next.get();
    next.set(first + count);
    first..first + count
}

fn event(n: u64) -> NewEvent {
    let (name, payload) = if n == 0 {
        let opened = AccountOpened {
            owner: "owner".into(),
        };
        ("AccountOpened", serde_json::to_vec(&opened))
    } else {
        (
            "MoneyDeposited",
            serde_json::to_vec(&MoneyDeposited { amount: 10 }),
        )
    };
    NewEvent::new(name, 1, payload.expect("JSON"))
}

/// The long account: 100,000 events.
async fn seed_long<S: EventStore>(store: &S) {
    let long = BankAccount::stream_name("long");
    for chunk in 0..LONG / 1_000 {
        let events = (chunk * 1_000..(chunk + 1) * 1_000).map(event).collect();
        store
            .append(&long, ExpectedVersion::Any, events)
            .await
            .expect("seed");
    }
}

/// W4's log: 1,000 accounts of 100 events each.
async fn seed_accounts<S: EventStore>(store: &S) {
    for account in 0..1_000 {
        let events = (0..100).map(event).collect();
        let stream = BankAccount::stream_name(&format!("p{account}"));
        store
            .append(&stream, ExpectedVersion::NoStream, events)
            .await
            .expect("seed");
    }
}

/// Every workload on the stores `open` makes: one for the commands, replay and long streams,
/// one holding W4's log alone (`open` is given which).
fn bench_store<S, F>(c: &mut Criterion, name: &str, sizes: &Sizes, open: impl Fn(&str) -> F)
where
    S: EventStore + Clone,
    F: Future<Output = S>,
{
    let runtime = runtime();
    let store = runtime.block_on(async {
        let store = open("commands").await;
        seed_long(&store).await;
        store
    });
    let app = App::builder(store.clone())
        .aggregate::<BankAccount>()
        .build()
        .expect("build the app");
    let mut group = c.benchmark_group(format!("bank/{name}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    let next = Cell::new(0);
    group.throughput(Throughput::Elements(
        sizes.sequential * COMMANDS_PER_ACCOUNT,
    ));
    group.bench_function(BenchmarkId::new("W1/W3 commands", "sequential"), |b| {
        b.to_async(&runtime)
            .iter(|| commands(&app, take(&next, sizes.sequential)));
    });
    group.throughput(Throughput::Elements(
        TASKS * sizes.per_task * COMMANDS_PER_ACCOUNT,
    ));
    group.bench_function(BenchmarkId::new("W3c commands", "8 tasks"), |b| {
        b.to_async(&runtime).iter(|| {
            let accounts = take(&next, TASKS * sizes.per_task);
            let app = app.clone();
            let per_task = sizes.per_task;
            async move {
                let tasks: Vec<_> = (0..TASKS)
                    .map(|task| {
                        let app = app.clone();
                        let first = accounts.start + task * per_task;
                        tokio::spawn(async move { commands(&app, first..first + per_task).await })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("a task");
                }
            }
        });
    });

    group.throughput(Throughput::Elements(LONG));
    group.bench_function(BenchmarkId::new("W2 replay", "100k events"), |b| {
        b.to_async(&runtime).iter(|| {
            // A new app: no cache, no snapshot.
            let cold = App::builder(store.clone())
                .aggregate::<BankAccount>()
                .build()
                .expect("build the app");
            async move { cold.load::<BankAccount>("long").await.expect("load") }
        });
    });

    group.throughput(Throughput::Elements(1));
    runtime.block_on(async {
        app.send(Deposit {
            account: "long".into(),
            amount: 10,
        })
        .await
        .expect("warm")
    });
    group.bench_function(
        BenchmarkId::new("W5 cached command", "100k-event stream"),
        |b| {
            b.to_async(&runtime).iter(|| {
                app.send(Deposit {
                    account: "long".into(),
                    amount: 10,
                })
            });
        },
    );
    group.bench_function(BenchmarkId::new("W5 cached command", "new stream"), |b| {
        b.to_async(&runtime).iter(|| {
            let account = format!("a{}", take(&next, 1).start);
            let app = &app;
            async move {
                let owner = "owner".to_owned();
                app.send(OpenAccount { account, owner })
                    .await
                    .expect("open")
            }
        });
    });

    let log = runtime.block_on(async {
        let log = open("balances").await;
        seed_accounts(&log).await;
        log
    });
    bench_rebuild(&mut group, &runtime, log);
    group.finish();
}

/// W4: the balances rebuilt from `log` (1,000 accounts x 100 events).
fn bench_rebuild<S: EventStore + Clone>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    log: S,
) {
    let read_side = App::builder(log)
        .projection(Balances::default())
        .build()
        .expect("build the app");
    group.throughput(Throughput::Elements(1_000 * 100));
    group.bench_function(
        BenchmarkId::new("W4 rebuild balances", "100k events"),
        |b| {
            b.to_async(runtime).iter(|| async {
                read_side
                    .rebuild(Balances::default(), |_| {})
                    .await
                    .expect("rebuild")
            });
        },
    );
}

fn memory(c: &mut Criterion) {
    let sizes = Sizes {
        sequential: 1_000,
        per_task: 125,
    };
    bench_store(c, "memory", &sizes, |_| async { InMemoryEventStore::new() });
}

fn sqlite(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sizes = Sizes {
        sequential: 10,
        per_task: 2,
    };
    // The default, durable mode (`synchronous = FULL`).
    bench_store(c, "sqlite", &sizes, |name| {
        let path = dir.path().join(format!("{name}.db"));
        async move { SqliteEventStore::open(path).await.expect("open") }
    });
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        eprintln!("ES_POSTGRES_URL is not set: skipping the PostgreSQL workloads");
        return;
    };
    let sizes = Sizes {
        sequential: 10,
        per_task: 2,
    };
    bench_store(c, "postgres", &sizes, |name| {
        let url = url.clone();
        let schema = format!("bench_bank_{name}");
        async move {
            // A schema of its own, fresh each run, so the log holds exactly the seeded events.
            let admin = PostgresEventStore::connect(&url).await.expect("connect");
            driver::pool(&admin)
                .get()
                .await
                .expect("a connection")
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                ))
                .await
                .expect("bench schema");
            let store = PostgresEventStore::builder(url)
                .schema(schema)
                .connect()
                .await
                .expect("connect");
            store.migrate().await.expect("migrate");
            store
        }
    });
}

criterion_group!(benches, memory, sqlite, postgres);
criterion_main!(benches);
