use es_core::prelude::*;

/// Not `#[derive(Command)]`.
pub struct Withdraw {
    pub account: String,
}

#[derive(Debug, thiserror::Error)]
#[error("insufficient funds")]
pub struct BankError;

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct WireProcess;

#[process_manager]
impl WireProcess {
    #[refused]
    fn withdrawal_refused(&mut self, _cmd: &Withdraw, _error: &BankError) -> Steps {
        Steps::new()
    }
}

fn main() {}
