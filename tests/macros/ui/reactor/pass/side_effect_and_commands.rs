//! A reactor with an async side effect that may fail and one that sends commands, run over an
//! app.

use es_core::prelude::*;
use es_core::process::ReactorRunner;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AccountClosed {
    pub account: String,
}

#[derive(Command, Debug, Clone)]
pub struct Close {
    #[id]
    pub account: String,
}

#[derive(Debug, Clone, Default)]
pub struct Account;

#[aggregate(name = "account")]
impl Account {
    #[handle]
    fn close(&self, cmd: Close) -> AccountClosed {
        AccountClosed { account: cmd.account }
    }
    #[apply]
    fn closed(&mut self, _e: &AccountClosed) {}
}

#[derive(Debug, thiserror::Error)]
#[error("the mail server is down")]
pub struct MailDown;

pub struct Mailer;

pub struct Goodbye;

#[reactor(name = "goodbye", services = Mailer)]
impl Goodbye {
    #[on]
    async fn closed(&self, _e: &AccountClosed, meta: &EventMeta<'_>, _mailer: &Mailer) -> Result<(), MailDown> {
        let _key = meta.event_id();
        Ok(())
    }
}

pub struct Again;

#[reactor]
impl Again {
    #[on]
    fn closed(&self, e: &AccountClosed) -> Steps {
        Steps::new().send(Close { account: format!("{}-twin", e.account) })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Account>()
        .build()
        .expect("build");
    app.send(Close { account: "a".into() }).await.expect("close");
    let mut goodbye = ReactorRunner::new(app.clone(), Goodbye, Mailer);
    goodbye.run_once().await.expect("react");
    let mut again = ReactorRunner::new(app.clone(), Again, ());
    assert_eq!(again.run_once().await.expect("react").events, 1);
}
