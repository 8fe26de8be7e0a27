use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(name = "Opened")]
#[event(version = 2, name = "AccountOpened")]
pub struct Opened;

fn main() {}
