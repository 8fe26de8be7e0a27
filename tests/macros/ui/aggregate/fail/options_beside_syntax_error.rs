use es_core::prelude::*;

#[derive(Default)]
pub struct Account;

#[aggregate(nmae = "account")]
impl Account {
    #[handle]
    fn broken(&self) {
        let x = ;
    }
}

fn main() {}
