//! The store conformance suite on [`PostgresEventStore`], directly and behind
//! `Arc<dyn DynEventStore>`, plus the cases that need a second instance or SQL.
//! Needs `ES_POSTGRES_URL` (`eval "$(scripts/postgres start)"`).

mod postgres_support;

use std::sync::Arc;

use es_core::testing::conformance;
use es_core::{DynEventStore, PostgresEventStore};
use postgres_support::{raw, store, url_in};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_directly() {
    let Some((store, _url, _schema)) = store("conformance_direct").await else {
        return;
    };
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_through_dyn_store() {
    let Some((store, _url, _schema)) = store("conformance_dyn").await else {
        return;
    };
    let store: Arc<dyn DynEventStore> = Arc::new(store);
    conformance::run_all(&store).await;
}

/// Case 16, generic part: two pools (two nodes' worth of connections) on one schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_see_each_other() {
    let Some((a, url, schema)) = store("conformance_two").await else {
        return;
    };
    let b = PostgresEventStore::connect(&url_in(&url, &schema))
        .await
        .unwrap();
    conformance::two_instances_see_each_other(&a, &b).await;
    let a: Arc<dyn DynEventStore> = Arc::new(a);
    let b: Arc<dyn DynEventStore> = Arc::new(b);
    conformance::two_instances_see_each_other(&a, &b).await;
}

/// Case 6: a stream put at a version past 2^32 by one row inserted with SQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_past_2_31() {
    let Some((store, url, schema)) = store("conformance_high").await else {
        return;
    };
    let client = raw(&url, &schema).await;
    conformance::versions_past_2_31(&store, |stream, version| async move {
        let version = i64::try_from(version).unwrap();
        client
            .batch_execute("BEGIN; SELECT FROM es_append_lock WHERE id = 1 FOR UPDATE")
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO es_events (position, stream, version, id, name, schema_version, \
                                        payload, timestamp_us) \
                 SELECT coalesce(max(position), 0) + 1, $1, $2, $3, 'Seed', 1, ''::bytea, 0 \
                 FROM es_events",
                &[&stream, &version, &Uuid::now_v7()],
            )
            .await
            .expect("seed a stream at a high version");
        client.batch_execute("COMMIT").await.unwrap();
    })
    .await;
}
