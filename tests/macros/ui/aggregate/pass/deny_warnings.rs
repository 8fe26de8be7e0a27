//! Macro output compiles without a warning under `deny(warnings)` and the lints a careful
//! library enables. (Clippy does not run here; `tests/macros_expand.rs` is the same aggregate
//! under `cargo clippy -- -D warnings` with clippy pedantic.)

#![deny(warnings, missing_docs, unreachable_pub, unused, rust_2018_idioms, unused_qualifications)]
#![deny(missing_debug_implementations, trivial_casts, unused_results)]

use es_core::prelude::*;

/// A deposit was made.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Deposited {
    /// How much.
    pub amount: u64,
}

/// Make a deposit.
#[derive(Command, Debug, Clone)]
pub struct Deposit {
    /// Which account.
    #[id]
    pub account: String,
    /// How much.
    pub amount: u64,
}

/// Why a deposit is refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Zero.
    #[error("nothing to deposit")]
    Zero,
}

/// An account.
#[derive(Default, Debug)]
pub struct Account {
    balance: u64,
}

#[aggregate(error = Refusal)]
impl Account {
    #[handle]
    fn deposit(&self, cmd: Deposit) -> Result<Deposited, Refusal> {
        if cmd.amount == 0 {
            return Err(Refusal::Zero);
        }
        Ok(Deposited { amount: cmd.amount })
    }

    #[apply]
    fn deposited(&mut self, e: &Deposited) {
        self.balance += e.amount;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::builder(InMemoryEventStore::new()).aggregate::<Account>().build().expect("build the app");
    let committed = app.send(Deposit { account: "a".into(), amount: 5 }).await.unwrap();
    assert_eq!(committed.events, vec![AccountEvent::Deposited(Deposited { amount: 5 })]);
    let mut account = Account::default();
    for event in &committed.events {
        account.apply(event);
    }
    assert_eq!(account.balance, 5);
}
