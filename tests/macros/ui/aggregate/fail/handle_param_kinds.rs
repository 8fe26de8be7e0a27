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

#[derive(Command)]
pub struct Close {
    #[id]
    pub id: String,
}

#[aggregate]
impl Account {
    #[handle]
    fn open(self, _cmd: Open) -> Opened {
        Opened
    }

    #[handle]
    fn rename(_cmd: Rename) -> Renamed {
        Renamed
    }

    #[handle]
    fn both(&self, _cmd: (Open, Rename)) {}

    #[handle]
    fn close(&self, _cmd: Close, _services: ()) {}
}

fn main() {}
