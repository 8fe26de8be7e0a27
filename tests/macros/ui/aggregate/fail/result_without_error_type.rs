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

#[derive(Debug)]
pub struct Denied;

#[aggregate]
impl Account {
    #[handle]
    fn open(&self, _cmd: Open) -> Result<Opened, Denied> {
        Ok(Opened)
    }

    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
