use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[derive(Default)]
pub struct Owners;

#[projection]
impl Owners {
    #[on]
    fn opened(&mut self, _: &Opened) {}

    #[on]
    fn opened_again(&mut self, _: &Opened) {}
}

fn main() {}
