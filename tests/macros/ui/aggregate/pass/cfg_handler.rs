//! `#[cfg]` on a method is copied onto everything generated for it: the variant, the `From`
//! impls, the match arms. A method compiled out leaves no trace.

use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Audited;

#[derive(Command, Clone)]
pub struct Open(#[id] pub String);

#[derive(Command, Clone)]
pub struct Audit(#[id] pub String);

#[derive(Default)]
pub struct Clock;

#[derive(Default)]
pub struct Account {
    open: bool,
}

#[aggregate(services = Clock)]
impl Account {
    #[handle]
    fn open(&self, _cmd: Open) -> Opened {
        Opened
    }

    #[cfg(any())]
    #[handle]
    fn audit(&self, _cmd: Audit, _clock: &Clock) -> Audited {
        Audited
    }

    #[apply]
    fn opened(&mut self, _: &Opened) {
        self.open = true;
    }

    #[apply]
    #[cfg(any())]
    fn audited(&mut self, _: &Audited) {}
}

// `Audit` and `Audited` are not part of the aggregate: the compiled-out methods took them along.
impl From<Audit> for AccountCommand {
    fn from(_: Audit) -> Self {
        AccountCommand::Open(Open("audit".into()))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(<AccountEvent as EventSet>::NAMES, ["Opened"]);
    let app = App::builder(InMemoryEventStore::new()).aggregate::<Account>().build().expect("build the app");
    let committed = app.send(Open("a".into())).await.unwrap();
    assert_eq!(committed.events, vec![AccountEvent::Opened(Opened)]);
    let _ = (Audited, AccountCommand::from(Audit("a".into())));
    let mut account = Account::default();
    account.apply(&AccountEvent::Opened(Opened));
    assert!(account.open);
}
