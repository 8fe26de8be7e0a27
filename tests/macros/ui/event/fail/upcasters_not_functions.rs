use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 2, upcasters = up)]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 2, upcasters = [|v| v])]
pub struct Closed;

fn main() {}
