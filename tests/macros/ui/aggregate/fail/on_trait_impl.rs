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

pub trait Ledger {
    fn opened(&mut self, e: &Opened);
}

#[aggregate]
impl Ledger for Account {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
