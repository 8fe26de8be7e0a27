use es_core::prelude::*;

#[derive(Default)]
pub struct Owners;

pub struct Count;
pub struct Find;

#[projection]
impl Owners {
    #[query]
    fn count(&self, _: Count) -> usize {
        0
    }

    #[query]
    fn count_again(&self, _: Count) -> usize {
        1
    }

    #[query]
    fn find(&mut self, _: Find) -> Option<u8> {
        None
    }

    #[query]
    fn nothing(&self) -> u8 {
        0
    }
}

fn main() {}
