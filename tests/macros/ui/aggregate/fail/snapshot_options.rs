use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[derive(Default, Serialize, Deserialize)]
pub struct Account;

#[aggregate(snapshot_every = 0, snapshot_version = 70000)]
impl Account {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

#[derive(Default, Serialize, Deserialize)]
pub struct Ledger;

#[aggregate(snapshot_version = 2)]
impl Ledger {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

#[derive(Default, Serialize, Deserialize)]
pub struct Journal;

#[aggregate(snapshot_every = "100", snapshot_version = 0)]
impl Journal {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
