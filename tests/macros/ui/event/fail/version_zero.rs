use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 0)]
pub struct Opened;

fn main() {}
