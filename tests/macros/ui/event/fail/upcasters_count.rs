use es_core::prelude::*;
use es_core::JsonValue;

fn up(payload: JsonValue) -> JsonValue {
    payload
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 3, upcasters = [up])]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(upcasters = [up])]
pub struct Closed;

fn main() {}
