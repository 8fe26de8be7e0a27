//! The application: a store, the aggregates it serves, the projections it hosts, and the
//! command path between them.
//!
//! The command path (`command`): load (cache, else snapshot and replay), handle, append with
//! the exact expected version, apply, feed the inline projections, return; on a conflict,
//! catch up and retry.

mod build_error;
mod builder;
mod cache;
mod command;
mod dispatch;
mod idempotency;
mod inline;
mod metadata;
mod outcome;
mod projections;
mod query;
mod replay;
mod snapshot;
mod transaction;

use std::any::{Any, TypeId, type_name};
use std::sync::Arc;

// Keyed by `TypeId`s, looked up on every command: the faster hasher (foldhash), not SipHash.
use foldhash::HashMap;
use tracing::Instrument;

use crate::aggregate::Aggregate;
use crate::codec::{Codec, Json};
use crate::command::AggregateCommand;
use crate::store::EventStore;

pub use build_error::BuildError;
pub use builder::AppBuilder;
use cache::{Cache, lock};
pub(crate) use dispatch::Sent;
pub use metadata::CommandMetadata;
pub use outcome::{CommandError, Committed, QueryError};
use projections::Hosted;
pub use transaction::{Transacted, Transaction, TransactionError};

/// The application: a store, the aggregates it serves, and the command path between them.
///
/// Cheap to clone (one `Arc`); clones share the store and the aggregate cache. Commands to
/// different streams run concurrently; commands to one stream queue behind each other in this
/// process, so optimistic conflicts come only from other processes or nodes.
///
/// # Examples
/// ```
/// use es_core::prelude::*;
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// struct MoneyDeposited { amount: u64 }
///
/// #[derive(Command, Debug, Clone)]
/// struct Deposit { #[id] account: String, amount: u64 }
///
/// #[derive(Default, Debug, Clone)]
/// struct BankAccount { balance: u64 }
///
/// #[aggregate(name = "bank-account")]
/// impl BankAccount {
///     #[handle]
///     fn deposit(&self, cmd: Deposit) -> MoneyDeposited { MoneyDeposited { amount: cmd.amount } }
///     #[apply]
///     fn deposited(&mut self, e: &MoneyDeposited) { self.balance += e.amount; }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::builder(InMemoryEventStore::new()).aggregate::<BankAccount>().build()?;
/// let committed = app.send(Deposit { account: "alice".into(), amount: 50 }).await?;
/// assert_eq!((committed.stream.as_str(), committed.version), ("bank-account-alice", 1));
/// let (account, version) = app.load::<BankAccount>("alice").await?;
/// assert_eq!((account.balance, version), (50, 1));
/// # Ok(())
/// # }
/// ```
pub struct App<S, C = Json> {
    inner: Arc<Inner<S, C>>,
}

impl<S, C> std::fmt::Debug for App<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("store", &type_name::<S>())
            .field("aggregates", &self.inner.slots.len())
            .field(
                "projections",
                &self
                    .inner
                    .projections
                    .iter()
                    .map(|projection| projection.name())
                    .collect::<Vec<_>>(),
            )
            .field("max_retries", &self.inner.max_retries)
            .finish_non_exhaustive()
    }
}

impl<S, C> Clone for App<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<S, C> {
    store: S,
    codec: C,
    max_retries: u32,
    /// Per aggregate type, its [`Slot`], type-erased.
    slots: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    /// Every hosted projection, in registration order.
    projections: Vec<Arc<dyn Hosted<S, C>>>,
    /// Per projection type, its `Arc<Host<P>>`, type-erased.
    hosts: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    /// Per stored event name, the [`Aggregate::NAME`] of the registered aggregate that records
    /// it (one at most: `build` refuses two), for [`EventMeta`](crate::EventMeta).
    owners: HashMap<&'static str, &'static str>,
    /// Per aggregate type, its command path for erased commands (process managers, reactors).
    dispatchers: HashMap<TypeId, dispatch::Dispatcher<S, C>>,
}

/// What the app keeps per aggregate type.
struct Slot<A: Aggregate> {
    services: A::Services,
    cache: Cache<A>,
}

impl<S: EventStore, C: Codec> App<S, C> {
    /// The store this app writes to.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// Handles `command`: loads its aggregate (cached, else replayed), decides, appends with the
    /// exact expected version and applies the events to the cached state.
    ///
    /// A refusal, or a decision that writes nothing, is returned only when taken on the stream's
    /// latest state: when the cached state was not just read, the stream's version is checked
    /// first, so a stale cache never refuses what the current state would accept.
    ///
    /// A handler must not send a command to its own stream (directly or through its services):
    /// the stream's lock is held while it runs, so that would wait forever.
    ///
    /// # Errors
    /// [`CommandError::Rejected`] with the aggregate's own error; [`CommandError::Store`] when
    /// the store fails or a stored event cannot be decoded; [`CommandError::TooManyConflicts`]
    /// when other writers won every retry. After [`Error::Backend`](crate::Error::Backend), or when the future is
    /// dropped before it completes, the events may or may not have been committed: load the
    /// aggregate to find out before sending the command again.
    pub async fn send<Cmd>(
        &self,
        command: Cmd,
    ) -> Result<Committed<Cmd::Aggregate>, CommandError<<Cmd::Aggregate as Aggregate>::Error>>
    where
        Cmd: AggregateCommand + Clone,
    {
        self.send_with(command, CommandMetadata::default()).await
    }

    /// [`send`](Self::send) with metadata: a correlation id, user key-values for the events, an
    /// idempotency key.
    ///
    /// With an idempotency key already used on the command's stream, the original outcome comes
    /// back (with [`Committed::duplicate`] set) and nothing is handled or written: a client may
    /// resend a command whose answer it lost.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_with<Cmd>(
        &self,
        command: Cmd,
        metadata: CommandMetadata,
    ) -> Result<Committed<Cmd::Aggregate>, CommandError<<Cmd::Aggregate as Aggregate>::Error>>
    where
        Cmd: AggregateCommand + Clone,
    {
        let stream = Cmd::Aggregate::stream_name(command.aggregate_id());
        let mut metadata = metadata.resolve();
        let span =
            command::command_span::<Cmd::Aggregate>(&stream, type_name::<Cmd>(), &mut metadata);
        self.send_to(
            stream,
            || command.clone().into_command(),
            metadata,
            span.clone(),
        )
        .instrument(span)
        .await
    }

    /// Loads the current state of the aggregate with this id, from the cache or by replay.
    ///
    /// # Errors
    /// [`CommandError::Store`] when the store fails or an event cannot be decoded.
    pub async fn load<A: Aggregate + Clone>(
        &self,
        id: &(impl std::fmt::Display + ?Sized),
    ) -> Result<(A, u64), CommandError<A::Error>> {
        let stream = A::stream_name(id);
        let slot = self.slot::<A>()?;
        let entry = slot.cache.entry(&stream);
        let mut hydrated = lock(&entry).await;
        self.catch_up(&stream, &mut hydrated).await?;
        Ok((hydrated.state.clone(), hydrated.version))
    }

    fn slot<A: Aggregate>(&self) -> Result<&Slot<A>, CommandError<A::Error>> {
        self.inner
            .slots
            .get(&TypeId::of::<A>())
            .and_then(|slot| slot.downcast_ref::<Slot<A>>())
            .ok_or(CommandError::NotRegistered {
                aggregate: type_name::<A>(),
            })
    }
}
