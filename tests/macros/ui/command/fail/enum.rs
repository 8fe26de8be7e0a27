use es_core::prelude::*;

#[derive(Command)]
pub enum Deposit {
    Cash { account: String },
}

fn main() {}
