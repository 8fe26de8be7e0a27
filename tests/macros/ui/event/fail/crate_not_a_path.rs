use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(crate = "not a path!")]
pub struct Opened;

fn main() {}
