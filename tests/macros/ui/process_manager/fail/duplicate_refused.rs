use es_core::prelude::*;

#[derive(Command, Debug, Clone)]
pub struct Withdraw {
    #[id]
    pub account: String,
    pub amount: u64,
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

    #[refused]
    fn withdrawal_refused_again(&mut self, _cmd: &Withdraw, _error: &BankError) -> Steps {
        Steps::new()
    }
}

fn main() {}
