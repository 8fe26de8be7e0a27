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

#[derive(Debug, Clone, PartialEq)]
pub struct Closed;

#[aggregate]
impl Account {
    #[apply]
    fn closed(&mut self, _: &Closed) {}
}

fn main() {}
