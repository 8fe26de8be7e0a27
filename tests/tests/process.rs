//! Process managers and reactors whose user code panics: the runner reports an error naming
//! the process, the instance and the event, keeps running, changes nothing, and handles the
//! event once the code stops panicking.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use es_core::prelude::*;
use es_core::process::ReactorRunner;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Pinged {
    id: String,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Ponged {
    id: String,
}

#[derive(Command, Debug, Clone)]
struct Ping {
    #[id]
    id: String,
}

#[derive(Command, Debug, Clone)]
struct Pong {
    #[id]
    id: String,
}

#[derive(Debug, Clone, Default)]
struct Ball {
    pongs: u32,
}

#[aggregate(name = "ball")]
impl Ball {
    #[handle]
    fn ping(&self, cmd: Ping) -> Pinged {
        Pinged { id: cmd.id }
    }
    #[handle]
    fn pong(&self, cmd: Pong) -> Ponged {
        Ponged { id: cmd.id }
    }
    #[apply]
    fn pinged(&mut self, _e: &Pinged) {}
    #[apply]
    fn ponged(&mut self, _e: &Ponged) {
        self.pongs += 1;
    }
}

/// Whether the user code panics.
type Broken = Arc<AtomicBool>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Rally {
    pings: u32,
}

#[process_manager(services = Broken)]
impl Rally {
    #[on(key = id)]
    fn pinged(&mut self, e: &Pinged, broken: &Broken) -> Steps {
        self.pings += 1;
        assert!(!broken.load(Ordering::SeqCst), "the rally is broken");
        Steps::new().send(Pong { id: e.id.clone() })
    }
}

#[derive(Debug)]
struct Echo;

#[reactor(services = Broken)]
impl Echo {
    #[on]
    fn pinged(&self, e: &Pinged, broken: &Broken) -> Steps {
        assert!(!broken.load(Ordering::SeqCst), "the echo is broken");
        Steps::new().send(Pong { id: e.id.clone() })
    }
}

fn app() -> App<InMemoryEventStore> {
    App::builder(InMemoryEventStore::new())
        .aggregate::<Ball>()
        .build()
        .expect("build the app")
}

#[tokio::test]
async fn a_panicking_process_manager_is_an_error_and_changes_nothing() {
    let app = app();
    let broken: Broken = Arc::new(AtomicBool::new(true));
    let mut runner = ProcessRunner::<Rally, _>::new(app.clone(), Arc::clone(&broken));
    app.send(Ping { id: "b1".into() }).await.expect("ping");
    let error = runner.run_once().await.expect_err("the handler panics");
    let text = format!(
        "{error}: {}",
        std::error::Error::source(&error).expect("a source")
    );
    assert!(
        text.contains("process `rally` failed on event `Pinged` at version 1 of stream `ball-b1`")
            && text.contains("instance `b1`")
            && text.contains("the rally is broken"),
        "{text}"
    );
    assert_eq!(app.load::<Ball>("b1").await.expect("load").0.pongs, 0);
    broken.store(false, Ordering::SeqCst);
    let progress = runner.run_once().await.expect("fixed");
    assert_eq!(progress.events, 1);
    assert_eq!(app.load::<Ball>("b1").await.expect("load").0.pongs, 1);
}

#[tokio::test]
async fn a_panicking_reactor_is_an_error_and_the_event_comes_again() {
    let app = app();
    let broken: Broken = Arc::new(AtomicBool::new(true));
    let mut runner = ReactorRunner::new(app.clone(), Echo, Arc::clone(&broken));
    app.send(Ping { id: "b2".into() }).await.expect("ping");
    let error = runner.run_once().await.expect_err("the handler panics");
    assert!(
        error
            .to_string()
            .contains("reactor `echo` failed on event `Pinged`"),
        "{error}"
    );
    broken.store(false, Ordering::SeqCst);
    assert_eq!(runner.run_once().await.expect("fixed").events, 1);
    assert_eq!(app.load::<Ball>("b2").await.expect("load").0.pongs, 1);
}
