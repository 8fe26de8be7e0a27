use es_core::prelude::*;

#[projection]
fn not_a_block() {}

#[derive(Default)]
pub struct Generic<T>(T);

#[projection]
impl<T> Generic<T> {}

#[derive(Default)]
pub struct WithArguments<T>(T);

#[projection]
impl WithArguments<u8> {}

#[projection]
impl [u8; 2] {}

fn main() {}
