//! The command path's recovery: giving up after conflicts, a panicking `apply`; the in-memory
//! store's head hint.

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
        self.total += event.n;
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
        .build();
    let other = App::builder(store.clone()).aggregate::<Counter>().build();
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
async fn a_panicking_apply_does_not_corrupt_the_cached_state() {
    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Counter>()
        .build();
    app.send(add(1)).await.unwrap();
    PANIC_IN_APPLY.store(true, Ordering::SeqCst);
    let panicking = app.clone();
    let joined = tokio::spawn(async move { panicking.send(add(10)).await }).await;
    assert!(joined.is_err(), "the send must have panicked");
    // The append committed before `apply` panicked: the state is rebuilt, not re-applied.
    let (state, version) = app.load::<Counter>("c").await.unwrap();
    assert_eq!((state.total, version), (11, 2));
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
