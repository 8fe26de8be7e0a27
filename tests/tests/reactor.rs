//! Reactors: "when an account is closed, cancel its card" as an event leading to a command,
//! sent once however often the event is delivered; and a side effect (a mail) delivered at
//! least once, retried after a failure, its idempotency key the event's id.

use std::sync::{Arc, Mutex};

use es_core::prelude::*;
use es_core::process::{Reactor, ReactorRunner};

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct AccountClosed {
    account: String,
    owner: String,
}

#[derive(Command, Debug, Clone)]
struct CloseAccount {
    #[id]
    account: String,
    owner: String,
}

#[derive(Debug, Clone, Default)]
struct Account;

#[aggregate(name = "account")]
impl Account {
    #[handle]
    fn close(&self, cmd: CloseAccount) -> AccountClosed {
        AccountClosed {
            account: cmd.account,
            owner: cmd.owner,
        }
    }
    #[apply]
    fn closed(&mut self, _e: &AccountClosed) {}
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct CardCancelled {
    account: String,
}

#[derive(Command, Debug, Clone)]
struct CancelCard {
    #[id]
    account: String,
}

#[derive(Debug, Clone, Default)]
struct Card {
    cancelled: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("the card is already cancelled")]
struct AlreadyCancelled;

#[aggregate(name = "card", error = AlreadyCancelled)]
impl Card {
    #[handle]
    fn cancel(&self, cmd: CancelCard) -> Result<CardCancelled, AlreadyCancelled> {
        if self.cancelled {
            return Err(AlreadyCancelled);
        }
        Ok(CardCancelled {
            account: cmd.account,
        })
    }
    #[apply]
    fn cancelled(&mut self, _e: &CardCancelled) {
        self.cancelled = true;
    }
}

/// A mailer that fails its first `failures` sends, and records the others with their keys.
#[derive(Debug, Default)]
struct Mailer {
    failures: Mutex<u32>,
    sent: Mutex<Vec<(Uuid, String)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the mail server is down")]
struct MailDown;

impl Mailer {
    async fn send(&self, key: Uuid, to: &str) -> Result<(), MailDown> {
        // The network round trip.
        tokio::task::yield_now().await;
        let mut failures = self.failures.lock().expect("lock");
        if *failures > 0 {
            *failures -= 1;
            return Err(MailDown);
        }
        self.sent.lock().expect("lock").push((key, to.to_owned()));
        Ok(())
    }
}

#[derive(Debug)]
struct OnClose;

#[reactor(name = "on-close", services = Arc<Mailer>)]
impl OnClose {
    #[on]
    fn closed(&self, e: &AccountClosed) -> Steps {
        Steps::new().send(CancelCard {
            account: e.account.clone(),
        })
    }
}

#[derive(Debug)]
struct Goodbye;

#[reactor(services = Arc<Mailer>)]
impl Goodbye {
    #[on]
    async fn closed(
        &self,
        e: &AccountClosed,
        meta: &EventMeta<'_>,
        mailer: &Arc<Mailer>,
    ) -> Result<(), MailDown> {
        mailer.send(meta.event_id(), &e.owner).await
    }
}

fn app() -> App<InMemoryEventStore> {
    App::builder(InMemoryEventStore::new())
        .aggregate::<Account>()
        .aggregate::<Card>()
        .build()
        .expect("build the app")
}

#[tokio::test]
async fn an_event_leads_to_one_command_however_often_it_is_delivered() {
    let app = app();
    let mut runner = ReactorRunner::new(app.clone(), OnClose, Arc::default());
    app.send(CloseAccount {
        account: "a1".into(),
        owner: "ann@example.com".into(),
    })
    .await
    .expect("close");
    let progress = runner.run_once().await.expect("react");
    assert_eq!((progress.leading, progress.events), (true, 1));
    assert!(app.load::<Card>("a1").await.expect("load").0.cancelled);
    // Delivered again (a restart from an old checkpoint): the command is found sent.
    app.store()
        .save_checkpoint(&format!("reactor-{}", OnClose::NAME), 0)
        .await
        .expect("rewind");
    runner.run_once().await.expect("react again");
    assert_eq!(
        app.load::<Card>("a1").await.expect("load").1,
        1,
        "cancelled once"
    );
}

#[tokio::test]
async fn a_failed_side_effect_is_delivered_again() {
    let app = app();
    let mailer = Arc::new(Mailer {
        failures: Mutex::new(2),
        ..Mailer::default()
    });
    let mut runner = ReactorRunner::new(app.clone(), Goodbye, Arc::clone(&mailer));
    assert_eq!(Goodbye::NAME, "goodbye");
    let closed = app
        .send(CloseAccount {
            account: "a2".into(),
            owner: "bo@example.com".into(),
        })
        .await
        .expect("close");
    for attempt in 1..=2 {
        let error = runner
            .run_once()
            .await
            .expect_err("the mail server is down");
        let text = error.to_string();
        assert!(
            text.contains("reactor `goodbye` failed on event `AccountClosed`")
                && text.contains("account-a2"),
            "attempt {attempt}: {text}"
        );
    }
    let progress = runner.run_once().await.expect("the mail server is back");
    assert_eq!(progress.events, 0, "a side effect sends no command");
    let sent = mailer.sent.lock().expect("lock").clone();
    let event = app
        .store()
        .read_stream(&closed.stream, 1, 1)
        .await
        .expect("read")
        .remove(0);
    assert_eq!(sent, [(event.id, "bo@example.com".to_owned())]);
    runner.run_once().await.expect("nothing left");
    assert_eq!(
        mailer.sent.lock().expect("lock").len(),
        1,
        "sent once, when it worked"
    );
}
