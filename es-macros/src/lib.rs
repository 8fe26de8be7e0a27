//! Derive and attribute macros for `es-core`. Use them through `es_core::prelude`: generated
//! code names only `::es_core::__private`, so a user depends on `es-core` alone.

mod aggregate;
mod command;
mod event;
mod internals;
mod process;
mod projection;
mod reactor;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Implements `es_core::Event`: the stored name and the schema version of an event type.
///
/// ```
/// use es_core::prelude::*;
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// #[event(name = "AccountOpened", version = 2)] // both optional: the type's name, version 1
/// pub struct AccountOpened { pub owner: String }
///
/// assert_eq!(<AccountOpened as Event>::NAME, "AccountOpened");
/// assert_eq!(<AccountOpened as Event>::VERSION, 2);
/// ```
///
/// expands to roughly
///
/// ```text
/// impl ::es_core::__private::Event for AccountOpened {
///     const NAME: &'static str = "AccountOpened";
///     const VERSION: u16 = 2;
/// }
/// ```
///
/// Keys of `#[event(..)]`: `name = ".."` (keep it stable across renames of the type),
/// `version = N` (at least 1; bump it when the payload changes), `upcasters = [f, g]`,
/// `crate = ".."` (the path of the runtime crate when it is not `::es_core`). The type is a
/// struct or an enum.
///
/// `upcasters` lists one function per older schema version, oldest first, each
/// `fn(es_core::JsonValue) -> es_core::JsonValue` turning a payload of version `n` into one of
/// `n + 1`. They run on read, before decoding; stored events are never rewritten. Without
/// `upcasters`, a payload of an older version decodes as it is (enough for a new field with
/// `#[serde(default)]`).
///
/// ```
/// use es_core::prelude::*;
/// use es_core::{JsonValue, json};
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// #[event(version = 3, upcasters = [v1_to_v2, v2_to_v3])]
/// pub struct AccountOpened { pub owner: String, pub currency: String }
///
/// fn v1_to_v2(mut v: JsonValue) -> JsonValue { json!({ "owner": v["name"].take() }) }
/// fn v2_to_v3(mut v: JsonValue) -> JsonValue { v["currency"] = json!("EUR"); v }
///
/// assert_eq!(<AccountOpened as Event>::VERSION, 3);
/// ```
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    event::derive(input.into()).into()
}

/// Implements `es_core::Command`: the field marked `#[id]` routes the command to one aggregate
/// instance (its stream is `{aggregate name}-{id}`).
///
/// ```
/// use es_core::prelude::*;
///
/// #[derive(Command, Debug, Clone)]
/// pub struct Withdraw {
///     #[id]
///     pub account: String,
///     pub amount: u64,
/// }
///
/// let cmd = Withdraw { account: "alice".into(), amount: 30 };
/// assert_eq!(cmd.aggregate_id(), "alice");
/// ```
///
/// expands to roughly
///
/// ```text
/// impl ::es_core::__private::Command for Withdraw {
///     type Id = String;
///     fn aggregate_id(&self) -> &String { &self.account }
/// }
/// ```
///
/// Exactly one field carries `#[id]` (tuple structs too: `struct Close(#[id] String);`); its
/// type implements `Display`. The derive takes no other attribute, so that it sits beside
/// derives that own `#[command(..)]` (clap's). With the runtime crate under another name, make
/// `::es_core` resolve with `extern crate my_es as es_core;` at the crate root.
#[proc_macro_derive(Command, attributes(id))]
pub fn derive_command(input: TokenStream) -> TokenStream {
    command::derive(input.into()).into()
}

/// Implements `es_core::Aggregate` from the aggregate's inherent `impl` block: one `#[apply]`
/// method per event it records, one `#[handle]` method per command it decides.
///
/// ```
/// use es_core::prelude::*;
///
/// # #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// # pub struct MoneyWithdrawn { pub amount: u64 }
/// # #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// # pub struct QuoteGiven { pub price: u64 }
/// # #[derive(Command, Debug, Clone)]
/// # pub struct Withdraw { #[id] pub account: String, pub amount: u64 }
/// # #[derive(Command, Debug, Clone)]
/// # pub struct Quote { #[id] pub account: String }
/// # #[derive(Debug, Clone, PartialEq, thiserror::Error)]
/// # pub enum BankError { #[error("insufficient funds")] InsufficientFunds }
/// /// What handlers may use besides the state: here, a price list.
/// #[derive(Debug, Default)]
/// pub struct Pricing { fee: u64 }
///
/// #[derive(Debug, Clone, Default)]
/// pub struct BankAccount { balance: u64 }
///
/// #[aggregate(name = "bank-account", error = BankError, services = Pricing)]
/// impl BankAccount {
///     #[handle]
///     fn withdraw(&self, cmd: Withdraw) -> Result<MoneyWithdrawn, BankError> {
///         if cmd.amount > self.balance { return Err(BankError::InsufficientFunds); }
///         Ok(MoneyWithdrawn { amount: cmd.amount })
///     }
///     #[handle]
///     async fn quote(&self, _cmd: Quote, pricing: &Pricing) -> Option<QuoteGiven> {
///         Some(QuoteGiven { price: pricing.fee })
///     }
///     #[apply]
///     fn withdrawn(&mut self, e: &MoneyWithdrawn) { self.balance -= e.amount; }
///     #[apply]
///     fn quoted(&mut self, _e: &QuoteGiven) {}
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = App::builder(InMemoryEventStore::new())
///     .aggregate_with::<BankAccount>(Pricing { fee: 2 })
///     .build().expect("build the app");
/// let quoted = app.send(Quote { account: "alice".into() }).await.unwrap();
/// assert_eq!(quoted.events, vec![BankAccountEvent::QuoteGiven(QuoteGiven { price: 2 })]);
/// let refused = app.send(Withdraw { account: "alice".into(), amount: 5 }).await.unwrap_err();
/// assert_eq!(refused.rejection(), Some(&BankError::InsufficientFunds));
/// # }
/// ```
///
/// expands to the `impl` block (without our attributes) and roughly
///
/// ```text
/// pub enum BankAccountEvent { MoneyWithdrawn(MoneyWithdrawn), QuoteGiven(QuoteGiven) }
/// pub enum BankAccountCommand { Withdraw(Withdraw), Quote(Quote) }
/// // EventSet for BankAccountEvent (stored names, versions, untagged payloads), From each event,
/// // EventOf<BankAccountEvent> for each event type, IntoEvents<BankAccountEvent> for
/// // Vec<BankAccountEvent>, From each command, AggregateCommand for each command type (so
/// // `app.send(Withdraw { .. })` finds `BankAccount`), and:
/// impl ::es_core::__private::Aggregate for BankAccount {
///     const NAME: &'static str = "bank-account";
///     type Event = BankAccountEvent;
///     type Command = BankAccountCommand;
///     type Error = BankError;
///     type Services = ();
///     fn apply(&mut self, event: &BankAccountEvent) {
///         match *event {
///             BankAccountEvent::MoneyWithdrawn(ref e) => self.withdrawn(e),
///             BankAccountEvent::QuoteGiven(ref e) => self.quoted(e),
///         }
///     }
///     fn handle(&self, command: BankAccountCommand, services: &())
///         -> impl Future<Output = Result<Vec<BankAccountEvent>, BankError>> + Send {
///         async move {
///             match command {
///                 BankAccountCommand::Withdraw(cmd) => fallible(self.withdraw(cmd)),
///                 BankAccountCommand::Quote(cmd) => infallible(self.quote(cmd, services).await),
///             }
///         }
///     }
/// }
/// ```
///
/// # Methods
/// - `#[apply] fn ..(&mut self, e: &Event)`: not `async`, returns nothing. `Event` (a
///   `#[derive(Event)]` type) becomes the variant named by its last path segment.
/// - `#[handle] [async] fn ..(&self, cmd: Command) -> R`, or with a second parameter
///   `services: &Services`. `Command` (a `#[derive(Command)]` type) becomes a variant of the
///   command enum. `R` is a `Result<T, E>` when its last path segment is `Result` (then
///   `E: Into<Error>`), else `T` itself; `T` is one event, `Vec<_>`, `Option<_>`, a tuple of
///   events, `()`, or `Vec<{Aggregate}Event>` (the generated enum, when the handler picks
///   among several event types at run time). Every event returned must have an `#[apply]`.
/// - `#[cfg(..)]` on a method is copied onto everything generated for it; other methods are
///   left alone.
/// - Marked methods get `#[allow]` for the pedantic clippy lints their required signature
///   triggers (`unused_self`, `needless_pass_by_value`, `trivially_copy_pass_by_ref`).
///
/// # Errors
/// Every misuse the macro can see is reported in one build, at the offending token: a method
/// with the wrong receiver, arity or parameter kind, an `async` `#[apply]`, two methods for one
/// event or command type, both attributes on one method, an unknown option (with a suggestion),
/// a trait impl or a generic block. What only the type checker sees is reported at the user's
/// token too: a handler returning an event that has no `#[apply]`, a parameter type that is not
/// a `#[derive(Command)]` or `#[derive(Event)]` type, two events with one stored name. On error
/// the block is still emitted, without the marker attributes, with stand-in enums and impls, so
/// that code naming them adds no errors of its own.
///
/// # Options
/// - `name = ".."`: the stream prefix; default the type's name in kebab-case
///   (`BankAccount` -> `bank-account`).
/// - `error = Type`: the domain error; default `core::convert::Infallible`.
/// - `services = Type`: what handlers may take as `&Type`; default `()`.
/// - `event = Name`, `command = Name`: the generated enums; default `{Aggregate}Event` and
///   `{Aggregate}Command`.
/// - `vis = pub(crate)`: the visibility of both enums; default `pub`. The enums, the aggregate
///   and its command types must agree in visibility: each names another in an associated type of
///   a trait impl, where Rust forbids a less visible type (E0446).
/// - `snapshot_every = N`: save a snapshot of the state whenever the stream has grown by `N`
///   events (at least 1) since the last one; a new cache entry then loads the newest snapshot
///   and replays only the tail. The state must be `Serialize` and `Deserialize`. Default: no
///   snapshots.
/// - `snapshot_version = N`: the schema version of the snapshotted state (default 1): bump it
///   when the state's shape changes, and older snapshots are ignored (the stream is replayed).
/// - `crate = ".."`: the path of the runtime crate; default `::es_core`.
///
/// An aggregate with no `#[handle]` or no `#[apply]` method is allowed (its enum is empty).
#[proc_macro_attribute]
pub fn aggregate(args: TokenStream, item: TokenStream) -> TokenStream {
    aggregate::attribute(args.into(), item.into()).into()
}

/// Implements `es_core::Projection` for a read model from its `#[on]` methods, and
/// `es_core::Query` for the query type of each `#[query]` method.
///
/// ```
/// use std::collections::HashMap;
///
/// use es_core::prelude::*;
///
/// # #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// # pub struct MoneyDeposited { pub amount: u64 }
/// # #[derive(Command, Debug, Clone)]
/// # pub struct Deposit { #[id] pub account: String, pub amount: u64 }
/// # #[derive(Debug, Clone, Default)]
/// # pub struct BankAccount;
/// # #[aggregate(name = "bank-account")]
/// # impl BankAccount {
/// #     #[handle]
/// #     fn deposit(&self, cmd: Deposit) -> MoneyDeposited { MoneyDeposited { amount: cmd.amount } }
/// #     #[apply]
/// #     fn deposited(&mut self, _e: &MoneyDeposited) {}
/// # }
/// #[derive(Debug, Default)]
/// pub struct Balances { by_account: HashMap<String, u64> }
///
/// #[derive(Debug)]
/// pub struct GetBalance { pub account: String }
///
/// #[projection(name = "balances")]
/// impl Balances {
///     #[on]
///     fn deposited(&mut self, e: &MoneyDeposited, meta: &EventMeta<'_>) {
///         *self.by_account.entry(meta.aggregate_id().to_owned()).or_default() += e.amount;
///     }
///     #[query]
///     fn balance(&self, q: GetBalance) -> Option<u64> { self.by_account.get(&q.account).copied() }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::builder(InMemoryEventStore::new())
///     .aggregate::<BankAccount>()
///     .projection(Balances::default())
///     .build()?;
/// app.send(Deposit { account: "alice".into(), amount: 50 }).await?;
/// assert_eq!(app.query(GetBalance { account: "alice".into() }).await?, Some(50));
/// # Ok(())
/// # }
/// ```
///
/// expands to roughly
///
/// ```text
/// impl ::es_core::__private::Projection for Balances {
///     const NAME: &'static str = "balances";
///     const DURABLE: bool = false;
///     const SKIP_NEWER: bool = false;
///     fn apply<C: Codec>(&mut self, meta: EventMeta<'_>, codec: &C) -> Result<(), Error> {
///         // `Some` when the event is a `MoneyDeposited`: decoded, handled, the outcome
///         // naming the projection and the event.
///         if let Some(outcome) = on_event::<MoneyDeposited, C, _>(
///             "balances", Self::SKIP_NEWER, codec, meta, |e| self.deposited(e, &meta),
///         ) {
///             return outcome;
///         }
///         Ok(()) // an event this projection does not handle: skipped, never decoded
///     }
/// }
/// impl ::es_core::__private::Query for GetBalance {
///     type Response = Option<u64>;
///     type Projection = Balances;
///     fn ask(self, projection: &Balances) -> Option<u64> { projection.balance(self) }
/// }
/// ```
///
/// An `#[on]` method takes `&mut self`, the event by reference (any aggregate's
/// `#[derive(Event)]` type) and optionally `&EventMeta` (stream, aggregate id, version,
/// position, timestamp, correlation and causation ids); it returns `()` or `Result<(), E>`, and an error stops the
/// projection at that event. A `#[query]` method takes `&self` and the query by value; its
/// return type is the query's response. Each query type has one handler, by construction.
///
/// # Options
/// - `name = ".."`: the projection's name, under which its checkpoint is stored; default the
///   type's name in kebab-case.
/// - `durable`: the read model outlives the process (its own tables, files, side effects), so a
///   background run resumes from the stored checkpoint; by default it is rebuilt from the start.
/// - `skip_newer`: an event it handles stored with a schema version newer than the code (written
///   by a newer deployment) is skipped with a warning; by default it stops the projection with
///   an error naming the event.
/// - `crate = ".."`: the path of the runtime crate; default `::es_core`.
#[proc_macro_attribute]
pub fn projection(args: TokenStream, item: TokenStream) -> TokenStream {
    projection::attribute(args.into(), item.into()).into()
}

/// Implements `ProcessManager` for a process manager's state from its `impl` block: a
/// long-running process across aggregates, one instance per correlation key.
///
/// ```
/// use std::time::Duration;
/// use es_core::prelude::*;
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// struct TransferRequested { transfer: String, from: String, amount: u64 }
///
/// #[derive(Command, Debug, Clone)]
/// struct Withdraw { #[id] account: String, amount: u64 }
/// # #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// # struct MoneyWithdrawn { amount: u64 }
/// # #[derive(Debug, thiserror::Error)] #[error("no funds")] struct NoFunds;
/// # #[derive(Debug, Clone, Default)] struct Account;
/// # #[aggregate(name = "account", error = NoFunds)]
/// # impl Account {
/// #     #[handle] fn withdraw(&self, c: Withdraw) -> Result<MoneyWithdrawn, NoFunds> { Err(NoFunds) }
/// #     #[apply] fn withdrawn(&mut self, _e: &MoneyWithdrawn) {}
/// # }
///
/// #[derive(Debug, Clone, Default, Serialize, Deserialize)]
/// struct Transfer { from: String, amount: u64, failed: bool }
///
/// #[process_manager(name = "transfer")]
/// impl Transfer {
///     #[on(key = transfer)]                   // the event's field that names the instance
///     fn requested(&mut self, e: &TransferRequested) -> Steps {
///         self.from.clone_from(&e.from);
///         self.amount = e.amount;
///         Steps::new()
///             .send(Withdraw { account: e.from.clone(), amount: e.amount })
///             .deadline_in("overdue", Duration::from_secs(60))
///     }
///     #[refused]                              // a command of this instance was refused
///     fn withdrawal_refused(&mut self, _cmd: &Withdraw, _error: &NoFunds) -> Steps {
///         self.failed = true;
///         Steps::new().cancel_deadline("overdue").done()
///     }
///     #[deadline]                             // named after the method
///     fn overdue(&mut self) -> Steps {
///         Steps::new().done()
///     }
/// }
/// ```
///
/// Methods take `&mut self` (the instance's state, stored after every step) and may be
/// `async`. `#[on(key = field)]` methods take the event by reference, then optionally
/// `meta: &EventMeta`; the key field (`key = 0` for a tuple struct) names the instance, so its
/// type implements `Display`. `#[refused]` methods take the refused command (a
/// `#[derive(Command)]` type) and the aggregate's error, by reference; `#[deadline]` methods
/// nothing. Each may take `services: &Services` last when
/// the block names them. They return `Steps` (commands to send, deadlines to set or cancel,
/// `done()`) or `()`.
///
/// # Options
/// - `name = ".."`: names its streams, checkpoint and lease; default the type's name in
///   kebab-case.
/// - `services = Type`: what its methods may take besides the event; default `()`.
/// - `crate = ".."`: the path of the runtime crate; default `::es_core`.
#[proc_macro_attribute]
pub fn process_manager(args: TokenStream, item: TokenStream) -> TokenStream {
    process::attribute(args.into(), item.into()).into()
}

/// Implements `Reactor` from an `impl` block's `#[on]` methods: the stateless case of work that
/// follows events. Each method takes `&self` and the event by reference (then optionally
/// `meta: &EventMeta`, and `services: &Services` when the block names them), may be `async`,
/// does its side effects (delivered at least once: use `meta.event_id()` as their idempotency
/// key), and returns `Steps` (commands to send, each keyed by the event's id), `()`, or a
/// `Result` of either.
///
/// ```
/// use es_core::prelude::*;
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// struct AccountOpened { owner: String }
/// # #[derive(Command, Debug, Clone)] struct Open { #[id] account: String }
/// # #[derive(Debug, Clone, Default)] struct Account;
/// # #[aggregate(name = "account")]
/// # impl Account {
/// #     #[handle] fn open(&self, _c: Open) -> AccountOpened { AccountOpened { owner: String::new() } }
/// #     #[apply] fn opened(&mut self, _e: &AccountOpened) {}
/// # }
///
/// #[derive(Debug, Default)]
/// struct Mailer;
/// # #[derive(Debug, thiserror::Error)] #[error("mail server down")] struct MailError;
/// impl Mailer {
///     async fn send_once(&self, key: Uuid, to: &str) -> Result<(), MailError> { Ok(()) }
/// }
///
/// #[derive(Debug)]
/// struct WelcomeMail;
///
/// #[reactor(name = "welcome-mail", services = Mailer)]
/// impl WelcomeMail {
///     #[on]
///     async fn opened(&self, e: &AccountOpened, meta: &EventMeta<'_>, mailer: &Mailer)
///         -> Result<(), MailError>
///     {
///         mailer.send_once(meta.event_id(), &e.owner).await
///     }
/// }
/// ```
///
/// # Options
/// - `name = ".."`: names its checkpoint and lease; default the type's name in kebab-case.
/// - `services = Type`: what its methods may take besides the event; default `()`.
/// - `crate = ".."`: the path of the runtime crate; default `::es_core`.
#[proc_macro_attribute]
pub fn reactor(args: TokenStream, item: TokenStream) -> TokenStream {
    reactor::attribute(args.into(), item.into()).into()
}
