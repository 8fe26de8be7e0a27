//! Event sourcing and CQRS for Rust, driven by macros.
//!
//! Declare events and commands as plain structs and an aggregate as one annotated `impl` block;
//! the macros generate the event enum, the command enum, the `apply` dispatch and the command
//! routing. [`App`] runs the command path over any [`EventStore`].
//!
//! ```
//! use es_core::prelude::*;
//!
//! #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
//! pub struct AccountOpened { pub owner: String }
//!
//! #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
//! pub struct MoneyDeposited { pub amount: u64 }
//!
//! #[derive(Command, Debug, Clone)]
//! pub struct OpenAccount { #[id] pub account: String, pub owner: String }
//!
//! #[derive(Command, Debug, Clone)]
//! pub struct Deposit { #[id] pub account: String, pub amount: u64 }
//!
//! #[derive(Debug, thiserror::Error, PartialEq)]
//! pub enum BankError {
//!     #[error("account is already open")]
//!     AlreadyOpen,
//!     #[error("account is not open")]
//!     NotOpen,
//! }
//!
//! #[derive(Default, Debug, Clone, PartialEq)]
//! pub struct BankAccount { open: bool, balance: u64 }
//!
//! #[aggregate(name = "bank-account", error = BankError)]
//! impl BankAccount {
//!     #[handle]
//!     fn open(&self, cmd: OpenAccount) -> Result<AccountOpened, BankError> {
//!         if self.open { return Err(BankError::AlreadyOpen); }
//!         Ok(AccountOpened { owner: cmd.owner })
//!     }
//!     #[handle]
//!     fn deposit(&self, cmd: Deposit) -> Result<MoneyDeposited, BankError> {
//!         if !self.open { return Err(BankError::NotOpen); }
//!         Ok(MoneyDeposited { amount: cmd.amount })
//!     }
//!     #[apply]
//!     fn opened(&mut self, _: &AccountOpened) { self.open = true; }
//!     #[apply]
//!     fn deposited(&mut self, e: &MoneyDeposited) { self.balance += e.amount; }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = App::builder(InMemoryEventStore::new()).aggregate::<BankAccount>().build()?;
//! app.send(OpenAccount { account: "alice".into(), owner: "Alice".into() }).await?;
//! let committed = app.send(Deposit { account: "alice".into(), amount: 50 }).await?;
//! assert_eq!(committed.version, 2);
//! assert_eq!(committed.events, vec![MoneyDeposited { amount: 50 }.into()]);
//! # Ok(())
//! # }
//! ```

// The macros name `::es_core`; this lets es-core's own tests and doctests use them.
#[allow(unused_extern_crates)]
extern crate self as es_core;

pub mod aggregate;
pub mod app;
pub mod codec;
pub mod command;
pub mod error;
pub mod event;
pub mod observability;
pub mod process;
pub mod projection;
pub mod record;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod version;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The crates whose types appear in es-core's API (payloads are `bytes::Bytes`, ids
/// `uuid::Uuid`, the head hint a `tokio::sync::watch::Receiver`, a SQL read model is shared
/// through a `tokio::sync::Mutex`), so a user names them without a dependency of their own and
/// at the version es-core uses.
pub use {bytes, tokio, uuid};

pub use aggregate::{Aggregate, SnapshotPolicy};
pub use app::{
    App, AppBuilder, BuildError, CommandError, CommandMetadata, Committed, QueryError, Transacted,
    Transaction, TransactionError,
};
pub use codec::{BoxError, Codec, Json};
pub use command::{AggregateCommand, Command};
pub use error::Error;
pub use event::{Event, EventOf, EventSet, IntoEvents, Upcaster};
pub use record::{Metadata, NewEvent, RecordedEvent, ReplayedEvent, Snapshot, Timestamp};
/// The JSON value upcasters take and give, and the macro to build one.
pub use serde_json::{Value as JsonValue, json};
#[cfg(feature = "postgres")]
pub use store::PostgresEventStore;
pub use store::{
    AnyEventStore, AppendResult, DynEventStore, EventStore, ExpectedVersion, InMemoryEventStore,
    StreamAppend, Subscription,
};

#[cfg(feature = "sqlite")]
pub use store::SqliteEventStore;

#[cfg(feature = "macros")]
pub use es_macros::{Command, Event, aggregate, process_manager, projection, reactor};
pub use projection::{EventMeta, Projection, Query};

/// One import for users: the traits, the macros, the stores, the app, serde's derives, and
/// [`Uuid`](uuid::Uuid) (the type of command, correlation and causation ids, for
/// [`CommandMetadata`]).
///
/// `Command` and `Event` name both the trait and its derive (with the `macros` feature).
pub mod prelude {
    #[cfg(feature = "macros")]
    pub use crate::{aggregate, process_manager, projection, reactor};
    pub use serde::{Deserialize, Serialize};
    pub use uuid::Uuid;

    #[cfg(feature = "postgres")]
    pub use crate::PostgresEventStore;
    #[cfg(feature = "sqlite")]
    pub use crate::SqliteEventStore;

    pub use crate::process::{ProcessRunner, Steps};
    pub use crate::{
        Aggregate, AggregateCommand, AnyEventStore, App, BuildError, Command, CommandError,
        CommandMetadata, Committed, Event, EventMeta, EventSet, EventStore, ExpectedVersion,
        InMemoryEventStore, Projection, Query, QueryError, StreamAppend, Transacted, Transaction,
        TransactionError,
    };
}
