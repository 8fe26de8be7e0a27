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

mod v2 {
    use es_core::prelude::*;

    #[derive(Command)]
    pub struct Open {
        #[id]
        pub id: String,
    }
}

#[aggregate]
impl Account {
    #[handle]
    fn open(&self, _cmd: Open) {}

    #[handle]
    fn open_v2(&self, _cmd: v2::Open) {}
}

fn main() {}
