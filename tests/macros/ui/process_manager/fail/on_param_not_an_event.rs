use es_core::prelude::*;

/// Not `#[derive(Event)]`.
pub struct WireRequested {
    pub wire: String,
}

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct WireProcess;

#[process_manager]
impl WireProcess {
    #[on(key = wire)]
    fn requested(&mut self, _e: &WireRequested) -> Steps {
        Steps::new()
    }
}

fn main() {}
