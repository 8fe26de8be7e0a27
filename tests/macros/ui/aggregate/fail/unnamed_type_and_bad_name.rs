use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[aggregate]
impl [u8; 2] {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

#[derive(Default)]
pub struct Account;

#[aggregate(name = "bank\taccount")]
impl Account {
    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
