//! `#[derive(Event)]`: defaults (the type's name, version 1), overrides, enums and generics.

use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(name = "account.renamed", version = 4)]
pub struct Renamed {
    pub name: String,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 2)]
#[event(name = "Flagged")]
pub enum Flag {
    Raised { reason: String },
    Lowered,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(crate = "::es_core")]
pub struct Tagged<T>(pub T);

fn main() {
    assert_eq!((Opened::NAME, Opened::VERSION), ("Opened", 1));
    assert_eq!((Renamed::NAME, Renamed::VERSION), ("account.renamed", 4));
    assert_eq!((Flag::NAME, Flag::VERSION), ("Flagged", 2));
    assert_eq!(<Tagged<u32> as Event>::NAME, "Tagged");
    let _ = Flag::Raised { reason: String::new() };
    let _ = (Flag::Lowered, Renamed { name: String::new() }, Tagged(1u8));
}
