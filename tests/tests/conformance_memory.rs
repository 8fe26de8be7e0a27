//! The store conformance suite on [`InMemoryEventStore`], directly and behind
//! `AnyEventStore`.

use std::future::{Ready, ready};

use es_core::testing::conformance::{self, StalledAppend};
use es_core::{
    AnyEventStore, AppendResult, Error, EventStore, ExpectedVersion, InMemoryEventStore, NewEvent,
};

// Two handles on one in-memory store are two instances of it.
es_core::conformance_tests!(
    memory,
    async { InMemoryEventStore::new() },
    |first: &InMemoryEventStore| ready(first.clone()),
);

/// Every case, in sequence, on one store shared with another run of them at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_concurrently_on_one_store() {
    let store = InMemoryEventStore::new();
    let dyn_store = AnyEventStore::new(store.clone());
    tokio::join!(
        conformance::run_all(&store),
        conformance::run_all(&dyn_store)
    );
}

/// An append held open: the in-memory store takes its positions at commit, so holding it is
/// just not appending yet.
struct Held<S> {
    store: S,
    stream: String,
    events: Vec<NewEvent>,
}

impl<S: EventStore + Clone> StalledAppend for Held<S> {
    async fn commit(self) -> Result<AppendResult, Error> {
        let expected = ExpectedVersion::NoStream;
        self.store.append(&self.stream, expected, self.events).await
    }

    async fn roll_back(self) -> Result<(), Error> {
        Ok(())
    }
}

fn hold<S: EventStore + Clone>(store: &S) -> impl FnOnce(String, Vec<NewEvent>) -> Ready<Held<S>> {
    let store = store.clone();
    move |stream, events| {
        ready(Held {
            store,
            stream,
            events,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gap_race() {
    let store = InMemoryEventStore::new();
    conformance::gap_race(&store, hold(&store)).await;
    let shared = AnyEventStore::new(store);
    conformance::gap_race(&shared, hold(&shared)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_append() {
    let store = InMemoryEventStore::new();
    conformance::rolled_back_append(&store, hold(&store)).await;
    let shared = AnyEventStore::new(store);
    conformance::rolled_back_append(&shared, hold(&shared)).await;
}

// The `optional` form: a factory that gives no store skips every case.
es_core::conformance_tests!(absent, optional async { None::<InMemoryEventStore> });
