//! An aggregate with no `#[handle]` and no `#[apply]` is allowed: both enums are empty.

use es_core::prelude::*;

#[derive(Default)]
pub struct Nothing;

#[aggregate]
impl Nothing {}

fn main() {
    assert_eq!(<NothingEvent as EventSet>::NAMES, [] as [&str; 0]);
    let decoded = NothingEvent::decode(&es_core::Json, "Anything", 1, b"{}");
    assert!(decoded.is_err());
    assert_eq!(<Nothing as Aggregate>::NAME, "nothing");
}
