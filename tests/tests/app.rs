//! The command path's recovery: giving up after conflicts, a panicking `apply` (on a command's
//! own event and on a stored one); the in-memory store's head hint.

use std::sync::atomic::{AtomicBool, Ordering};

use es_core::prelude::*;
use es_core::{EventStore, NewEvent};

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Added {
    n: u64,
}

#[derive(Command, Debug, Clone)]
struct Add {
    #[id]
    id: String,
    n: u64,
}

/// Set to make the next `apply` of `Added { n: 10 }` panic half-way (after changing the state).
static PANIC_IN_APPLY: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Default, PartialEq)]
struct Counter {
    total: u64,
}

#[aggregate]
impl Counter {
    #[handle]
    fn add(&self, cmd: Add) -> Added {
        Added { n: cmd.n }
    }

    #[apply]
    fn added(&mut self, event: &Added) {
        self.total = self
            .total
            .checked_add(event.n)
            .expect("the total overflows");
        let panic_now = event.n == 10 && PANIC_IN_APPLY.swap(false, Ordering::SeqCst);
        assert!(!panic_now, "apply panics on purpose");
    }
}

fn add(n: u64) -> Add {
    Add { id: "c".into(), n }
}

#[tokio::test]
async fn giving_up_after_conflicts_leaves_the_cache_to_be_reread() {
    let store = InMemoryEventStore::new();
    let impatient = App::builder(store.clone())
        .max_retries(0)
        .aggregate::<Counter>()
        .build()
        .expect("build the app");
    let other = App::builder(store.clone())
        .aggregate::<Counter>()
        .build()
        .expect("build the app");
    impatient.send(add(1)).await.unwrap();
    other.send(add(1)).await.unwrap();
    let gave_up = impatient.send(add(1)).await.unwrap_err();
    assert!(matches!(
        gave_up,
        CommandError::TooManyConflicts { retries: 0, .. }
    ));
    let committed = impatient.send(add(1)).await.unwrap();
    assert_eq!((committed.version, committed.retries), (3, 0));
}

#[tokio::test]
async fn a_command_whose_apply_panics_stores_nothing_and_names_the_event() {
    let store = InMemoryEventStore::new();
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .build()
        .expect("build the app");
    app.send(add(1)).await.unwrap();
    PANIC_IN_APPLY.store(true, Ordering::SeqCst);
    let error = app.send(add(10)).await.unwrap_err();
    let CommandError::Store(es_core::Error::Apply {
        stream,
        version,
        event,
        source,
    }) = &error
    else {
        panic!("expected an apply error, got {error:?}");
    };
    assert_eq!(
        (stream.as_str(), *version, event.as_str()),
        (Counter::stream_name("c").as_str(), 2, "Added")
    );
    assert_eq!(source.message(), "apply panics on purpose");
    assert_eq!(
        store.len(),
        1,
        "events are applied before they are appended"
    );
    // The half-applied state was discarded: the stream is as the store holds it.
    let (state, version) = app.load::<Counter>("c").await.unwrap();
    assert_eq!((state.total, version), (1, 1));
    let committed = app.send(add(10)).await.unwrap();
    assert_eq!(committed.version, 2);
}

#[tokio::test]
async fn a_stored_event_whose_apply_panics_is_an_error_and_other_streams_keep_working() {
    let store = InMemoryEventStore::new();
    let poisoned = Counter::stream_name("p");
    // Written by a version of the code that allowed it: the total overflows on replay.
    for n in [u64::MAX, 1] {
        let payload = serde_json::to_vec(&Added { n }).unwrap();
        store
            .append(
                &poisoned,
                es_core::ExpectedVersion::Any,
                vec![NewEvent::new("Added", 1, payload)],
            )
            .await
            .unwrap();
    }
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .build()
        .expect("build the app");
    for _ in 0..2 {
        let error = app
            .send(Add {
                id: "p".into(),
                n: 1,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(
                &error,
                CommandError::Store(es_core::Error::Apply { stream, version: 2, .. })
                    if *stream == poisoned
            ),
            "expected the replay's apply error at version 2, got {error:?}"
        );
        assert!(error.to_string().contains(&poisoned), "{error}");
    }
    assert!(app.load::<Counter>("p").await.is_err());
    let committed = app.send(add(5)).await.unwrap();
    assert_eq!((committed.version, store.len()), (1, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_memory_head_never_moves_backwards() {
    for round in 0..2_000 {
        let store = InMemoryEventStore::new();
        let head = store.head();
        let appends: Vec<_> = (0..2)
            .map(|task| {
                let store = store.clone();
                tokio::spawn(async move {
                    let event = NewEvent::new("Added", 1, &b"{\"n\":1}"[..]);
                    store
                        .append(&format!("s-{task}"), ExpectedVersion::Any, vec![event])
                        .await
                        .unwrap();
                })
            })
            .collect();
        for append in appends {
            append.await.unwrap();
        }
        assert_eq!(*head.borrow(), 2, "round {round}");
    }
}

/// `cache_capacity(0)` keeps no aggregate: each command reads the stream, so another writer's
/// events cost it no conflict; with the cache, the stale copy conflicts once.
#[tokio::test]
async fn a_cache_capacity_of_zero_keeps_no_aggregate() {
    for (capacity, retries) in [(0, 0), (10, 1)] {
        let store = InMemoryEventStore::new();
        let app = App::builder(store.clone())
            .cache_capacity(capacity)
            .aggregate::<Counter>()
            .build()
            .expect("build the app");
        let other = App::builder(store)
            .aggregate::<Counter>()
            .build()
            .expect("build the app");
        app.send(add(1)).await.expect("first");
        other.send(add(2)).await.expect("another writer");
        let committed = app.send(add(3)).await.expect("second");
        assert_eq!(
            (committed.version, committed.retries),
            (3, retries),
            "capacity {capacity}"
        );
        assert_eq!(app.load::<Counter>("c").await.expect("load").0.total, 6);
    }
}
