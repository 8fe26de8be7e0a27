use es_core::prelude::*;

#[derive(Command)]
pub union Deposit {
    pub account: u32,
}

fn main() {}
