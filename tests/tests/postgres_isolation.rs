//! The PostgreSQL store does not depend on the database's default isolation level: with
//! `default_transaction_isolation` set to `repeatable read` or `serializable` on the database
//! (as an operator may), concurrent appends, group commit and the store contract behave as
//! under the default `read committed`.

use es_core::store::{EventStore, ExpectedVersion, PostgresEventStore};
use es_core::{NewEvent, testing::conformance};

mod postgres_support;

/// A database of its own with `level` as its default isolation, dropped at the end.
async fn with_isolation(level: &str, run: impl AsyncFnOnce(String, PostgresEventStore)) {
    let Some(url) = postgres_support::url("isolation") else {
        return;
    };
    let admin = postgres_support::raw(&url, "public").await;
    let database = format!("es_isolation_{}", level.replace(' ', "_"));
    // One statement per call: CREATE DATABASE cannot run in the implicit transaction of a
    // multi-statement query.
    for statement in [
        format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
        format!("CREATE DATABASE {database}"),
        format!("ALTER DATABASE {database} SET default_transaction_isolation = '{level}'"),
    ] {
        admin
            .batch_execute(&statement)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
    let (base, _) = url.rsplit_once('/').expect("a URL with a database");
    let url = format!("{base}/{database}");
    let store = PostgresEventStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    run(url, store).await;
    admin
        .batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .await
        .expect("drop the database");
}

/// 4 store instances (as 4 nodes: each its own writer and connections) x 2 tasks x 100
/// appends to 4 streams: every append succeeds, the global log is gapless, and the whole
/// contract holds.
async fn concurrent_appends_succeed(url: String, store: PostgresEventStore) {
    let mut nodes = vec![store.clone()];
    for _ in 1..4 {
        nodes.push(PostgresEventStore::connect(&url).await.expect("connect"));
    }
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = nodes[task % 4].clone();
            tokio::spawn(async move {
                for n in 0..100 {
                    let stream = format!("isolation-{}", (task + n) % 4);
                    let event = NewEvent::new("Happened", 1, format!("{{\"n\":{n}}}"));
                    let appended = store
                        .append(&stream, ExpectedVersion::Any, vec![event])
                        .await;
                    if let Err(error) = appended {
                        panic!("append {n} of task {task} failed: {error:?}");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a task");
    }
    let log = store.read_all(0, 10_000).await.expect("read_all");
    let positions: Vec<u64> = log.iter().map(|record| record.position).collect();
    assert_eq!(positions, (1..=800).collect::<Vec<_>>(), "gapless");
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_under_repeatable_read_by_default() {
    with_isolation("repeatable read", concurrent_appends_succeed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_under_serializable_by_default() {
    with_isolation("serializable", concurrent_appends_succeed).await;
}
