use es_core::prelude::*;

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct WireProcess;

#[process_manager]
impl WireProcess {
    #[deadline]
    fn confirmation_overdue(&mut self, attempt: u32) -> Steps {
        let _ = attempt;
        Steps::new()
    }
}

fn main() {}
