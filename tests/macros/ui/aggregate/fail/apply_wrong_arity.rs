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

#[aggregate]
impl Account {
    #[apply]
    fn opened(&mut self) {}

    #[apply]
    fn renamed(&mut self, _: &Renamed, _extra: u32) {}
}

fn main() {}
