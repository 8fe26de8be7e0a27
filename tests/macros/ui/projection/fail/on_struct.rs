use es_core::prelude::*;

#[projection]
pub struct Owners;

pub trait ReadModel {}

#[derive(Default)]
pub struct Balances;

#[projection]
impl ReadModel for Balances {}

fn main() {}
