use es_core::prelude::*;

/// Not `#[derive(Event)]`.
pub struct Opened;

#[derive(Default)]
pub struct Owners;

#[projection]
impl Owners {
    #[on]
    fn opened(&mut self, _: &Opened) {}
}

fn main() {}
