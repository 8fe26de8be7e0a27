//! Projections hosted by the app, on every store: inline read models see a command's effect at
//! once and catch up from an existing log; events a projection does not handle are never
//! decoded; a failing handler stops at its event and resumes there; background projections
//! follow the log, resume from their checkpoint when durable, and serve read-your-writes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use es_core::prelude::*;
use es_core::{Error, NewEvent};

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Added {
    amount: u64,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Noted {
    text: String,
}

#[derive(Command, Debug, Clone)]
struct Add {
    #[id]
    counter: String,
    amount: u64,
}

#[derive(Command, Debug, Clone)]
struct Note {
    #[id]
    counter: String,
    text: String,
}

#[derive(Debug, Clone, Default)]
struct Counter;

#[aggregate]
impl Counter {
    #[handle]
    fn add(&self, cmd: Add) -> Added {
        Added { amount: cmd.amount }
    }

    #[handle]
    fn note(&self, cmd: Note) -> Noted {
        Noted { text: cmd.text }
    }

    #[apply]
    fn added(&mut self, _: &Added) {}

    #[apply]
    fn noted(&mut self, _: &Noted) {}
}

/// Sums every `Added`; handles no `Noted`.
#[derive(Debug, Default)]
struct Totals {
    total: u64,
    events: u64,
    /// Positions seen, to prove global order and exactly-once.
    positions: Vec<u64>,
}

#[derive(Debug)]
struct GetTotal;

#[derive(Debug)]
struct GetPositions;

#[projection(name = "totals")]
impl Totals {
    #[on]
    fn added(&mut self, event: &Added, meta: &EventMeta<'_>) {
        self.total += event.amount;
        self.events += 1;
        self.positions.push(meta.position());
    }

    #[query]
    fn total(&self, _: GetTotal) -> (u64, u64) {
        (self.total, self.events)
    }

    #[query]
    fn positions(&self, _: GetPositions) -> Vec<u64> {
        self.positions.clone()
    }
}

/// Fails on amounts of 13 while `FAIL` is set; durable, with a side effect it records.
#[derive(Debug, Default)]
struct Picky {
    seen: Arc<Mutex<Vec<u64>>>,
    fail: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("13 is unlucky")]
struct Unlucky;

#[derive(Debug)]
struct Seen;

#[projection(name = "picky", durable)]
impl Picky {
    #[on]
    fn added(&mut self, event: &Added) -> Result<(), Unlucky> {
        if event.amount == 13 && self.fail.load(Ordering::SeqCst) {
            return Err(Unlucky);
        }
        self.seen.lock().expect("lock").push(event.amount);
        Ok(())
    }

    #[query]
    fn seen(&self, _: Seen) -> Vec<u64> {
        self.seen.lock().expect("lock").clone()
    }
}

/// Keeps the first byte of every note, and so panics (index out of bounds) on an empty one.
#[derive(Debug, Default)]
struct Initials {
    initials: Vec<u8>,
}

#[derive(Debug)]
struct GetInitials;

#[projection]
impl Initials {
    #[on]
    fn noted(&mut self, event: &Noted) {
        self.initials.push(event.text.as_bytes()[0]);
    }

    #[query]
    fn initials(&self, _: GetInitials) -> Vec<u8> {
        self.initials.clone()
    }
}

/// Counts `Added` events, skipping those of a newer schema version.
#[derive(Debug, Default)]
struct Lenient {
    events: u64,
}

#[derive(Debug)]
struct LenientCount;

#[projection(skip_newer)]
impl Lenient {
    #[on]
    fn added(&mut self, _: &Added) {
        self.events += 1;
    }

    #[query]
    fn count(&self, _: LenientCount) -> u64 {
        self.events
    }
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Opened;

#[derive(Command, Debug, Clone)]
struct Open {
    #[id]
    account: String,
}

/// Decided without recording anything.
#[derive(Command, Debug, Clone)]
struct Look {
    #[id]
    account: String,
}

/// An aggregate whose name has a dash, as its ids may.
#[derive(Debug, Clone, Default)]
struct SavingsAccount;

#[aggregate(name = "savings-account")]
impl SavingsAccount {
    #[handle]
    fn open(&self, _: Open) -> Opened {
        Opened
    }

    #[handle]
    fn look(&self, _: Look) {}

    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

/// What `EventMeta` says of each event's aggregate: (aggregate id, stream, aggregate name).
#[derive(Debug, Default)]
struct Ids {
    seen: Vec<(String, String, Option<&'static str>)>,
}

#[derive(Debug)]
struct GetIds;

#[projection]
impl Ids {
    #[on]
    fn opened(&mut self, _: &Opened, meta: &EventMeta<'_>) {
        self.push(meta);
    }

    #[on]
    fn added(&mut self, _: &Added, meta: &EventMeta<'_>) {
        self.push(meta);
    }

    #[query]
    fn ids(&self, _: GetIds) -> Vec<(String, String, Option<&'static str>)> {
        self.seen.clone()
    }
}

impl Ids {
    fn push(&mut self, meta: &EventMeta<'_>) {
        self.seen.push((
            meta.aggregate_id().to_owned(),
            meta.stream().to_owned(),
            meta.aggregate(),
        ));
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

fn fresh_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

fn note(counter: &str, text: &str) -> Note {
    Note {
        counter: counter.to_owned(),
        text: text.to_owned(),
    }
}

fn add(counter: &str, amount: u64) -> Add {
    Add {
        counter: counter.to_owned(),
        amount,
    }
}

/// The positions of our own `Added` events, from the store.
async fn added_positions<S: EventStore>(store: &S) -> Vec<u64> {
    let mut positions = Vec::new();
    let mut after = 0;
    loop {
        let batch = store.read_all(after, 1000).await.expect("read_all");
        let Some(last) = batch.last() else {
            return positions;
        };
        after = last.position;
        positions.extend(
            batch
                .iter()
                .filter(|record| &*record.name == "Added")
                .map(|record| record.position),
        );
    }
}

async fn inline_projection_sees_each_command<S: EventStore + Clone>(store: S) {
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .projection(Totals::default())
        .build()
        .expect("build the app");
    let before = app.query(GetTotal).await.expect("query").0;
    let id = fresh_id("inline");
    for amount in 1..=5 {
        app.send(add(&id, amount)).await.expect("send");
        let (total, _) = app.query(GetTotal).await.expect("query");
        assert_eq!(
            total - before,
            (1..=amount).sum::<u64>(),
            "a query right after send sees it"
        );
    }
    app.send(Note {
        counter: id.clone(),
        text: "not handled".into(),
    })
    .await
    .expect("send");

    // Concurrent commands from 8 tasks: every event applied once, in global order.
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let app = app.clone();
            tokio::spawn(async move {
                let id = fresh_id(&format!("task{task}"));
                for _ in 0..25 {
                    app.send(add(&id, 1)).await.expect("send");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let positions = app.query(GetPositions).await.expect("query");
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "global order, nothing twice"
    );
    assert_eq!(positions, added_positions(&store).await, "nothing missed");

    // A second app on the same store starts empty and catches up from the log.
    let later = App::builder(store.clone())
        .aggregate::<Counter>()
        .projection(Totals::default())
        .build()
        .expect("build the app");
    let caught_up = later.query(GetPositions).await.expect("query");
    assert_eq!(caught_up, positions, "a new app catches up from the start");
}

async fn unhandled_events_are_not_decoded<S: EventStore + Clone>(store: S) {
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .projection(Totals::default())
        .build()
        .expect("build the app");
    let (before, _) = app.query(GetTotal).await.expect("query");
    let id = fresh_id("garbled");
    let stream = Counter::stream_name(&id);
    // A `Noted` whose payload no decoder accepts: the projection never looks at it.
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![
                NewEvent::new("Noted", 1, "{garbage"),
                NewEvent::new("SomethingElse", 1, "not json at all"),
                NewEvent::new("Added", 1, r#"{"amount":7}"#),
            ],
        )
        .await
        .expect("append");
    let (after, _) = app.query(GetTotal).await.expect("query");
    assert_eq!(after - before, 7);

    // A handled event that does not decode stops the projection there, naming it.
    store
        .append(
            &stream,
            ExpectedVersion::Exact(3),
            vec![
                NewEvent::new("Added", 1, r#"{"amount":"seven"}"#),
                NewEvent::new("Added", 1, r#"{"amount":1}"#),
            ],
        )
        .await
        .expect("append");
    let error = app.query(GetTotal).await.expect_err("a broken event");
    let text = error.to_string();
    assert!(
        text.contains(&format!("version 4 of stream `{stream}`")) && text.contains("Added"),
        "{text}"
    );
    assert!(matches!(error, QueryError::Store(Error::Decode { .. })));
    let stuck = app.projection_position::<Totals>().expect("hosted");
    let broken = store.read_stream(&stream, 4, 1).await.expect("read")[0].position;
    assert_eq!(
        stuck,
        broken - 1,
        "the projection stays before the failing event"
    );
}

async fn newer_schema_versions_stop_or_skip<S: EventStore + Clone>(store: S) {
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .projection(Totals::default())
        .projection(Lenient::default())
        .build()
        .expect("build the app");
    let before = app.query(LenientCount).await.expect("query");
    let id = fresh_id("newer");
    let stream = Counter::stream_name(&id);
    let events = vec![
        NewEvent::new("Added", 1, r#"{"amount":1}"#),
        NewEvent::new("Added", 2, r#"{"amount":2,"currency":"EUR"}"#),
        NewEvent::new("Added", 1, r#"{"amount":3}"#),
    ];
    store
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .expect("append");
    assert_eq!(
        app.query(LenientCount)
            .await
            .expect("skips the newer event")
            - before,
        2
    );
    let error = app
        .query(GetTotal)
        .await
        .expect_err("stops at the newer event");
    assert!(
        matches!(
            &error,
            QueryError::Store(Error::FutureSchema {
                schema_version: 2,
                supported: 1,
                version: 2,
                ..
            })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains(&stream), "{error}");
}

async fn failing_handler_stops_and_resumes<S: EventStore + Clone>(store: S) {
    let picky = Picky::default();
    picky.fail.store(true, Ordering::SeqCst);
    let (seen, fail) = (Arc::clone(&picky.seen), Arc::clone(&picky.fail));
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .projection(picky)
        .build()
        .expect("build the app");
    // The projection is durable: rebuild resets its checkpoint (another test may share the
    // store), then it follows this app's commands.
    app.rebuild(
        Picky {
            seen: Arc::clone(&seen),
            fail: Arc::clone(&fail),
        },
        |_| {},
    )
    .await
    .expect("rebuild");
    seen.lock().expect("lock").clear();
    let id = fresh_id("picky");
    for amount in [1, 13, 2] {
        app.send(add(&id, amount))
            .await
            .expect("a failing projection never fails the command");
    }
    let error = app.query(Seen).await.expect_err("stopped at 13");
    assert!(
        matches!(
            &error,
            QueryError::Store(Error::Projection {
                projection: "picky",
                version: 2,
                ..
            })
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains(&Counter::stream_name(&id)),
        "{error}"
    );
    assert_eq!(
        *seen.lock().expect("lock"),
        [1],
        "nothing after the failing event"
    );
    fail.store(false, Ordering::SeqCst);
    assert_eq!(
        app.query(Seen).await.expect("resumed"),
        [1, 13, 2],
        "resumes at the event"
    );
}

/// Waits (up to 30 s) until the stored checkpoint of projection `name` is one `reached` accepts:
/// a background projection stores it after its run.
async fn wait_for_checkpoint<S: EventStore>(store: &S, name: &str, reached: impl Fn(u64) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let at = store.load_checkpoint(name).await.expect("checkpoint");
        if reached(at) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the checkpoint of `{name}` stayed at {at}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A durable background projection that fails in the middle of a batch read from the store
/// stores the checkpoint of the events it applied before the failing one: a new app resumes at
/// that event, without applying (and repeating the side effects of) the ones before it.
async fn failing_handler_keeps_the_checkpoint_before_it<S: EventStore + Clone>(store: S) {
    let id = fresh_id("picky-batch");
    let writer = App::builder(store.clone())
        .aggregate::<Counter>()
        .build()
        .expect("build the app");
    let mut positions = Vec::new();
    for amount in [1, 2, 13, 3] {
        positions.push(writer.send(add(&id, amount)).await.expect("send").position);
    }
    {
        let picky = Picky::default();
        picky.fail.store(true, Ordering::SeqCst);
        let app = App::builder(store.clone())
            .aggregate::<Counter>()
            .background_projection(picky)
            .build()
            .expect("build the app");
        let seen = app
            .query_at(Seen, positions[1], Duration::from_secs(30))
            .await
            .expect("the events before 13");
        assert_eq!(seen, [1, 2]);
        wait_for_checkpoint(&store, "picky", |at| at == positions[1]).await;
    }
    let again = Picky::default();
    let seen_again = Arc::clone(&again.seen);
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .background_projection(again)
        .build()
        .expect("build the app");
    app.query_at(Seen, positions[3], Duration::from_secs(30))
        .await
        .expect("resumed");
    assert_eq!(
        *seen_again.lock().expect("lock"),
        [13, 3],
        "resumed at the failing event"
    );
}

/// A panic in an `#[on]` method is an error naming the event, for inline and background
/// projections alike; the command stands, the projection stays before the event, and the other
/// projections keep working.
async fn panicking_handler_is_an_error_naming_the_event<S: EventStore + Clone>(store: S) {
    let id = fresh_id("initials");
    let stream = Counter::stream_name(&id);
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .projection(Totals::default())
        .projection(Initials::default())
        .build()
        .expect("build the app");
    app.send(note(&id, "first")).await.expect("send");
    let committed = app.send(note(&id, "")).await.expect("the command stands");
    let position = committed.position;
    let error = app
        .query(GetInitials)
        .await
        .expect_err("the handler panicked");
    let QueryError::Store(Error::Projection {
        projection,
        stream: named,
        version,
        source,
        ..
    }) = &error
    else {
        panic!("expected a projection error, got {error:?}");
    };
    assert_eq!(
        (*projection, named.as_str(), *version),
        ("initials", stream.as_str(), 2)
    );
    assert!(
        source.to_string().contains("index out of bounds"),
        "{source}"
    );
    assert_eq!(
        app.projection_position::<Initials>().expect("hosted"),
        position - 1,
        "the projection stays before the event"
    );
    app.query(GetTotal)
        .await
        .expect("other projections keep working");

    let background = App::builder(store.clone())
        .aggregate::<Counter>()
        .background_projection(Initials::default())
        .build()
        .expect("build the app");
    let error = background
        .query_at(GetInitials, position, Duration::from_millis(300))
        .await
        .expect_err("stopped at the event");
    assert!(
        matches!(&error, QueryError::Timeout { failure: Some(failure), .. }
            if failure.contains(&stream) && failure.contains("index out of bounds")),
        "{error:?}"
    );
}

async fn background_projection_follows_and_resumes<S: EventStore + Clone>(store: S) {
    let picky = Picky::default();
    let seen = Arc::clone(&picky.seen);
    let id = fresh_id("background");
    {
        let app = App::builder(store.clone())
            .aggregate::<Counter>()
            .background_projection(picky)
            .build()
            .expect("build the app");
        app.rebuild(
            Picky {
                seen: Arc::clone(&seen),
                ..Picky::default()
            },
            |_| {},
        )
        .await
        .expect("rebuild");
        let mut last = 0;
        for amount in 1..=3 {
            last = app.send(add(&id, amount)).await.expect("send").position;
        }
        let read = app
            .query_at(Seen, last, Duration::from_secs(30))
            .await
            .expect("read your writes");
        assert_eq!(read[read.len() - 3..], [1, 2, 3]);
        // Let the checkpoint of that position be saved.
        wait_for_checkpoint(&store, "picky", |at| at >= last).await;
    }
    // A new app resumes from the checkpoint: the durable side effects are not repeated.
    let again = Picky::default();
    let seen_again = Arc::clone(&again.seen);
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .background_projection(again)
        .build()
        .expect("build the app");
    let last = app.send(add(&id, 4)).await.expect("send").position;
    app.query_at(Seen, last, Duration::from_secs(30))
        .await
        .expect("read your writes");
    assert_eq!(
        *seen_again.lock().expect("lock"),
        [4],
        "resumed after the checkpoint"
    );

    let timeout = app
        .query_at(Seen, u64::MAX, Duration::from_millis(50))
        .await
        .expect_err("a position never reached");
    assert!(
        matches!(
            timeout,
            QueryError::Timeout {
                projection: "picky",
                ..
            }
        ),
        "{timeout}"
    );
}

#[tokio::test]
async fn event_meta_gives_the_aggregate_id_whatever_its_dashes() {
    let store = InMemoryEventStore::new();
    // Stored before the app exists: read back from the store, not taken from a command.
    store
        .append(
            "savings-account-eu-1-x",
            ExpectedVersion::NoStream,
            vec![NewEvent::new("Opened", 1, "null")],
        )
        .await
        .expect("append");
    // An event of a registered aggregate in a stream of another shape: no prefix to take off.
    store
        .append(
            "elsewhere",
            ExpectedVersion::NoStream,
            vec![NewEvent::new("Added", 1, r#"{"amount":1}"#)],
        )
        .await
        .expect("append");
    let app = App::builder(store.clone())
        .aggregate::<Counter>()
        .aggregate::<SavingsAccount>()
        .projection(Ids::default())
        .build()
        .expect("build the app");
    app.send(Open {
        account: "a-b-c".into(),
    })
    .await
    .expect("send");
    app.send(add("counter-2", 1)).await.expect("send");
    let owned = |id: &str, stream: &str, aggregate| (id.to_owned(), stream.to_owned(), aggregate);
    assert_eq!(
        app.query(GetIds).await.expect("query"),
        [
            owned("eu-1-x", "savings-account-eu-1-x", Some("savings-account")),
            owned("elsewhere", "elsewhere", Some("counter")),
            owned("a-b-c", "savings-account-a-b-c", Some("savings-account")),
            owned("counter-2", "counter-counter-2", Some("counter")),
        ]
    );

    // An app that does not register the aggregate cannot tell its prefix: the whole stream.
    let projector = App::builder(store)
        .aggregate::<Counter>()
        .projection(Ids::default())
        .build()
        .expect("build the app");
    let ids = projector.query(GetIds).await.expect("query");
    assert_eq!(
        ids[2],
        owned("savings-account-a-b-c", "savings-account-a-b-c", None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_at_takes_the_committed_position_as_it_is() {
    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Counter>()
        .aggregate::<SavingsAccount>()
        .background_projection(Totals::default())
        .build()
        .expect("build the app");
    let committed = app.send(add("mine", 5)).await.expect("send");
    assert_eq!(committed.position, 1, "the position of the event appended");
    let (total, _) = app
        .query_at(GetTotal, committed.position, Duration::from_secs(30))
        .await
        .expect("read your writes");
    assert_eq!(total, 5);

    let nothing = app
        .send(Look {
            account: "mine".into(),
        })
        .await
        .expect("send");
    assert_eq!((nothing.events.len(), nothing.position), (0, 0));
    app.query_at(GetTotal, nothing.position, Duration::ZERO)
        .await
        .expect("position 0 is reached at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_without_its_projection_is_refused() {
    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Counter>()
        .build()
        .expect("build the app");
    let error = app.query(GetTotal).await.expect_err("not hosted");
    assert!(matches!(
        error,
        QueryError::NotRegistered {
            projection: "totals",
            ..
        }
    ));
    assert!(error.to_string().contains(".projection(..)"), "{error}");
}

macro_rules! on_every_store {
    ($($case:ident),*) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(InMemoryEventStore::new()).await;
                }
            )*
        }
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    let store = SqliteEventStore::open(dir.path().join("events.db"))
                        .await
                        .expect("open");
                    super::$case(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some((store, _, _)) =
                        super::postgres_support::store(stringify!($case)).await
                    else {
                        return;
                    };
                    super::$case(store).await;
                }
            )*
        }
    };
}

on_every_store!(
    inline_projection_sees_each_command,
    unhandled_events_are_not_decoded,
    newer_schema_versions_stop_or_skip,
    failing_handler_stops_and_resumes,
    failing_handler_keeps_the_checkpoint_before_it,
    panicking_handler_is_an_error_naming_the_event,
    background_projection_follows_and_resumes
);

mod postgres_support;
