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
    #[on(key = wire)]
    fn requested(&mut self, _e: &WireRequested, retries: u32) -> Steps {
        let _ = retries;
        Steps::new()
    }
}

fn main() {}
