//! `#[derive(Command)]`: the `#[id]` field on a named or a tuple struct, any `Display` type.

use std::fmt;

use es_core::prelude::*;

#[derive(Command)]
pub struct Deposit {
    pub amount: u64,
    #[id]
    pub account: String,
}

#[derive(Command)]
pub struct Close(pub u8, #[id] pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId(pub u32);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "acc{}", self.0)
    }
}

#[derive(Command)]
pub struct Freeze {
    #[id]
    pub account: AccountId,
}

#[derive(Command)]
pub struct Label<T: Send + 'static> {
    #[id]
    pub account: &'static str,
    pub note: T,
}

fn main() {
    let deposit = Deposit { amount: 1, account: "alice".into() };
    assert_eq!(deposit.aggregate_id(), "alice");
    assert_eq!(deposit.amount, 1);
    assert_eq!(*Close(0, 42).aggregate_id(), 42);
    assert_eq!(Freeze { account: AccountId(7) }.aggregate_id().to_string(), "acc7");
    let label = Label { account: "x", note: 1u8 };
    assert_eq!(*label.aggregate_id(), "x");
}
