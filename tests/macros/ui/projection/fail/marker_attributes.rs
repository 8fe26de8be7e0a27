use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

pub struct Count;

#[derive(Default)]
pub struct Owners;

#[projection]
impl Owners {
    #[on]
    #[on]
    fn opened(&mut self, _: &Opened) {}

    #[on]
    #[query]
    fn count(&self, _: Count) -> u8 {
        0
    }
}

fn main() {}
