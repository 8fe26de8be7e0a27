use es_core::prelude::*;

#[derive(Command)]
pub struct Deposit {
    #[id]
    #[id]
    pub account: String,
}

fn main() {}
