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

#[aggregate(name = account, event = Account::Event, command = "AccountCommand", crate = "not a path!")]
impl Account {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

#[derive(Default)]
pub struct Ledger;

#[aggregate(name = "", event = LedgerEnum, command = LedgerEnum, error = std::io::Error, error = std::fmt::Error)]
impl Ledger {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
