//! Generated code names only absolute paths: shadowing the prelude in the user's module changes
//! nothing.

#![allow(dead_code, non_camel_case_types, unused_macros)]

use es_core::prelude::{Aggregate, App, Deserialize, EventSet, InMemoryEventStore, Serialize};
use es_core::{Command, Event, aggregate};

struct Result;
struct Ok;
struct Err;
struct Some;
struct None;
struct Vec;
struct String;
struct Box;
struct Option;
struct Default;
struct From;
struct Into;
struct Send;
struct Sync;
struct Clone;
struct Debug;
struct PartialEq;
mod core {}
mod std {}
mod serde {}
macro_rules! unreachable {
    () => {
        compile_error!("shadowed")
    };
}

#[derive(Event, Serialize, Deserialize, ::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
pub struct Opened {
    pub owner: ::std::string::String,
}

#[derive(Command, ::core::clone::Clone)]
pub struct Open {
    #[id]
    pub id: ::std::string::String,
    pub owner: ::std::string::String,
}

#[derive(::core::fmt::Debug, ::core::cmp::PartialEq)]
pub struct Denied;

impl ::core::fmt::Display for Denied {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str("denied")
    }
}

impl ::std::error::Error for Denied {}

#[derive(::core::default::Default)]
pub struct Account {
    owner: ::core::option::Option<::std::string::String>,
}

#[aggregate(error = Denied)]
impl Account {
    #[handle]
    async fn open(&self, cmd: Open) -> ::core::result::Result<Opened, Denied> {
        if self.owner.is_some() {
            return ::core::result::Result::Err(Denied);
        }
        ::core::result::Result::Ok(Opened { owner: cmd.owner })
    }

    #[apply]
    fn opened(&mut self, e: &Opened) {
        self.owner = ::core::option::Option::Some(e.owner.clone());
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let app = App::builder(InMemoryEventStore::new()).aggregate::<Account>().build().expect("build the app");
        let open = Open { id: "h".into(), owner: "Hy".into() };
        app.send(open.clone()).await.unwrap();
        let ::core::result::Result::Err(error) = app.send(open).await else {
            panic!("opened twice");
        };
        assert_eq!(error.rejection(), ::core::option::Option::Some(&Denied));
        assert_eq!(<AccountEvent as EventSet>::NAMES, ["Opened"]);
        assert_eq!(<Account as Aggregate>::NAME, "account");
    });
}
