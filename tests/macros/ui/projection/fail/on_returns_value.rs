use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[derive(Default)]
pub struct Owners;

#[projection]
impl Owners {
    #[on]
    fn opened(&mut self, _: &Opened) -> u32 {
        1
    }
}

fn main() {}
