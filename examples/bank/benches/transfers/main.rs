//! Transfers between two accounts on every store, one iteration per transfer (criterion reports
//! transfers per second):
//!
//! - `atomic`: [`bank::transfer`], a withdrawal and a deposit decided in one
//!   `App::transaction` and stored by one multi-stream append;
//! - `two-sends`: the same money moved by two single `App::send` calls, a withdrawal and then a
//!   deposit (not atomic): what the transfer costs without atomicity;
//! - `append-streams`: the store's `append_streams` of the two events, with no `App`;
//! - `raw-driver` (SQLite and PostgreSQL): the driver inserting the same two rows in one
//!   transaction into a table shaped like the store's events table, in the store's durable
//!   mode: the baseline.
//!
//! Each variant runs on one task, then on 8 tasks with a pair of accounts each (disjoint, so
//! no conflicts; the raw driver with a connection per task). The SQL stores run in their default
//! durable modes (SQLite: WAL, `synchronous = FULL`, in a temporary directory).
//!
//! Run: `cargo bench -p bank --bench transfers` (with `ES_POSTGRES_URL` set, from
//! `eval "$(scripts/postgres env)"`, it runs on PostgreSQL too). Criterion's medians are in
//! `target/criterion/transfers_<store>/<variant>/<tasks>/new/estimates.json`.

#![allow(missing_docs)]

mod postgres_driver;
mod sqlite_driver;

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

use bank::{BankAccount, Deposit, MoneyDeposited, MoneyWithdrawn, OpenAccount, Withdraw};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use es_core::prelude::*;
use es_core::uuid::Uuid;
use es_core::{Metadata, NewEvent, Timestamp};

/// The tasks of the concurrent runs.
const TASKS: usize = 8;
/// What one transfer moves, in cents.
const AMOUNT: u64 = 1;
/// The opening balance of the paying account of a pair: more than any run can move.
const OPENING: u64 = 1 << 40;

/// One task's accounts: money moves from the first to the second.
struct Pair {
    /// The account ids.
    accounts: [String; 2],
    /// Their streams.
    streams: [String; 2],
    /// The streams' versions as of the last transfer, for the variants without an `App`.
    versions: [u64; 2],
}

impl Pair {
    /// The `task`-th of the `tasks` pairs of `variant`, whose streams are still empty.
    fn new(variant: &str, tasks: usize, task: usize) -> Self {
        let accounts = [0, 1].map(|side| format!("{variant}-{tasks}-{task}-{side}"));
        let streams = accounts.each_ref().map(BankAccount::stream_name);
        Self {
            accounts,
            streams,
            versions: [0; 2],
        }
    }
}

/// The two events of a transfer as the `App` records them: a withdrawal and a deposit of
/// [`AMOUNT`], with one timestamp and the transfer's id as their correlation and causation.
fn transfer_events() -> [NewEvent; 2] {
    let now = Timestamp::now();
    let transfer = Uuid::now_v7();
    let event = |name, payload: serde_json::Result<Vec<u8>>| NewEvent {
        id: Uuid::now_v7(),
        name,
        schema_version: 1,
        payload: payload.expect("JSON").into(),
        metadata: Metadata {
            timestamp: now,
            correlation_id: Some(transfer),
            causation_id: Some(transfer),
            extra: std::collections::BTreeMap::new(),
        },
    };
    [
        event(
            MoneyWithdrawn::NAME.into(),
            serde_json::to_vec(&MoneyWithdrawn { amount: AMOUNT }),
        ),
        event(
            MoneyDeposited::NAME.into(),
            serde_json::to_vec(&MoneyDeposited { amount: AMOUNT }),
        ),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn group<'c>(c: &'c mut Criterion, store: &str, seconds: u64) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(format!("transfers/{store}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(seconds))
        .throughput(Throughput::Elements(1));
    group
}

/// Times `transfers` transfers shared among the tasks, one per state: `run` makes a task's
/// future from its state (its pair, and a connection for the raw drivers) and its share; the
/// future gives the state back for the next sample.
async fn timed<T, R, F>(states: &Cell<Vec<T>>, transfers: u64, run: &R) -> Duration
where
    T: Send + 'static,
    R: Fn(T, u64) -> F,
    F: Future<Output = T> + Send + 'static,
{
    let taken = states.take();
    let tasks = taken.len() as u64;
    let start = Instant::now();
    let running: Vec<_> = (0..)
        .zip(taken)
        .map(|(task, state)| {
            let share = transfers / tasks + u64::from(task < transfers % tasks);
            tokio::spawn(run(state, share))
        })
        .collect();
    let mut back = Vec::with_capacity(running.len());
    for task in running {
        back.push(task.await.expect("a transfer task"));
    }
    let elapsed = start.elapsed();
    states.set(back);
    elapsed
}

/// Benchmarks `variant` with one task per state.
fn bench<T, R, F>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    variant: &str,
    states: Vec<T>,
    run: R,
) where
    T: Send + 'static,
    R: Fn(T, u64) -> F,
    F: Future<Output = T> + Send + 'static,
{
    let tasks = match states.len() {
        1 => "1-task".to_owned(),
        n => format!("{n}-tasks"),
    };
    let states = Cell::new(states);
    group.bench_function(BenchmarkId::new(variant, tasks), |b| {
        b.to_async(runtime)
            .iter_custom(|transfers| timed(&states, transfers, &run));
    });
}

/// Opens `tasks` pairs of accounts for `variant`, the paying one with [`OPENING`].
async fn open_pairs<S: EventStore>(app: &App<S>, variant: &str, tasks: usize) -> Vec<Pair> {
    let mut pairs = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let mut pair = Pair::new(variant, tasks, task);
        for account in &pair.accounts {
            let owner = "owner".to_owned();
            let account = account.clone();
            app.send(OpenAccount { account, owner })
                .await
                .expect("open");
        }
        let account = pair.accounts[0].clone();
        app.send(Deposit {
            account,
            amount: OPENING,
        })
        .await
        .expect("deposit");
        for (version, stream) in pair.versions.iter_mut().zip(&pair.streams) {
            *version = app.store().stream_version(stream).await.expect("version");
        }
        pairs.push(pair);
    }
    pairs
}

async fn atomic<S: EventStore>(app: App<S>, pair: Pair, transfers: u64) -> Pair {
    let [from, to] = &pair.accounts;
    for _ in 0..transfers {
        let done = bank::transfer(&app, from, to, AMOUNT)
            .await
            .expect("a transfer");
        // Disjoint pairs: a retry would mean the figure measures conflicts.
        assert_eq!(done.retries, 0, "a transfer retried");
    }
    pair
}

async fn two_sends<S: EventStore>(app: App<S>, pair: Pair, transfers: u64) -> Pair {
    let [from, to] = &pair.accounts;
    for _ in 0..transfers {
        app.send(Withdraw {
            account: from.clone(),
            amount: AMOUNT,
        })
        .await
        .expect("a withdrawal");
        app.send(Deposit {
            account: to.clone(),
            amount: AMOUNT,
        })
        .await
        .expect("a deposit");
    }
    pair
}

async fn append_streams<S: EventStore>(store: S, mut pair: Pair, transfers: u64) -> Pair {
    for _ in 0..transfers {
        let [withdrawn, deposited] = transfer_events();
        let parts = vec![
            StreamAppend::new(
                &pair.streams[0],
                ExpectedVersion::Exact(pair.versions[0]),
                vec![withdrawn],
            ),
            StreamAppend::new(
                &pair.streams[1],
                ExpectedVersion::Exact(pair.versions[1]),
                vec![deposited],
            ),
        ];
        let results = store.append_streams(parts).await.expect("an append");
        pair.versions = [results[0].version, results[1].version];
    }
    pair
}

/// The variants through the framework, on `app` and its store, with `tasks` tasks.
fn bench_framework<S: EventStore + Clone>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    app: &App<S>,
    tasks: usize,
) {
    let pairs = |variant| runtime.block_on(open_pairs(app, variant, tasks));
    let on = app.clone();
    bench(group, runtime, "atomic", pairs("atomic"), move |pair, n| {
        atomic(on.clone(), pair, n)
    });
    let on = app.clone();
    let states = pairs("two-sends");
    bench(group, runtime, "two-sends", states, move |pair, n| {
        two_sends(on.clone(), pair, n)
    });
    let store = app.store().clone();
    let states = pairs("append-streams");
    bench(group, runtime, "append-streams", states, move |pair, n| {
        append_streams(store.clone(), pair, n)
    });
}

fn bank_app<S: EventStore>(store: S) -> App<S> {
    App::builder(store)
        .aggregate::<BankAccount>()
        .build()
        .expect("build the app")
}

fn memory(c: &mut Criterion) {
    let runtime = runtime();
    let app = bank_app(InMemoryEventStore::new());
    let mut group = group(c, "memory", 3);
    for tasks in [1, TASKS] {
        bench_framework(&mut group, &runtime, &app, tasks);
    }
    group.finish();
}

fn sqlite(c: &mut Criterion) {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The default, durable mode (WAL, `synchronous = FULL`).
    let store = runtime
        .block_on(SqliteEventStore::open(dir.path().join("bank.db")))
        .expect("open");
    let app = bank_app(store);
    let raw = dir.path().join("raw.db");
    sqlite_driver::create(&raw);
    let mut group = group(c, "sqlite", 5);
    for tasks in [1, TASKS] {
        bench_framework(&mut group, &runtime, &app, tasks);
        let states = sqlite_driver::sessions(&raw, tasks);
        bench(
            &mut group,
            &runtime,
            "raw-driver",
            states,
            sqlite_driver::transfers,
        );
    }
    group.finish();
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        eprintln!(
            "WARNING: the PostgreSQL transfer benchmarks DID NOT RUN: ES_POSTGRES_URL is not set \
             (eval \"$(scripts/postgres env)\")"
        );
        return;
    };
    let runtime = runtime();
    let (store, raw) = runtime.block_on(async {
        let raw = postgres_driver::create(&url).await;
        // A schema of its own, fresh each run.
        let schema = "bench_transfers";
        raw.get()
            .await
            .expect("a connection")
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .expect("the store's schema");
        let store = PostgresEventStore::builder(url)
            .schema(schema)
            .connect()
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        (store, raw)
    });
    let app = bank_app(store);
    let mut group = group(c, "postgres", 5);
    for tasks in [1, TASKS] {
        bench_framework(&mut group, &runtime, &app, tasks);
        let states = runtime.block_on(postgres_driver::sessions(&raw, tasks));
        bench(
            &mut group,
            &runtime,
            "raw-driver",
            states,
            postgres_driver::transfers,
        );
    }
    group.finish();
}

criterion_group!(benches, memory, sqlite, postgres);
criterion_main!(benches);
