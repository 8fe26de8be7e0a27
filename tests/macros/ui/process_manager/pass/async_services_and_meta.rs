//! `async` methods that take the services named by `services = ..`, an `#[on]` method that
//! takes the event's metadata too, and a `name = ..`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use es_core::prelude::*;
use es_core::process::{ManualClock, ProcessManager};
use es_core::record::Timestamp;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct InvoiceIssued {
    pub invoice: String,
    pub cents: u64,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ReminderSent {
    pub invoice: String,
}

#[derive(Command, Debug, Clone)]
pub struct Issue {
    #[id]
    pub invoice: String,
    pub cents: u64,
}

#[derive(Command, Debug, Clone)]
pub struct Remind {
    #[id]
    pub invoice: String,
}

#[derive(Debug, thiserror::Error)]
#[error("no such invoice")]
pub struct NoInvoice;

#[derive(Default, Debug, Clone)]
pub struct Invoice {
    issued: bool,
    reminders: u32,
}

#[aggregate(error = NoInvoice)]
impl Invoice {
    #[handle]
    fn issue(&self, cmd: Issue) -> InvoiceIssued {
        InvoiceIssued { invoice: cmd.invoice, cents: cmd.cents }
    }

    #[handle]
    fn remind(&self, cmd: Remind) -> Result<ReminderSent, NoInvoice> {
        if !self.issued {
            return Err(NoInvoice);
        }
        Ok(ReminderSent { invoice: cmd.invoice })
    }

    #[apply]
    fn issued(&mut self, _: &InvoiceIssued) {
        self.issued = true;
    }

    #[apply]
    fn reminded(&mut self, _: &ReminderSent) {
        self.reminders += 1;
    }
}

/// What the methods use besides the state: how long to wait, and a log of what they saw.
pub struct Dunning {
    pub grace: Duration,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Dunning {
    async fn note(&self, line: String) {
        tokio::task::yield_now().await;
        self.seen.lock().unwrap().push(line);
    }
}

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Collection {
    invoice: String,
    cents: u64,
}

#[process_manager(name = "collection", services = Dunning)]
impl Collection {
    #[on(key = invoice)]
    async fn issued(&mut self, e: &InvoiceIssued, meta: &EventMeta<'_>, dunning: &Dunning) -> Steps {
        self.invoice.clone_from(&e.invoice);
        self.cents = e.cents;
        dunning.note(format!("issued {} on {}", meta.aggregate_id(), meta.record().stream)).await;
        Steps::new().deadline_in("unpaid", dunning.grace)
    }

    #[on(key = invoice)]
    async fn reminded(&mut self, e: &ReminderSent, meta: &EventMeta<'_>) -> Steps {
        assert_eq!(meta.aggregate_id(), e.invoice);
        Steps::new().done()
    }

    #[refused]
    async fn remind_refused(&mut self, _cmd: &Remind, error: &NoInvoice, dunning: &Dunning) {
        dunning.note(format!("refused: {error}")).await;
    }

    #[deadline]
    async fn unpaid(&mut self, dunning: &Dunning) -> Steps {
        dunning.note(format!("unpaid {} cents", self.cents)).await;
        Steps::new().send(Remind { invoice: self.invoice.clone() })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Collection::NAME, "collection");

    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Invoice>()
        .build()
        .unwrap();
    let clock = ManualClock::new(Timestamp(1_000_000_000_000));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let dunning = Dunning { grace: Duration::from_secs(30), seen: seen.clone() };
    let mut runner = ProcessRunner::<Collection, _>::new(app.clone(), dunning).clock(clock.clone());
    app.send(Issue { invoice: "i-1".into(), cents: 990 }).await.unwrap();
    for _ in 0..2 {
        runner.run_once().await.unwrap();
    }
    clock.advance(Duration::from_secs(31));
    for _ in 0..3 {
        runner.run_once().await.unwrap();
    }
    assert_eq!(app.load::<Invoice>("i-1").await.unwrap().0.reminders, 1);
    assert_eq!(
        *seen.lock().unwrap(),
        ["issued i-1 on invoice-i-1", "unpaid 990 cents"]
    );
}
