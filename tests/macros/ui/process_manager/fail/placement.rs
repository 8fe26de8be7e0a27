use es_core::prelude::*;

#[process_manager(name = "wire")]
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct WireProcess;

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Generic<T>(T);

#[process_manager]
impl<T> Generic<T> {}

fn main() {}
