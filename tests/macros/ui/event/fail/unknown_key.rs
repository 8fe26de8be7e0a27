use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(nmae = "Opened", verison = 2)]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(schema = 2)]
pub struct Closed;

fn main() {}
