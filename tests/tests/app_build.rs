//! `AppBuilder::build` refuses registrations that would break each other, naming the Rust
//! types involved: two aggregates recording one event name or having one name, an aggregate or
//! a projection registered twice, two projections with one name.

use std::any::type_name;

use es_core::BuildError;
use es_core::prelude::*;

/// A counter whose event is stored as `Added`.
mod counter {
    use es_core::prelude::*;

    #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
    pub(crate) struct Added {
        pub(crate) n: u64,
    }

    #[derive(Command, Debug, Clone)]
    pub(crate) struct Add {
        #[id]
        pub(crate) id: String,
        pub(crate) n: u64,
    }

    #[derive(Debug, Default)]
    pub(crate) struct Counter;

    #[aggregate]
    impl Counter {
        #[handle]
        fn add(&self, cmd: Add) -> Added {
            Added { n: cmd.n }
        }

        #[apply]
        fn added(&mut self, _: &Added) {}
    }
}

/// A cart whose own event is stored as `Added` too.
mod cart {
    use es_core::prelude::*;

    #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
    pub(crate) struct Added {
        pub(crate) item: String,
    }

    #[derive(Command, Debug, Clone)]
    pub(crate) struct AddItem {
        #[id]
        pub(crate) cart: String,
        pub(crate) item: String,
    }

    #[derive(Debug, Default)]
    pub(crate) struct Cart;

    #[aggregate]
    impl Cart {
        #[handle]
        fn add(&self, cmd: AddItem) -> Added {
            Added { item: cmd.item }
        }

        #[apply]
        fn added(&mut self, _: &Added) {}
    }
}

/// A tally named `counter`, as `counter::Counter` is by default; its event has another name.
mod tally {
    use es_core::prelude::*;

    #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
    pub(crate) struct Counted;

    #[derive(Command, Debug, Clone)]
    pub(crate) struct Count {
        #[id]
        pub(crate) id: String,
    }

    #[derive(Debug, Default)]
    pub(crate) struct Tally;

    #[aggregate(name = "counter")]
    impl Tally {
        #[handle]
        fn count(&self, _: Count) -> Counted {
            Counted
        }

        #[apply]
        fn counted(&mut self, _: &Counted) {}
    }
}

#[derive(Debug, Default)]
struct Totals;

#[projection(name = "totals")]
impl Totals {
    #[on]
    fn added(&mut self, _: &counter::Added) {}
}

/// Another projection that takes the name `totals`.
#[derive(Debug, Default)]
struct Sums;

#[projection(name = "totals")]
impl Sums {
    #[on]
    fn added(&mut self, _: &counter::Added) {}
}

fn refused<S: EventStore>(built: Result<App<S>, BuildError>) -> (BuildError, String) {
    let error = built.expect_err("the build is refused");
    let message = error.to_string();
    (error, message)
}

#[test]
fn two_aggregates_recording_one_event_name_are_refused() {
    let (error, message) = refused(
        App::builder(InMemoryEventStore::new())
            .aggregate::<counter::Counter>()
            .aggregate::<cart::Cart>()
            .build(),
    );
    assert!(
        matches!(error, BuildError::SharedEventName { event: "Added", .. }),
        "{error:?}"
    );
    for type_name in [type_name::<counter::Counter>(), type_name::<cart::Cart>()] {
        assert!(message.contains(type_name), "`{type_name}` in: {message}");
    }
}

#[test]
fn two_aggregates_with_one_name_are_refused() {
    let (error, message) = refused(
        App::builder(InMemoryEventStore::new())
            .aggregate::<counter::Counter>()
            .aggregate::<tally::Tally>()
            .build(),
    );
    assert!(
        matches!(
            error,
            BuildError::SharedAggregateName {
                name: "counter",
                ..
            }
        ),
        "{error:?}"
    );
    for type_name in [type_name::<counter::Counter>(), type_name::<tally::Tally>()] {
        assert!(message.contains(type_name), "`{type_name}` in: {message}");
    }
}

#[test]
fn an_aggregate_registered_twice_is_refused() {
    let (error, message) = refused(
        App::builder(InMemoryEventStore::new())
            .aggregate::<counter::Counter>()
            .aggregate::<counter::Counter>()
            .build(),
    );
    // Reported as registered twice, not as sharing its names with itself.
    let counter = type_name::<counter::Counter>();
    assert_eq!(error, BuildError::DuplicateAggregate { aggregate: counter });
    assert!(message.contains(counter), "`{counter}` in: {message}");
}

#[test]
fn a_projection_registered_twice_is_refused() {
    let (error, message) = refused(
        App::builder(InMemoryEventStore::new())
            .aggregate::<counter::Counter>()
            .projection(Totals)
            .projection(Totals)
            .build(),
    );
    let totals = type_name::<Totals>();
    assert_eq!(
        error,
        BuildError::DuplicateProjection { projection: totals }
    );
    assert!(message.contains(totals), "`{totals}` in: {message}");
}

#[tokio::test]
async fn a_projection_registered_inline_and_in_the_background_is_refused() {
    let (error, _) = refused(
        App::builder(InMemoryEventStore::new())
            .projection(Totals)
            .background_projection(Totals)
            .build(),
    );
    assert!(
        matches!(error, BuildError::DuplicateProjection { .. }),
        "{error:?}"
    );
}

#[test]
fn two_projections_with_one_name_are_refused() {
    let (error, message) = refused(
        App::builder(InMemoryEventStore::new())
            .projection(Totals)
            .projection(Sums)
            .build(),
    );
    assert!(
        matches!(
            error,
            BuildError::SharedProjectionName { name: "totals", .. }
        ),
        "{error:?}"
    );
    for type_name in [type_name::<Totals>(), type_name::<Sums>()] {
        assert!(message.contains(type_name), "`{type_name}` in: {message}");
    }
}

#[tokio::test]
async fn distinct_registrations_build() {
    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<cart::Cart>()
        .aggregate::<tally::Tally>()
        .projection(Totals)
        .build()
        .expect("build the app");
    app.send(tally::Count { id: "t".into() })
        .await
        .expect("send");
}
