use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WireRequested {
    pub wire: String,
    pub amount: u64,
}

pub struct WireSettings;

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct WireProcess;

#[process_manager(services = WireSettings)]
impl WireProcess {
    #[on(key = wire)]
    fn requested(
        &mut self,
        _e: &WireRequested,
        _settings: &WireSettings,
        _meta: &EventMeta,
    ) -> Steps {
        Steps::new()
    }
}

fn main() {}
