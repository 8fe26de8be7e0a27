use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

pub struct Account;

#[aggregate]
impl Account {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
