use es_core::prelude::*;

#[derive(Command)]
pub struct Deposit {
    pub account: String,
    pub amount: u64,
}

fn main() {}
