//! An `async` handler that takes the aggregate's services as its second argument.

use std::sync::atomic::{AtomicU64, Ordering};

use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Priced {
    pub cents: u64,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Stamped {
    pub at: u64,
}

#[derive(Command, Clone)]
pub struct Price {
    #[id]
    pub order: String,
    pub items: u64,
}

#[derive(Command, Clone)]
pub struct Stamp {
    #[id]
    pub order: String,
}

/// What handlers use besides the state.
#[derive(Default)]
pub struct Services {
    pub unit_cents: u64,
    pub clock: AtomicU64,
}

impl Services {
    async fn quote(&self, items: u64) -> u64 {
        tokio::task::yield_now().await;
        items * self.unit_cents
    }
}

#[derive(Debug, thiserror::Error)]
#[error("nothing to price")]
pub struct Empty;

#[derive(Default)]
pub struct Order {
    total: u64,
    stamps: Vec<u64>,
}

#[aggregate(services = Services, error = Empty)]
impl Order {
    #[handle]
    async fn price(&self, cmd: Price, services: &Services) -> Result<Priced, Empty> {
        if cmd.items == 0 {
            return Err(Empty);
        }
        Ok(Priced { cents: services.quote(cmd.items).await })
    }

    #[handle]
    fn stamp(&self, _cmd: Stamp, services: &Services) -> Stamped {
        Stamped { at: services.clock.fetch_add(1, Ordering::SeqCst) }
    }

    #[apply]
    fn priced(&mut self, e: &Priced) {
        self.total += e.cents;
    }

    #[apply]
    fn stamped(&mut self, e: &Stamped) {
        self.stamps.push(e.at);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let services = Services { unit_cents: 250, clock: AtomicU64::new(10) };
    let order = Order::default();
    let events = order
        .handle(Price { order: "o".into(), items: 2 }.into(), &services)
        .await
        .unwrap();
    assert_eq!(events, vec![OrderEvent::Priced(Priced { cents: 500 })]);

    let app = App::builder(InMemoryEventStore::new())
        .aggregate_with::<Order>(services)
        .build().expect("build the app");
    let committed = app.send(Price { order: "o-1".into(), items: 3 }).await.unwrap();
    assert_eq!(committed.events, vec![Priced { cents: 750 }.into()]);
    let Err(rejected) = app.send(Price { order: "o-1".into(), items: 0 }).await else {
        panic!("an empty order is refused");
    };
    assert!(matches!(rejected.rejection(), Some(Empty)));
    app.send(Stamp { order: "o-1".into() }).await.unwrap();
    let committed = app.send(Stamp { order: "o-1".into() }).await.unwrap();
    assert_eq!(committed.events, vec![OrderEvent::Stamped(Stamped { at: 11 })]);
    assert_eq!(committed.version, 3);
    let order = Order::default();
    assert_eq!(order.total + order.stamps.len() as u64, 0);
}
