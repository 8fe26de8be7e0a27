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

#[derive(Debug, thiserror::Error)]
#[error("denied")]
pub struct Denied;

#[derive(Debug, thiserror::Error)]
#[error("other")]
pub struct Other;

#[aggregate(error = Denied)]
impl Account {
    #[handle]
    fn open(&self, _cmd: Open) -> Result<Opened, Other> {
        Err(Other)
    }

    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
