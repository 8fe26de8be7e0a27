use es_core::prelude::*;

#[derive(Default)]
pub struct Owners;

#[projection(nmae = "owners", durable = true, colour = "blue")]
impl Owners {}

#[derive(Default)]
pub struct Named;

#[projection(name = "")]
impl Named {}

fn main() {}
