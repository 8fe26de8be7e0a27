use es_core::prelude::*;

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct WireProcess;

#[process_manager(nmae = "wire", colour = "blue")]
impl WireProcess {}

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Unnamed;

#[process_manager(name = "")]
impl Unnamed {}

fn main() {}
