use es_core::prelude::*;

pub struct AccountId(pub u64);

#[derive(Command)]
pub struct Deposit {
    #[id]
    pub account: AccountId,
}

fn main() {}
