//! Appends per second on PostgreSQL: the store (one append per transaction, sequential and
//! from 8 tasks) next to the raw driver doing the same single-row INSERTs (sequential, and from
//! 8 connections), in the same run.
//!
//! ```text
//! eval "$(scripts/postgres env)"
//! cargo bench -p es-core --features postgres --bench postgres_append
//! ```
#![allow(missing_docs, clippy::cast_possible_truncation)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use es_core::NewEvent;
use es_core::store::{EventStore, ExpectedVersion, PostgresEventStore};
use tokio_postgres::NoTls;
use uuid::Uuid;

const TASKS: u64 = 8;
const SCHEMA: &str = "es_bench";
const PAYLOAD: &[u8] = br#"{"account":"acc-000001","amount":1250,"currency":"EUR"}"#;

fn url() -> Option<String> {
    std::env::var("ES_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

fn in_schema(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-csearch_path%3D{SCHEMA}")
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

const RAW_INSERT: &str =
    "INSERT INTO raw_events (id, stream, name, payload) VALUES ($1, $2, $3, $4)";

async fn raw_insert(
    client: &tokio_postgres::Client,
    statement: &tokio_postgres::Statement,
    stream: &str,
) {
    client
        .execute(
            statement,
            &[&Uuid::now_v7(), &stream, &"MoneyDeposited", &PAYLOAD],
        )
        .await
        .expect("insert");
}

type Raw = Arc<(tokio_postgres::Client, tokio_postgres::Statement)>;

/// A fresh schema with the store's tables and a plain table for the raw INSERTs.
async fn setup(url: &str) -> (PostgresEventStore, Vec<Raw>) {
    let admin = connect(url).await;
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}; \
             CREATE TABLE {SCHEMA}.raw_events (id uuid PRIMARY KEY, stream text NOT NULL, \
             name text NOT NULL, payload bytea NOT NULL)"
        ))
        .await
        .expect("bench schema");
    let store = PostgresEventStore::connect(url).await.expect("store");
    store.migrate().await.expect("migrate");
    let mut raw = Vec::new();
    for _ in 0..TASKS {
        let client = connect(url).await;
        let statement = client.prepare(RAW_INSERT).await.expect("prepare");
        raw.push(Arc::new((client, statement)));
    }
    (store, raw)
}

fn event() -> NewEvent {
    NewEvent::new("MoneyDeposited", 1, PAYLOAD)
}

fn bench(c: &mut Criterion) {
    let Some(url) = url() else {
        eprintln!("ES_POSTGRES_URL is not set: run `eval \"$(scripts/postgres env)\"`; skipping");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (store, raw) = runtime.block_on(setup(&in_schema(&url)));

    let mut group = c.benchmark_group("postgres_append");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));

    group.bench_function("raw_insert_sequential", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let raw = Arc::clone(&raw[0]);
            async move {
                let start = Instant::now();
                for _ in 0..iters {
                    raw_insert(&raw.0, &raw.1, "raw-seq").await;
                }
                start.elapsed()
            }
        });
    });
    group.bench_function("store_append_sequential", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let store = store.clone();
            async move {
                let start = Instant::now();
                for _ in 0..iters {
                    store
                        .append("seq", ExpectedVersion::Any, vec![event()])
                        .await
                        .expect("append");
                }
                start.elapsed()
            }
        });
    });
    group.bench_function("raw_insert_8_connections", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let raw = raw.clone();
            async move {
                let start = Instant::now();
                let tasks: Vec<_> = raw
                    .into_iter()
                    .enumerate()
                    .map(|(task, raw)| {
                        tokio::spawn(async move {
                            let stream = format!("raw-{task}");
                            for _ in 0..iters.div_ceil(TASKS) {
                                raw_insert(&raw.0, &raw.1, &stream).await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task");
                }
                start.elapsed()
            }
        });
    });
    group.bench_function("store_append_8_tasks", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let store = store.clone();
            async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..TASKS)
                    .map(|task| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            let stream = format!("task-{task}");
                            for _ in 0..iters.div_ceil(TASKS) {
                                store
                                    .append(&stream, ExpectedVersion::Any, vec![event()])
                                    .await
                                    .expect("append");
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task");
                }
                start.elapsed()
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
