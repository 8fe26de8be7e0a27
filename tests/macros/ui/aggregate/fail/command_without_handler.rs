use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

/// A command no `#[handle]` method takes.
#[derive(Command, Clone)]
pub struct Freeze {
    #[id]
    pub id: String,
}

#[derive(Default)]
pub struct Account;

#[aggregate]
impl Account {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::builder(InMemoryEventStore::new()).aggregate::<Account>().build().expect("build the app");
    let _ = app.send(Freeze { id: "a".into() }).await;
}
