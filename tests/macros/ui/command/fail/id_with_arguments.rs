use es_core::prelude::*;

#[derive(Command)]
pub struct Deposit {
    #[id(account)]
    pub account: String,
}

fn main() {}
