use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WireRequested {
    pub wire: String,
    pub amount: u64,
}

pub struct WireSettings;

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct WireProcess;

#[process_manager]
impl WireProcess {
    #[on(key = wire)]
    fn requested(&mut self, _e: &WireRequested, _settings: &WireSettings) -> Steps {
        Steps::new()
    }

    #[deadline]
    fn confirmation_overdue(&mut self, _settings: &WireSettings) -> Steps {
        Steps::new()
    }
}

fn main() {}
