//! The store conformance suite on [`InMemoryEventStore`], directly and behind
//! `Arc<dyn DynEventStore>`.

use std::sync::Arc;

use es_core::testing::conformance;
use es_core::{DynEventStore, InMemoryEventStore};

es_core::conformance_tests!(memory, async { InMemoryEventStore::new() });

/// Two handles on one in-memory store are two instances of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_see_each_other() {
    let store = InMemoryEventStore::new();
    conformance::two_instances_see_each_other(&store, &store.clone()).await;
    let shared: Arc<dyn DynEventStore> = Arc::new(store);
    conformance::two_instances_see_each_other(&shared, &Arc::clone(&shared)).await;
}

/// Every case, in sequence, on one store shared with another run of them at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_concurrently_on_one_store() {
    let store = InMemoryEventStore::new();
    let dyn_store: Arc<dyn DynEventStore> = Arc::new(store.clone());
    tokio::join!(
        conformance::run_all(&store),
        conformance::run_all(&dyn_store)
    );
}
