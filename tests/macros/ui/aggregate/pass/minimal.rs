//! The least an aggregate needs: one event, one command, defaults for every option.

use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Pinged;

#[derive(Command, Clone)]
pub struct Ping(#[id] pub u32);

#[derive(Default)]
pub struct Counter {
    pings: u32,
}

#[aggregate]
impl Counter {
    #[handle]
    fn ping(&self, _cmd: Ping) -> Pinged {
        Pinged
    }

    #[apply]
    fn pinged(&mut self, _: &Pinged) {
        self.pings += 1;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(<Counter as Aggregate>::NAME, "counter");
    assert_eq!(Counter::stream_name(&7), "counter-7");
    let error: Option<core::convert::Infallible> = None;
    let _: Option<<Counter as Aggregate>::Error> = error;
    let () = <Counter as Aggregate>::Services::default();

    let mut counter = Counter::default();
    let events = counter.handle(CounterCommand::Ping(Ping(1)), &()).await.unwrap();
    assert_eq!(events, vec![CounterEvent::Pinged(Pinged)]);
    counter.apply(&events[0]);
    assert_eq!(counter.pings, 1);

    let app = App::builder(InMemoryEventStore::new()).aggregate::<Counter>().build().expect("build the app");
    app.send(Ping(1)).await.unwrap();
    let committed = app.send(Ping(1)).await.unwrap();
    assert_eq!(committed.stream, "counter-1");
    assert_eq!(committed.version, 2);
}
