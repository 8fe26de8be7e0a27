use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WireRequested {
    pub wire: String,
    pub amount: u64,
}

/// Neither `Default` nor `Serialize` nor `Deserialize`: it cannot be stored after each step.
#[derive(Clone)]
pub struct WireProcess {
    pub wire: String,
}

#[process_manager]
impl WireProcess {
    #[on(key = wire)]
    fn requested(&mut self, e: &WireRequested) -> Steps {
        self.wire.clone_from(&e.wire);
        Steps::new()
    }
}

fn main() {}
