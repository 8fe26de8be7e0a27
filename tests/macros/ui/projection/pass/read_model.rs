//! A read model with metadata, a fallible handler, `#[cfg]`, options, and queries routed by
//! the app.

use std::collections::BTreeMap;

use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened {
    pub owner: String,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Deposited {
    pub amount: u64,
}

#[derive(Command, Debug, Clone)]
pub struct Open {
    #[id]
    pub id: String,
    pub owner: String,
}

#[derive(Default, Debug, Clone)]
pub struct Account;

#[aggregate]
impl Account {
    #[handle]
    fn open(&self, cmd: Open) -> Opened {
        Opened { owner: cmd.owner }
    }
    #[apply]
    fn opened(&mut self, _: &Opened) {}
    #[apply]
    fn deposited(&mut self, _: &Deposited) {}
}

#[derive(Default)]
pub struct Owners {
    by_stream: BTreeMap<String, String>,
    deposits: u64,
}

pub struct OwnerOf(pub String);
pub struct Count;

#[projection]
impl Owners {
    #[on]
    fn opened(&mut self, e: &Opened, meta: &EventMeta) -> Result<(), std::io::Error> {
        self.by_stream.insert(meta.stream().to_owned(), e.owner.clone());
        Ok(())
    }

    #[on]
    #[cfg(not(any()))]
    fn deposited(&mut self, _: &Deposited) {
        self.deposits += 1;
    }

    #[on]
    #[cfg(any())]
    fn deposited(&mut self, _: &Deposited) {
        unreachable!("configured out")
    }

    #[query]
    fn owner_of(&self, q: OwnerOf) -> Option<String> {
        self.by_stream.get(&q.0).cloned()
    }

    #[query]
    fn count(&self, _: Count) -> usize {
        self.by_stream.len()
    }

    /// Left alone.
    fn helper(&self) -> u64 {
        self.deposits
    }
}

#[derive(Default)]
pub struct Mailer;

#[projection(name = "mailer", durable, skip_newer, crate = "::es_core")]
impl Mailer {
    #[on]
    fn opened(&mut self, _: &Opened) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(<Owners as Projection>::NAME, "owners");
    assert!(!<Owners as Projection>::DURABLE);
    assert_eq!(<Mailer as Projection>::NAME, "mailer");
    assert!(<Mailer as Projection>::DURABLE && <Mailer as Projection>::SKIP_NEWER);

    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Account>()
        .projection(Owners::default())
        .projection(Mailer)
        .build().expect("build the app");
    app.send(Open { id: "a".into(), owner: "Ada".into() }).await.unwrap();
    let owner: Option<String> = app.query(OwnerOf("account-a".into())).await.unwrap();
    assert_eq!(owner.as_deref(), Some("Ada"));
    assert_eq!(app.query(Count).await.unwrap(), 1);
    let _ = Owners::default().helper();
}
