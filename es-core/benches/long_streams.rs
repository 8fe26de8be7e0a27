//! What a command costs on a stream of 100,000 events, next to one on a new stream, and how fast
//! a stream replays: with a cold cache (a new `App` per command, as after a restart or an
//! eviction), with and without snapshots, on the in-memory and the SQLite store; plus decoding and
//! folding the same payloads with no store at all, as the bound for replay.
//!
//! Run: `cargo bench -p es-core --bench long_streams`. Criterion's medians are in
//! `target/criterion/<group>/<bench>/new/estimates.json`.

#![allow(missing_docs)]

use std::future::Future;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use es_core::prelude::*;
use es_core::store::Synchronous;
use es_core::{Json, NewEvent};

const LONG: u64 = 100_000;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MoneyDeposited {
    pub amount: u64,
}

#[derive(Command, Debug, Clone)]
pub struct Deposit {
    #[id]
    pub account: String,
    pub amount: u64,
}

#[derive(Command, Debug, Clone)]
pub struct DepositPlain {
    #[id]
    pub account: String,
    pub amount: u64,
}

/// Snapshotted every 100 events: a cold load replays at most 99 after the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapped {
    balance: u64,
    deposits: u64,
}

#[aggregate(snapshot_every = 100)]
impl Snapped {
    #[handle]
    fn deposit(&self, cmd: Deposit) -> MoneyDeposited {
        MoneyDeposited { amount: cmd.amount }
    }

    #[apply]
    fn deposited(&mut self, e: &MoneyDeposited) {
        self.balance += e.amount;
        self.deposits += 1;
    }
}

/// The same state without snapshots: every cold load replays the stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replayed {
    balance: u64,
    deposits: u64,
}

#[aggregate]
impl Replayed {
    #[handle]
    fn deposit(&self, cmd: DepositPlain) -> MoneyDeposited {
        MoneyDeposited { amount: cmd.amount }
    }

    #[apply]
    fn deposited(&mut self, e: &MoneyDeposited) {
        self.balance += e.amount;
        self.deposits += 1;
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

/// Puts `LONG` events in `stream`, in batches.
async fn seed<S: EventStore>(store: &S, stream: &str) {
    for batch in 0..LONG / 1_000 {
        let events = (0..1_000)
            .map(|n| NewEvent::new("MoneyDeposited", 1, payload(batch * 1_000 + n)))
            .collect();
        store
            .append(stream, ExpectedVersion::Any, events)
            .await
            .expect("seed");
    }
}

fn app<S: EventStore + Clone>(store: &S) -> App<S> {
    App::builder(store.clone())
        .aggregate::<Snapped>()
        .aggregate::<Replayed>()
        .build()
        .expect("build the app")
}

/// Loads the long snapshotted stream once, so that a snapshot of its head is saved, and waits
/// for it.
async fn snapshot_head<S: EventStore + Clone>(store: &S) {
    app(store).load::<Snapped>("long").await.expect("load");
    while store
        .load_snapshot("snapped-long", u64::MAX)
        .await
        .expect("load_snapshot")
        .is_none_or(|snapshot| snapshot.version < LONG)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
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
        seed(&store, "snapped-long").await;
        seed(&store, "replayed-long").await;
        snapshot_head(&store).await;
        store
    });
    let mut group = c.benchmark_group(format!("long_streams/{name}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));

    let mut fresh = 0_u64;
    group.bench_function(BenchmarkId::new("cold command", "new stream"), |b| {
        b.to_async(&runtime).iter(|| {
            fresh += 1;
            let account = format!("fresh-{fresh}");
            let app = app(&store);
            async move {
                app.send(Deposit { account, amount: 1 })
                    .await
                    .expect("send")
            }
        });
    });
    group.bench_function(
        BenchmarkId::new("cold command", "100k events, snapshots"),
        |b| {
            b.to_async(&runtime).iter(|| {
                let app = app(&store);
                async move {
                    let account = "long".to_owned();
                    app.send(Deposit { account, amount: 1 })
                        .await
                        .expect("send")
                }
            });
        },
    );
    let cached = app(&store);
    group.bench_function(
        BenchmarkId::new("cached command", "100k events, snapshots"),
        |b| {
            b.to_async(&runtime).iter(|| {
                let account = "long".to_owned();
                cached.send(Deposit { account, amount: 1 })
            });
        },
    );
    group.throughput(Throughput::Elements(LONG));
    group.bench_function(
        BenchmarkId::new("replay", "100k events, no snapshot"),
        |b| {
            b.to_async(&runtime).iter(|| {
                let app = app(&store);
                async move { app.load::<Replayed>("long").await.expect("load") }
            });
        },
    );
    group.finish();
}

/// The bound for replay: decoding the same payloads and folding them, with no store.
fn decode_and_fold(c: &mut Criterion) {
    let payloads: Vec<Vec<u8>> = (0..LONG).map(payload).collect();
    let mut group = c.benchmark_group("long_streams/no store");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(LONG));
    group.bench_function(BenchmarkId::new("decode and fold", "100k events"), |b| {
        b.iter(|| {
            let mut state = Replayed::default();
            for payload in &payloads {
                let event: ReplayedEvent =
                    EventSet::decode(&Json, "MoneyDeposited", 1, payload).expect("decode");
                state.apply(&event);
            }
            state
        });
    });
    group.finish();
}

fn memory(c: &mut Criterion) {
    bench_store(c, "memory", || async { InMemoryEventStore::new() });
}

fn sqlite(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("long.db");
    // `Normal` keeps the disk's fsync out of figures about loading.
    bench_store(c, "sqlite", || async move {
        SqliteEventStore::builder(path)
            .synchronous(Synchronous::Normal)
            .open()
            .await
            .expect("open")
    });
    drop(dir);
}

criterion_group!(benches, decode_and_fold, memory, sqlite);
criterion_main!(benches);
