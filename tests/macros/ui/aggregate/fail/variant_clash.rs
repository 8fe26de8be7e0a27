use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Renamed;

#[derive(Command)]
pub struct Open {
    #[id]
    pub id: String,
}

#[derive(Command)]
pub struct Rename {
    #[id]
    pub id: String,
}

#[derive(Default)]
pub struct Account;

mod v2 {
    use es_core::prelude::*;

    #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[event(name = "OpenedV2")]
    pub struct Opened;
}

#[aggregate]
impl Account {
    #[apply]
    fn opened(&mut self, _: &Opened) {}

    #[apply]
    fn opened_v2(&mut self, _: &v2::Opened) {}
}

fn main() {}
