//! How fast a projection folds the log: a balance-per-account read model rebuilt from 100,000
//! events of 1,000 accounts, through the app (read, dispatch by name, decode, apply), from the
//! in-memory and the SQLite store; next to decoding and folding the same payloads with no store
//! and no dispatch, in the same run.
//!
//! Run: `cargo bench -p es-core --features postgres --bench projections` (with `ES_POSTGRES_URL`
//! set it also runs on PostgreSQL). Criterion's medians are in
//! `target/criterion/<group>/<bench>/new/estimates.json`.

#![allow(missing_docs)]

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use es_core::NewEvent;
use es_core::prelude::*;
use es_core::store::Synchronous;
use es_core::store::postgres::driver;

const EVENTS: u64 = 100_000;
const ACCOUNTS: u64 = 1_000;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MoneyDeposited {
    pub amount: u64,
}

#[derive(Debug, Default)]
pub struct Balances {
    by_stream: HashMap<String, u64>,
}

#[derive(Debug)]
pub struct Total;

#[projection(name = "bench-balances")]
impl Balances {
    #[on]
    fn deposited(&mut self, event: &MoneyDeposited, meta: &EventMeta<'_>) {
        if let Some(balance) = self.by_stream.get_mut(meta.stream()) {
            *balance += event.amount;
        } else {
            self.by_stream
                .insert(meta.stream().to_owned(), event.amount);
        }
    }

    #[query]
    fn total(&self, _: Total) -> u64 {
        self.by_stream.values().sum()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn payload(amount: u64) -> Vec<u8> {
    serde_json::to_vec(&MoneyDeposited { amount }).expect("JSON")
}

/// 100,000 deposits spread over 1,000 accounts, appended in batches of 1,000 per account.
async fn seed<S: EventStore>(store: &S) {
    for round in 0..EVENTS / ACCOUNTS / 10 {
        for account in 0..ACCOUNTS {
            let events = (0..10)
                .map(|n| NewEvent::new("MoneyDeposited", 1, payload(round * 10 + n)))
                .collect();
            store
                .append(&format!("account-{account}"), ExpectedVersion::Any, events)
                .await
                .expect("seed");
        }
    }
}

fn bench_store<S, F>(c: &mut Criterion, name: &str, open: impl FnOnce() -> F)
where
    S: EventStore + Clone,
    F: Future<Output = S>,
{
    let runtime = runtime();
    let store = runtime.block_on(async {
        let store = open().await;
        seed(&store).await;
        store
    });
    let app = App::builder(store)
        .projection(Balances::default())
        .build()
        .expect("build the app");
    let mut group = c.benchmark_group("projections");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function(BenchmarkId::new("rebuild 100k events", name), |b| {
        b.to_async(&runtime).iter(|| async {
            app.rebuild(Balances::default(), |_| {})
                .await
                .expect("rebuild")
        });
    });
    group.finish();
}

/// The bound: decoding the same payloads and folding them into the same map, no store.
fn decode_and_fold(c: &mut Criterion) {
    let records: Vec<(String, Vec<u8>)> = (0..EVENTS)
        .map(|n| (format!("account-{}", n % ACCOUNTS), payload(n)))
        .collect();
    let mut group = c.benchmark_group("projections");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function(BenchmarkId::new("rebuild 100k events", "no store"), |b| {
        b.iter(|| {
            let mut by_stream: HashMap<String, u64> = HashMap::new();
            for (stream, payload) in &records {
                let event: MoneyDeposited = serde_json::from_slice(payload).expect("decode");
                if let Some(balance) = by_stream.get_mut(stream) {
                    *balance += event.amount;
                } else {
                    by_stream.insert(stream.clone(), event.amount);
                }
            }
            by_stream
        });
    });
    group.finish();
}

fn memory(c: &mut Criterion) {
    bench_store(c, "memory", || async { InMemoryEventStore::new() });
}

fn sqlite(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("projections.db");
    bench_store(c, "sqlite", || async move {
        SqliteEventStore::builder(path)
            .synchronous(Synchronous::Normal)
            .open()
            .await
            .expect("open")
    });
    drop(dir);
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        eprintln!("ES_POSTGRES_URL is not set: skipping the PostgreSQL projection benchmark");
        return;
    };
    bench_store(c, "postgres", || async move {
        // A schema of its own, fresh each run, so the log holds exactly the seeded events.
        let admin = PostgresEventStore::connect(&url).await.expect("connect");
        driver::pool(&admin)
            .get()
            .await
            .expect("a connection")
            .batch_execute(
                "DROP SCHEMA IF EXISTS bench_projections CASCADE; CREATE SCHEMA bench_projections",
            )
            .await
            .expect("bench schema");
        let store = PostgresEventStore::builder(url)
            .schema("bench_projections")
            .connect()
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store
    });
}

criterion_group!(benches, decode_and_fold, memory, sqlite, postgres);
criterion_main!(benches);
