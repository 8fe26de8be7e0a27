use es_core::prelude::*;

#[derive(Event)]
pub union Opened {
    pub a: u32,
    pub b: f32,
}

fn main() {}
