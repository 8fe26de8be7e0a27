//! Appends per second on the SQLite store, durable mode (WAL, `synchronous = FULL`): one append
//! per transaction from one task, appends from 8 concurrent tasks (group commit), and raw
//! rusqlite doing the same inserts, one per transaction, in the same run.
//!
//! Run: `cargo bench -p es-core --bench sqlite_append`. Criterion's medians are in
//! `target/criterion/<group>/<bench>/new/estimates.json`.

#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use es_core::NewEvent;
use es_core::store::{EventStore, ExpectedVersion, SqliteEventStore};

const PAYLOAD: &[u8] = br#"{"account":"alice","amount":100,"note":"a payload of about a hundred bytes, like a small domain event"}"#;
const TASKS: usize = 8;
const APPENDS_PER_TASK: usize = 16;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn event() -> NewEvent {
    NewEvent::new("MoneyDeposited", 1, PAYLOAD)
}

fn sqlite_store(c: &mut Criterion) {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = runtime
        .block_on(SqliteEventStore::open(dir.path().join("store.db")))
        .expect("open the store");
    let mut group = c.benchmark_group("sqlite_append");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(12));

    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("store", "sequential"), |b| {
        b.to_async(&runtime).iter(|| async {
            store
                .append("sequential", ExpectedVersion::Any, vec![event()])
                .await
                .expect("append")
        });
    });

    group.throughput(Throughput::Elements((TASKS * APPENDS_PER_TASK) as u64));
    group.bench_function(BenchmarkId::new("store", "8 tasks"), |b| {
        b.to_async(&runtime).iter(|| async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|task| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        let stream = format!("task-{task}");
                        for _ in 0..APPENDS_PER_TASK {
                            store
                                .append(&stream, ExpectedVersion::Any, vec![event()])
                                .await
                                .expect("append");
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("the task finishes");
            }
        });
    });

    group.throughput(Throughput::Elements(1));
    let conn = raw_connection(&dir.path().join("raw.db"));
    let mut position = 0_i64;
    group.bench_function(BenchmarkId::new("raw rusqlite", "sequential"), |b| {
        b.iter_custom(|iterations| {
            let start = Instant::now();
            for _ in 0..iterations {
                position += 1;
                raw_insert(&conn, position);
            }
            start.elapsed()
        });
    });
    group.finish();
}

/// A connection set up like the store's writer: WAL, `synchronous = FULL`, the same table.
fn raw_connection(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open the raw database");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE events (
             position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
             event_id BLOB NOT NULL UNIQUE, name TEXT NOT NULL, schema_version INTEGER NOT NULL,
             payload BLOB NOT NULL, timestamp INTEGER NOT NULL, correlation_id BLOB,
             causation_id BLOB, extra TEXT, UNIQUE (stream, version)) STRICT;",
    )
    .expect("create the raw table");
    conn
}

/// One insert in its own (implicit) transaction.
fn raw_insert(conn: &rusqlite::Connection, position: i64) {
    let event = event();
    conn.prepare_cached(
        "INSERT INTO events (position, stream, version, event_id, name, schema_version, \
         payload, timestamp, correlation_id, causation_id, extra) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .expect("prepare")
    .execute(rusqlite::params![
        position,
        "sequential",
        position,
        &event.id.as_bytes()[..],
        event.name.as_ref(),
        i64::from(event.schema_version),
        &event.payload[..],
        event.metadata.timestamp.as_micros(),
        None::<&[u8]>,
        None::<&[u8]>,
        None::<&str>,
    ])
    .expect("insert");
}

criterion_group!(benches, sqlite_store);
criterion_main!(benches);
