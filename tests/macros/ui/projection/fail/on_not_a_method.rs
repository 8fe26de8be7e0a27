use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

macro_rules! nothing {
    () => {};
}

#[derive(Default)]
pub struct Owners;

#[projection]
impl Owners {
    #[on]
    const LIMIT: u32 = 3;

    #[query]
    nothing!();

    #[on]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
