use es_core::prelude::*;

/// Takes the payload by reference: an upcaster takes and returns the JSON value.
fn v1_to_v2(payload: &es_core::JsonValue) -> es_core::JsonValue {
    payload.clone()
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 2, upcasters = [v1_to_v2])]
pub struct Opened;

fn main() {}
