use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WireRequested {
    pub wire: String,
    pub amount: u64,
}

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct WireProcess;

#[process_manager]
impl WireProcess {
    #[on(key = e.wire)]
    fn requested(&mut self, e: &WireRequested) -> Steps {
        let _ = e;
        Steps::new()
    }
}

fn main() {}
