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
    #[handle]
    fn open(&self, _cmd: Open) -> Opened {
        Opened
    }

    #[handle]
    fn open_again(&self, _cmd: Open) -> Opened {
        Opened
    }

    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
