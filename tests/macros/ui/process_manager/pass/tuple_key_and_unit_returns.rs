//! A tuple-struct event routed by `key = 0`, and methods that return `()`: no steps. The
//! generated code names nothing the user's scope could shadow.

#![deny(warnings)]

use es_core::prelude::*;
use es_core::process::ProcessManager;

#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Some;
#[allow(dead_code)]
struct Vec;
#[allow(dead_code)]
struct String;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Pinged(pub u32, pub u64);

#[derive(Command, Debug, Clone)]
pub struct Ping(#[id] pub u32, pub u64);

#[derive(Debug, thiserror::Error)]
#[error("never")]
pub struct Never;

#[derive(Default, Debug, Clone)]
pub struct Sensor;

#[aggregate(error = Never)]
impl Sensor {
    #[handle]
    fn ping(&self, cmd: Ping) -> Pinged {
        Pinged(cmd.0, cmd.1)
    }

    #[apply]
    fn pinged(&mut self, _: &Pinged) {}
}

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Watch {
    total: u64,
}

#[process_manager]
impl Watch {
    #[on(key = 0)]
    fn pinged(&mut self, e: &Pinged) {
        self.total += e.1;
    }

    #[refused]
    fn ping_refused(&mut self, _cmd: &Ping, _error: &Never) {}

    #[deadline]
    fn silent(&mut self) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Watch::NAME, "watch");
    assert_eq!(Watch::HANDLES, ["Pinged"]);

    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Sensor>()
        .build()
        .unwrap();
    let mut runner = ProcessRunner::<Watch, _>::new(app.clone(), ());
    for (sensor, value) in [(1, 10), (2, 20), (1, 30)] {
        app.send(Ping(sensor, value)).await.unwrap();
    }
    let progress = runner.run_once().await.unwrap();
    assert_eq!(progress.events, 3);
    assert_eq!(runner.run_once().await.unwrap().events, 0);
}
