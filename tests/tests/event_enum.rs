//! A `#[handle]` method that returns the generated event enum (`Vec<{Aggregate}Event>`, bare or
//! in a `Result`), through `App::send` and through the `TestFixture`.

use es_core::prelude::*;
use es_core::testing::TestFixture;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Reserved {
    seats: u32,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct SoldOut;

#[derive(Command, Debug, Clone)]
struct Reserve {
    #[id]
    show: String,
    seats: u32,
}

#[derive(Command, Debug, Clone)]
struct ReserveAll {
    #[id]
    show: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum BoxOffice {
    #[error("only {left} seats are left")]
    TooFew { left: u32 },
}

const SEATS: u32 = 10;

/// A show of ten seats: a reservation that takes the last ones also records `SoldOut`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Show {
    reserved: u32,
    sold_out: bool,
}

#[aggregate(error = BoxOffice)]
impl Show {
    #[handle]
    fn reserve(&self, cmd: Reserve) -> Result<Vec<ShowEvent>, BoxOffice> {
        let left = SEATS - self.reserved;
        if cmd.seats > left {
            return Err(BoxOffice::TooFew { left });
        }
        let mut events = vec![ShowEvent::Reserved(Reserved { seats: cmd.seats })];
        if cmd.seats == left {
            events.push(SoldOut.into());
        }
        Ok(events)
    }

    #[handle]
    fn reserve_all(&self, _: ReserveAll) -> Vec<ShowEvent> {
        let left = SEATS - self.reserved;
        if left == 0 {
            return Vec::new();
        }
        vec![Reserved { seats: left }.into(), SoldOut.into()]
    }

    #[apply]
    fn reserved(&mut self, event: &Reserved) {
        self.reserved += event.seats;
    }

    #[apply]
    fn sold_out(&mut self, _: &SoldOut) {
        self.sold_out = true;
    }
}

fn reserve(seats: u32) -> Reserve {
    Reserve {
        show: "s".into(),
        seats,
    }
}

#[tokio::test]
async fn a_handler_returning_the_event_enum_is_sent_through_the_app() {
    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Show>()
        .build()
        .expect("build the app");
    let committed = app.send(reserve(4)).await.expect("send");
    assert_eq!(committed.events, [Reserved { seats: 4 }.into()]);
    let refused = app.send(reserve(7)).await.expect_err("too few seats");
    assert_eq!(refused.rejection(), Some(&BoxOffice::TooFew { left: 6 }));
    let committed = app.send(reserve(6)).await.expect("send");
    assert_eq!(
        (committed.events, committed.version),
        (vec![Reserved { seats: 6 }.into(), SoldOut.into()], 3)
    );
    let committed = app
        .send(ReserveAll { show: "s".into() })
        .await
        .expect("send");
    assert_eq!((committed.events, committed.version), (vec![], 3));
    let (show, _) = app.load::<Show>("s").await.expect("load");
    assert_eq!((show.reserved, show.sold_out), (10, true));
}

#[tokio::test]
async fn a_handler_returning_the_event_enum_is_tested_with_the_fixture() {
    let show = TestFixture::<Show>::new()
        .given(vec![ShowEvent::Reserved(Reserved { seats: 3 })])
        .when(ReserveAll { show: "s".into() })
        .await
        .then_expect_events(vec![
            ShowEvent::Reserved(Reserved { seats: 7 }),
            ShowEvent::SoldOut(SoldOut),
        ]);
    assert_eq!((show.reserved, show.sold_out), (10, true));

    TestFixture::<Show>::new()
        .given(Reserved { seats: 3 })
        .when(reserve(2))
        .await
        .then_expect_events(Reserved { seats: 2 });

    TestFixture::<Show>::new()
        .given(Reserved { seats: 9 })
        .when(reserve(2))
        .await
        .then_expect_error(BoxOffice::TooFew { left: 1 });
}
