//! A handler may return the generated event enum: `Vec<{Aggregate}Event>`, bare or in a
//! `Result`, when which events it records is decided at run time.

use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Added(pub u32);

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Capped;

#[derive(Command, Clone)]
pub struct Add(#[id] pub String, pub u32);

#[derive(Command, Clone)]
pub struct AddChecked(#[id] pub String, pub u32);

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("too much")]
pub struct TooMuch;

#[derive(Debug, Default, Clone)]
pub struct Gauge {
    level: u32,
    capped: bool,
}

#[aggregate(error = TooMuch)]
impl Gauge {
    /// Adds, and caps the gauge when it reaches 10: one event or two, chosen here.
    #[handle]
    fn add(&self, cmd: Add) -> Vec<GaugeEvent> {
        let mut events = vec![GaugeEvent::Added(Added(cmd.1))];
        if !self.capped && self.level + cmd.1 >= 10 {
            events.push(Capped.into());
        }
        events
    }

    #[handle]
    fn add_checked(&self, cmd: AddChecked) -> Result<Vec<GaugeEvent>, TooMuch> {
        if self.capped {
            return Err(TooMuch);
        }
        Ok(self.add(Add(cmd.0, cmd.1)))
    }

    #[apply]
    fn added(&mut self, e: &Added) {
        self.level += e.0;
    }

    #[apply]
    fn capped(&mut self, _: &Capped) {
        self.capped = true;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let id = String::from("g");
    let gauge = Gauge::default();
    assert_eq!(
        gauge.handle(Add(id.clone(), 10).into(), &()).await,
        Ok(vec![Added(10).into(), Capped.into()])
    );

    let app = App::builder(InMemoryEventStore::new()).aggregate::<Gauge>().build().expect("build the app");
    let committed = app.send(AddChecked(id.clone(), 4)).await.unwrap();
    assert_eq!(committed.events, [GaugeEvent::Added(Added(4))]);
    let committed = app.send(Add(id.clone(), 6)).await.unwrap();
    assert_eq!(committed.events, [Added(6).into(), Capped.into()]);
    assert_eq!(committed.version, 3);
    let refused = app.send(AddChecked(id.clone(), 1)).await.unwrap_err();
    assert_eq!(refused.rejection(), Some(&TooMuch));
    let (gauge, _) = app.load::<Gauge>(&id).await.unwrap();
    assert_eq!((gauge.level, gauge.capped), (10, true));
}
