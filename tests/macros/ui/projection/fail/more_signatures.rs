use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Closed;

pub struct Count;
pub struct Find;
pub struct Peek;
pub struct Look;

#[derive(Default)]
pub struct Owners;

#[projection]
impl Owners {
    #[on]
    fn no_self(_: &Opened) {}

    #[on]
    fn meta_by_value(&mut self, _: &Closed, _: EventMeta<'_>) {}

    #[query]
    async fn count(&self, _: Count) -> u8 {
        0
    }

    #[query]
    fn find(self, _: Find) -> u8 {
        0
    }

    #[query]
    fn peek(_: Peek) -> u8 {
        0
    }

    #[query]
    fn look(&self, _: &Look) -> u8 {
        0
    }
}

fn main() {}
