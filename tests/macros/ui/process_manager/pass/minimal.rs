//! The smallest process manager: no options (its name is the type's, in kebab-case), plain
//! methods returning `Steps`, one each of `#[on]`, `#[refused]` and `#[deadline]`, run by a
//! `ProcessRunner` to the end.

use std::time::Duration;

use es_core::prelude::*;
use es_core::process::{ManualClock, ProcessManager};
use es_core::record::Timestamp;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct OrderPlaced {
    pub order: String,
    pub items: u64,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct OrderShipped {
    pub order: String,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct OrderCancelled {
    pub order: String,
}

#[derive(Command, Debug, Clone)]
pub struct Place {
    #[id]
    pub order: String,
    pub items: u64,
}

#[derive(Command, Debug, Clone)]
pub struct Ship {
    #[id]
    pub order: String,
}

#[derive(Command, Debug, Clone)]
pub struct Cancel {
    #[id]
    pub order: String,
}

#[derive(Debug, thiserror::Error)]
#[error("nothing to ship")]
pub struct Empty;

#[derive(Default, Debug, Clone)]
pub struct Order {
    items: u64,
    shipped: bool,
    cancelled: bool,
}

#[aggregate(error = Empty)]
impl Order {
    #[handle]
    fn place(&self, cmd: Place) -> OrderPlaced {
        OrderPlaced { order: cmd.order, items: cmd.items }
    }

    #[handle]
    fn ship(&self, cmd: Ship) -> Result<OrderShipped, Empty> {
        if self.items == 0 {
            return Err(Empty);
        }
        Ok(OrderShipped { order: cmd.order })
    }

    #[handle]
    fn cancel(&self, cmd: Cancel) -> OrderCancelled {
        OrderCancelled { order: cmd.order }
    }

    #[apply]
    fn placed(&mut self, e: &OrderPlaced) {
        self.items = e.items;
    }

    #[apply]
    fn shipped(&mut self, _: &OrderShipped) {
        self.shipped = true;
    }

    #[apply]
    fn cancelled(&mut self, _: &OrderCancelled) {
        self.cancelled = true;
    }
}

/// Ships small orders at once; cancels an order that cannot ship, or a large one nobody
/// shipped within a minute.
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct OrderFulfilment {
    order: String,
}

#[process_manager]
impl OrderFulfilment {
    #[on(key = order)]
    fn placed(&mut self, e: &OrderPlaced) -> Steps {
        self.order.clone_from(&e.order);
        let steps = Steps::new().deadline_in("overdue", Duration::from_secs(60));
        if e.items > 10 {
            return steps;
        }
        steps.send(Ship { order: e.order.clone() })
    }

    #[on(key = order)]
    fn shipped(&mut self, _: &OrderShipped) -> Steps {
        Steps::new().cancel_deadline("overdue").done()
    }

    #[refused]
    fn not_shipped(&mut self, _cmd: &Ship, _error: &Empty) -> Steps {
        Steps::new()
            .cancel_deadline("overdue")
            .send(Cancel { order: self.order.clone() })
            .done()
    }

    #[deadline]
    fn overdue(&mut self) -> Steps {
        Steps::new().send(Cancel { order: self.order.clone() }).done()
    }
}

async fn settle(runner: &mut ProcessRunner<OrderFulfilment, InMemoryEventStore>) {
    for _ in 0..10 {
        let progress = runner.run_once().await.unwrap();
        assert!(progress.leading);
        if progress.events == 0 && progress.deadlines == 0 {
            return;
        }
    }
    panic!("the process kept finding work");
}

async fn order(app: &App<InMemoryEventStore>, id: &str) -> Order {
    app.load::<Order>(id).await.unwrap().0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(OrderFulfilment::NAME, "order-fulfilment");
    assert_eq!(OrderFulfilment::HANDLES, ["OrderPlaced", "OrderShipped"]);

    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Order>()
        .build()
        .unwrap();
    let clock = ManualClock::new(Timestamp(1_000_000_000_000));
    let mut runner =
        ProcessRunner::<OrderFulfilment, _>::new(app.clone(), ()).clock(clock.clone());
    for (id, items) in [("small", 2), ("empty", 0), ("large", 50)] {
        app.send(Place { order: id.into(), items }).await.unwrap();
    }
    settle(&mut runner).await;
    let small = order(&app, "small").await;
    assert!(small.shipped && !small.cancelled);
    let empty = order(&app, "empty").await;
    assert!(!empty.shipped && empty.cancelled, "a refused shipment cancels the order");
    assert!(!order(&app, "large").await.cancelled);

    clock.advance(Duration::from_secs(61));
    settle(&mut runner).await;
    assert!(order(&app, "large").await.cancelled, "the deadline cancels the order");
    assert!(!order(&app, "small").await.cancelled, "a shipped order's deadline is cancelled");
}
