use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(name = Opened)]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = "2")]
pub struct Closed;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 70000)]
pub struct Renamed;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(name = "")]
pub struct Moved;

fn main() {}
