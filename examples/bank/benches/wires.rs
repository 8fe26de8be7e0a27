//! Process-manager throughput: wires requested, then settled by the `WireProcess` (each wire:
//! two events in, `WireRequested` and `WireSent`, and two commands out, `Withdraw` and
//! `MarkWireSent`, each a step the process records), in memory, on SQLite and on PostgreSQL.
//! The figure is wires settled per second by one runner: `Throughput::Elements` counts wires.
//!
//! Run: `cargo bench -p bank --bench wires` (with `ES_POSTGRES_URL` set, from
//! `eval "$(scripts/postgres env)"`, it runs on PostgreSQL too).

#![allow(missing_docs)]

use std::cell::Cell;
use std::time::{Duration, Instant};

use bank::wire::{RequestWire, Wire, WireProcess, WireSettings};
use bank::{BankAccount, Deposit, OpenAccount};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use es_core::prelude::*;
use es_core::store::postgres::driver;

/// Wires settled per iteration.
const WIRES: u64 = 50;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Times one runner settling `WIRES` new wires per iteration, on the store `open` makes (in the
/// bench's runtime, which its tasks need); the requests are not timed.
fn bench<S: EventStore + Clone>(
    c: &mut Criterion,
    name: &str,
    open: impl std::future::Future<Output = S>,
) {
    let rt = runtime();
    let store = rt.block_on(open);
    let app = App::builder(store)
        .aggregate::<BankAccount>()
        .aggregate::<Wire>()
        .build()
        .expect("build the app");
    rt.block_on(async {
        app.send(OpenAccount {
            account: "payer".into(),
            owner: "Payer".into(),
        })
        .await
        .expect("open");
        app.send(Deposit {
            account: "payer".into(),
            amount: u64::MAX / 2,
        })
        .await
        .expect("deposit");
    });
    let mut runner = ProcessRunner::<WireProcess, _>::new(app.clone(), WireSettings::default());
    let next = Cell::new(0_u64);
    let mut group = c.benchmark_group(format!("wire_process/{name}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(WIRES));
    group.bench_function("settle", |b| {
        b.iter_custom(|iterations| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    for _ in 0..WIRES {
                        let wire = format!("w{}", next.get());
                        next.set(next.get() + 1);
                        app.send(RequestWire {
                            wire,
                            from: "payer".into(),
                            to: "other-bank/1".into(),
                            amount: 1,
                        })
                        .await
                        .expect("request");
                    }
                    let started = Instant::now();
                    let mut handled = 0;
                    loop {
                        // A run handles the log as it stood; the events its steps append (each
                        // wire's `WireSent`) are the next run's.
                        let progress = runner.run_once().await.expect("settle");
                        if progress.events == 0 {
                            break;
                        }
                        handled += progress.events as u64;
                    }
                    total += started.elapsed();
                    assert_eq!(handled, 2 * WIRES, "every wire settled");
                }
                total
            })
        });
    });
    group.finish();
}

fn memory(c: &mut Criterion) {
    bench(c, "memory", async { InMemoryEventStore::new() });
}

fn sqlite(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("wires.db");
    bench(c, "sqlite", async {
        SqliteEventStore::open(path).await.expect("open")
    });
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        eprintln!("ES_POSTGRES_URL is not set: skipping the PostgreSQL process manager");
        return;
    };
    bench(c, "postgres", async {
        let admin = PostgresEventStore::connect(&url).await.expect("connect");
        driver::pool(&admin)
            .get()
            .await
            .expect("a connection")
            .batch_execute("DROP SCHEMA IF EXISTS bench_wires CASCADE; CREATE SCHEMA bench_wires")
            .await
            .expect("bench schema");
        let store = PostgresEventStore::builder(url)
            .schema("bench_wires")
            .connect()
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store
    });
}

criterion_group!(benches, memory, sqlite, postgres);
criterion_main!(benches);
