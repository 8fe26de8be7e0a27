use es_core::prelude::*;

#[derive(Command)]
pub struct Transfer {
    #[id]
    pub from: String,
    #[id]
    pub to: String,
    pub amount: u64,
}

fn main() {}
