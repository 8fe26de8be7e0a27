//! A handler returns one event, `()`, `Option`, `Vec`, or a tuple; each either bare or in a
//! `Result`.

use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Added(pub u32);

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Noted(pub String);

#[derive(Command, Clone)]
pub struct Nothing(#[id] pub String);

#[derive(Command, Clone)]
pub struct Maybe(#[id] pub String, pub Option<u32>);

#[derive(Command, Clone)]
pub struct Many(#[id] pub String, pub u32);

#[derive(Command, Clone)]
pub struct Both(#[id] pub String);

#[derive(Command, Clone)]
pub struct Checked(#[id] pub String, pub bool);

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("refused")]
pub struct Refused;

#[derive(Default)]
pub struct Tally {
    sum: u32,
    notes: Vec<String>,
}

#[aggregate(error = Refused)]
impl Tally {
    #[handle]
    fn nothing(&self, _cmd: Nothing) {}

    #[handle]
    fn maybe(&self, cmd: Maybe) -> Option<Added> {
        cmd.1.map(Added)
    }

    #[handle]
    fn many(&self, cmd: Many) -> Vec<Added> {
        (1..=cmd.1).map(Added).collect()
    }

    #[handle]
    fn both(&self, _cmd: Both) -> (Added, Noted, Option<Noted>) {
        (Added(100), Noted("both".into()), None)
    }

    #[handle]
    fn checked(&self, cmd: Checked) -> Result<(), Refused> {
        if cmd.1 { Ok(()) } else { Err(Refused) }
    }

    #[apply]
    fn added(&mut self, e: &Added) {
        self.sum += e.0;
    }

    #[apply]
    fn noted(&mut self, e: &Noted) {
        self.notes.push(e.0.clone());
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let tally = Tally::default();
    let id = String::from("t");
    assert_eq!(tally.handle(Nothing(id.clone()).into(), &()).await, Ok(vec![]));
    assert_eq!(tally.handle(Maybe(id.clone(), None).into(), &()).await, Ok(vec![]));
    assert_eq!(
        tally.handle(Maybe(id.clone(), Some(4)).into(), &()).await,
        Ok(vec![TallyEvent::Added(Added(4))])
    );
    assert_eq!(
        tally.handle(Many(id.clone(), 3).into(), &()).await,
        Ok(vec![Added(1).into(), Added(2).into(), Added(3).into()])
    );
    assert_eq!(
        tally.handle(Both(id.clone()).into(), &()).await,
        Ok(vec![Added(100).into(), Noted("both".into()).into()])
    );
    assert_eq!(tally.handle(Checked(id.clone(), true).into(), &()).await, Ok(vec![]));
    assert_eq!(tally.handle(Checked(id.clone(), false).into(), &()).await, Err(Refused));

    let app = App::builder(InMemoryEventStore::new()).aggregate::<Tally>().build().expect("build the app");
    let committed = app.send(Nothing(id.clone())).await.unwrap();
    assert_eq!((committed.version, committed.position), (0, 0));
    app.send(Many(id.clone(), 2)).await.unwrap();
    let committed = app.send(Both(id.clone())).await.unwrap();
    assert_eq!(committed.version, 4);
    let tally = Tally::default();
    assert_eq!((tally.sum, tally.notes.len()), (0, 0));
}
