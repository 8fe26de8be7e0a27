//! The command path: load (cache, else replay), handle, append with the exact expected version,
//! apply, return; on a conflict, catch up and retry.

mod cache;
mod metadata;
mod projections;

use std::any::{Any, TypeId, type_name};
use std::sync::Arc;
use std::time::Duration;

// Keyed by `TypeId`s, looked up on every command: the faster hasher (foldhash), not SipHash.
use foldhash::{HashMap, HashMapExt};
use tracing::Instrument;

use crate::aggregate::Aggregate;
use crate::codec::{Codec, Json};
use crate::command::AggregateCommand;
use crate::error::Error;
use crate::event::EventSet;
use crate::projection::{Projection, Query};
use crate::record::{NewEvent, RecordedEvent, Snapshot, Timestamp};
use crate::store::{AppendResult, EventStore, ExpectedVersion};

use cache::{Cache, Hydrated, lock};
pub use metadata::CommandMetadata;
use metadata::{Resolved, idempotent_id};
use projections::{Host, Hosted, Registration, error_chain};

/// How many events a replay reads per round trip.
const REPLAY_BATCH: usize = 1024;

/// The application: a store, the aggregates it serves, and the command path between them.
///
/// Cheap to clone (one `Arc`); clones share the store and the aggregate cache. Commands to
/// different streams run concurrently; commands to one stream queue behind each other in this
/// process, so optimistic conflicts come only from other processes or nodes.
///
/// # Examples
/// ```ignore
/// let app = App::builder(InMemoryEventStore::new()).aggregate::<BankAccount>().build();
/// let committed = app.send(Deposit { account: "alice".into(), amount: 50 }).await?;
/// ```
pub struct App<S, C = Json> {
    inner: Arc<Inner<S, C>>,
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
}

/// What the app keeps per aggregate type.
struct Slot<A: Aggregate> {
    services: A::Services,
    cache: Cache<A>,
}

/// A [`Slot`] of any aggregate type, as the builder holds it.
trait AnySlot: Any + Send + Sync {
    fn set_cache_capacity(&mut self, capacity: usize);
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send + Sync>;
}

impl<A: Aggregate> AnySlot for Slot<A> {
    fn set_cache_capacity(&mut self, capacity: usize) {
        self.cache.set_capacity(capacity);
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send + Sync> {
        self
    }
}

/// Builds an [`App`]: the store, then each aggregate with its services.
pub struct AppBuilder<S, C = Json> {
    store: S,
    codec: C,
    max_retries: u32,
    cache_capacity: usize,
    slots: HashMap<TypeId, Box<dyn AnySlot>>,
    projections: Vec<(TypeId, Registration<S, C>)>,
}

impl<S: EventStore> App<S> {
    /// Starts building an app over `store`, with the JSON codec.
    pub fn builder(store: S) -> AppBuilder<S> {
        AppBuilder {
            store,
            codec: Json,
            max_retries: 5,
            cache_capacity: 10_000,
            slots: HashMap::new(),
            projections: Vec::new(),
        }
    }
}

impl<S: EventStore, C: Codec> AppBuilder<S, C> {
    /// Serves aggregate `A`, whose services are built with `Default`.
    #[must_use]
    pub fn aggregate<A: Aggregate>(self) -> Self
    where
        A::Services: Default,
    {
        self.aggregate_with::<A>(A::Services::default())
    }

    /// Serves aggregate `A` with the given services (a clock, a client) for its handlers.
    #[must_use]
    pub fn aggregate_with<A: Aggregate>(mut self, services: A::Services) -> Self {
        let slot = Slot::<A> {
            services,
            cache: Cache::new(self.cache_capacity),
        };
        self.slots.insert(TypeId::of::<A>(), Box::new(slot));
        self
    }

    /// How many times a command is retried after an optimistic-concurrency conflict (default 5).
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// How many hydrated aggregates each aggregate type keeps in memory (default 10,000).
    #[must_use]
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Uses another codec for payloads.
    ///
    /// # Panics
    /// When a projection is already registered: choose the codec first.
    pub fn codec<C2: Codec>(self, codec: C2) -> AppBuilder<S, C2> {
        assert!(
            self.projections.is_empty(),
            "call `codec(..)` before registering projections"
        );
        AppBuilder {
            store: self.store,
            codec,
            max_retries: self.max_retries,
            cache_capacity: self.cache_capacity,
            slots: self.slots,
            projections: Vec::new(),
        }
    }

    /// Hosts projection `P` inline: [`App::send`] applies a command's events to it before
    /// returning, so a query right after sees them, and [`App::query`] first applies whatever
    /// else the store has told this process of. Its state starts as given and catches up from
    /// the start of the log on first use.
    #[must_use]
    pub fn projection<P: Projection>(self, projection: P) -> Self {
        self.host(projection, false)
    }

    /// Hosts projection `P` in the background: a task follows the log and applies it (from the
    /// stored checkpoint when `P` is durable), so commands never wait for it. A failing event
    /// stops it there; it retries that event with a growing delay. Use [`App::query_at`] to
    /// read your own writes. [`build`](Self::build) must then run inside a Tokio runtime.
    #[must_use]
    pub fn background_projection<P: Projection>(self, projection: P) -> Self {
        self.host(projection, true)
    }

    fn host<P: Projection>(mut self, projection: P, background: bool) -> Self {
        self.projections
            .retain(|(type_id, _)| *type_id != TypeId::of::<P>());
        self.projections
            .push((TypeId::of::<P>(), Registration::new(projection, background)));
        self
    }

    /// The app.
    ///
    /// # Panics
    /// When a background projection is registered and no Tokio runtime is running.
    pub fn build(self) -> App<S, C> {
        let slots = self
            .slots
            .into_iter()
            .map(|(type_id, mut slot)| {
                slot.set_cache_capacity(self.cache_capacity);
                (type_id, slot.into_any())
            })
            .collect();
        let mut projections = Vec::with_capacity(self.projections.len());
        let mut hosts = HashMap::with_capacity(self.projections.len());
        let mut starts = Vec::new();
        for (type_id, registration) in self.projections {
            projections.push(registration.hosted);
            hosts.insert(type_id, registration.any);
            starts.extend(registration.start);
        }
        let inner = Arc::new(Inner {
            store: self.store,
            codec: self.codec,
            max_retries: self.max_retries,
            slots,
            projections,
            hosts,
        });
        for start in starts {
            start(Arc::downgrade(&inner));
        }
        App { inner }
    }
}

/// The outcome of a command that was accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed<A: Aggregate> {
    /// The stream the events were appended to.
    pub stream: String,
    /// The events the command produced, as committed (empty when it produced none).
    pub events: Vec<A::Event>,
    /// The stream's version after the command.
    pub version: u64,
    /// The global position of the last event appended; `None` when none was.
    pub position: Option<u64>,
    /// How many times the command was retried after a conflict.
    pub retries: u32,
    /// Whether its idempotency key had been used on the stream already: then `events`,
    /// `version` and `position` are those of the original command, and nothing new was written.
    pub duplicate: bool,
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// No projection that answers the query is hosted by this app.
    #[error(
        "query `{query}` is answered by projection `{projection}`, which this app does not host; \
         add `.projection(..)` or `.background_projection(..)` to the builder"
    )]
    NotRegistered {
        /// The query's type name.
        query: &'static str,
        /// The projection's name.
        projection: &'static str,
    },
    /// The store failed, or the projection failed on an event (the error names it).
    #[error(transparent)]
    Store(#[from] Error),
    /// The projection did not reach the position in time.
    #[error(
        "projection `{projection}` reached position {reached}, not {position}, within {timeout:?}{}",
        failure.as_ref().map_or_else(String::new, |failure| format!("; it is stopped at: {failure}"))
    )]
    Timeout {
        /// The projection's name.
        projection: &'static str,
        /// The position waited for.
        position: u64,
        /// The position it had reached.
        reached: u64,
        /// How long the query waited.
        timeout: Duration,
        /// The error a background projection is stopped at, if any.
        failure: Option<String>,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError<E> {
    /// The aggregate rejected the command with its own error; nothing was written.
    #[error(transparent)]
    Rejected(E),
    /// The store failed, or a stored event could not be read.
    #[error(transparent)]
    Store(#[from] Error),
    /// Other writers kept appending to the stream; the command was retried and gave up.
    #[error("gave up on stream `{stream}` after {retries} conflicting retries")]
    TooManyConflicts {
        /// The contended stream.
        stream: String,
        /// The retries made.
        retries: u32,
    },
    /// The app was not built with `.aggregate::<A>()` for this command's aggregate.
    #[error(
        "aggregate `{aggregate}` is not registered with this app; add `.aggregate::<{aggregate}>()`"
    )]
    NotRegistered {
        /// The aggregate's type name.
        aggregate: &'static str,
    },
}

impl<E> CommandError<E> {
    /// The domain rejection, if that is what this is.
    pub fn rejection(&self) -> Option<&E> {
        match self {
            Self::Rejected(error) => Some(error),
            _ => None,
        }
    }

    /// The domain rejection by value, if that is what this is.
    ///
    /// # Errors
    /// Gives `self` back when it is not a rejection.
    pub fn into_rejection(self) -> Result<E, Self> {
        match self {
            Self::Rejected(error) => Ok(error),
            other => Err(other),
        }
    }
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
    /// when other writers won every retry. After [`Error::Backend`], or when the future is
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
        let span = tracing::info_span!(
            "command",
            aggregate = Cmd::Aggregate::NAME,
            command = type_name::<Cmd>(),
            stream = %stream,
        );
        self.send_to(stream, command, metadata.resolve())
            .instrument(span)
            .await
    }

    async fn send_to<Cmd>(
        &self,
        stream: String,
        command: Cmd,
        metadata: Resolved,
    ) -> Result<Committed<Cmd::Aggregate>, CommandError<<Cmd::Aggregate as Aggregate>::Error>>
    where
        Cmd: AggregateCommand + Clone,
    {
        let slot = self.slot::<Cmd::Aggregate>()?;
        let entry = slot.cache.entry(&stream);
        let mut hydrated = lock(&entry).await;
        let mut retries = 0;
        loop {
            if let Some(key) = &metadata.idempotency_key {
                if let Some(original) = self.original_outcome(&stream, key, retries).await? {
                    return Ok(original);
                }
            }
            let just_read = !hydrated.fresh;
            if just_read {
                self.catch_up(&stream, &mut hydrated).await?;
            }
            let decided = Cmd::Aggregate::handle(
                &hydrated.state,
                command.clone().into_command(),
                &slot.services,
            )
            .await;
            // A decision that writes nothing meets no version check, so it stands only if taken
            // on the stream's latest state: the cache may be behind another node's appends.
            let writes_nothing = decided.as_ref().map_or(true, Vec::is_empty);
            if writes_nothing
                && !just_read
                && self.inner.store.stream_version(&stream).await? != hydrated.version
            {
                hydrated.fresh = false;
                continue;
            }
            let events = decided.map_err(CommandError::Rejected)?;
            if events.is_empty() {
                return Ok(Committed {
                    stream,
                    events,
                    version: hydrated.version,
                    position: None,
                    retries,
                    duplicate: false,
                });
            }
            let batch = self.encode(&stream, &events, &metadata)?;
            // A keyed batch has ids derived from the key, and the store answers a second append
            // of those ids at the same place with the first one's result: what it then holds
            // may be another sender's events, so compare.
            // Inline projections take the command's records without reading them back; a keyed
            // batch is compared with what the store holds.
            let keyed = metadata.idempotency_key.is_some();
            let sent = (keyed || self.inner.projections.iter().any(|p| p.is_inline()))
                .then(|| batch.clone());
            let expected = ExpectedVersion::Exact(hydrated.version);
            match self.inner.store.append(&stream, expected, batch).await {
                // The store answered a second append of the key's ids at the same place with
                // the first one's result: it may hold another sender's events.
                Ok(_)
                    if keyed
                        && !self
                            .stored_as_sent(&stream, hydrated.version, sent.as_deref())
                            .await? =>
                {
                    hydrated.fresh = false;
                }
                Ok(appended) => {
                    for (event, version) in events.iter().zip(appended.first_version..) {
                        hydrated.apply(event, version);
                    }
                    self.snapshot_if_due(&stream, &mut hydrated);
                    drop(hydrated);
                    self.project_inline(&stream, sent, &appended).await;
                    return Ok(Committed {
                        stream,
                        events,
                        version: appended.version,
                        position: Some(appended.position),
                        retries,
                        duplicate: false,
                    });
                }
                // A duplicate id of an idempotent command: another sender of the same key won
                // the race; the next turn of the loop finds its outcome.
                Err(conflict)
                    if conflict.is_conflict()
                        || (metadata.idempotency_key.is_some()
                            && matches!(conflict, Error::DuplicateEvent { .. })) =>
                {
                    hydrated.fresh = false;
                    if retries == self.inner.max_retries {
                        return Err(CommandError::TooManyConflicts { stream, retries });
                    }
                    retries += 1;
                    tracing::debug!(retries, "conflict; catching up and retrying");
                }
                Err(error) => {
                    // The append may or may not have happened: read the tail next time.
                    hydrated.fresh = false;
                    return Err(error.into());
                }
            }
        }
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

    /// Applies the events appended after the cached version: for a new entry, those after its
    /// newest snapshot, or all of them.
    async fn catch_up<A: Aggregate>(
        &self,
        stream: &str,
        hydrated: &mut Hydrated<A>,
    ) -> Result<(), Error> {
        if !hydrated.restored {
            hydrated.restored = true;
            self.restore(stream, hydrated).await?;
        }
        loop {
            let from = hydrated.version + 1;
            let codec = &self.inner.codec;
            let read = self
                .inner
                .store
                .fold_stream(stream, from, REPLAY_BATCH, &mut |record| {
                    let event: A::Event = record.decode(codec)?;
                    hydrated.apply(&event, record.version);
                    Ok(())
                })
                .await?;
            if read < REPLAY_BATCH {
                hydrated.fresh = true;
                self.snapshot_if_due(stream, hydrated);
                return Ok(());
            }
        }
    }

    /// Starts a new entry from the stream's newest snapshot, when the aggregate takes snapshots
    /// and one of its schema version decodes; otherwise leaves it empty, to be replayed.
    async fn restore<A: Aggregate>(
        &self,
        stream: &str,
        hydrated: &mut Hydrated<A>,
    ) -> Result<(), Error> {
        let Some(policy) = A::SNAPSHOT else {
            return Ok(());
        };
        let Some(snapshot) = self.inner.store.load_snapshot(stream, u64::MAX).await? else {
            return Ok(());
        };
        if snapshot.schema_version != policy.schema_version {
            tracing::debug!(
                snapshot = snapshot.version,
                schema_version = snapshot.schema_version,
                "snapshot of another schema version; replaying the stream"
            );
            return Ok(());
        }
        match A::decode_snapshot(&self.inner.codec, &snapshot.payload) {
            Some(Ok(state)) => {
                hydrated.state = state;
                hydrated.version = snapshot.version;
                hydrated.snapshot_version = snapshot.version;
            }
            Some(Err(error)) => tracing::warn!(
                snapshot = snapshot.version,
                error = %error,
                "cannot decode the snapshot of stream `{stream}` at version {}; replaying the stream",
                snapshot.version
            ),
            None => {}
        }
        Ok(())
    }

    /// Saves a snapshot of the state when the stream has grown by the aggregate's `every`
    /// events since the last one. The save runs in its own task: a snapshot is a cache, so the
    /// command neither waits for it nor fails with it.
    fn snapshot_if_due<A: Aggregate>(&self, stream: &str, hydrated: &mut Hydrated<A>) {
        let Some(policy) = A::SNAPSHOT else {
            return;
        };
        if hydrated.version
            < hydrated
                .snapshot_version
                .saturating_add(policy.every.max(1))
        {
            return;
        }
        // Marked as taken either way: a state that does not serialize is not retried per event.
        hydrated.snapshot_version = hydrated.version;
        match hydrated.state.encode_snapshot(&self.inner.codec) {
            Some(Ok(payload)) => {
                let snapshot = Snapshot {
                    version: hydrated.version,
                    schema_version: policy.schema_version,
                    payload: payload.into(),
                };
                let inner = Arc::clone(&self.inner);
                let stream = stream.to_owned();
                tokio::spawn(async move {
                    let version = snapshot.version;
                    if let Err(error) = inner.store.save_snapshot(&stream, snapshot).await {
                        tracing::warn!(
                            error = %error,
                            "cannot save the snapshot of stream `{stream}` at version {version}"
                        );
                    }
                });
            }
            Some(Err(error)) => tracing::warn!(
                error = %error,
                "cannot serialize the state of stream `{stream}` for a snapshot"
            ),
            None => {}
        }
    }

    /// Whether the events stored after `version` are those of `sent` (name and payload).
    async fn stored_as_sent(
        &self,
        stream: &str,
        version: u64,
        sent: Option<&[NewEvent]>,
    ) -> Result<bool, Error> {
        let sent = sent.unwrap_or_default();
        let stored = self
            .inner
            .store
            .read_stream(stream, version + 1, sent.len())
            .await?;
        Ok(stored.len() == sent.len()
            && stored
                .iter()
                .zip(sent)
                .all(|(stored, sent)| *stored.name == *sent.name && stored.payload == sent.payload))
    }

    /// Brings the inline projections up to a command's last event, taking its records as
    /// appended. A projection that fails stays before the failing event and logs it; the next
    /// query retries and reports the error. The command stands either way.
    async fn project_inline(
        &self,
        stream: &str,
        sent: Option<Vec<NewEvent>>,
        appended: &AppendResult,
    ) {
        let inline = self.inner.projections.iter().filter(|p| p.is_inline());
        let mut records = Vec::new();
        if let Some(sent) = sent {
            let count = sent.len() as u64;
            // Positions of one batch are contiguous on every bundled store; otherwise read.
            if appended.position - appended.first_position + 1 == count {
                let stream: Arc<str> = Arc::from(stream);
                records = (0..)
                    .zip(sent)
                    .map(|(offset, event)| RecordedEvent {
                        id: event.id,
                        stream: Arc::clone(&stream),
                        version: appended.first_version + offset,
                        position: appended.first_position + offset,
                        name: Arc::from(event.name),
                        schema_version: event.schema_version,
                        payload: event.payload,
                        metadata: event.metadata,
                    })
                    .collect();
            }
        }
        for projection in inline {
            let advanced = projection
                .advance_dyn(
                    &self.inner.store,
                    &self.inner.codec,
                    appended.position,
                    &records,
                )
                .await;
            if let Err(error) = advanced {
                tracing::warn!(
                    projection = projection.name(),
                    error = %error_chain(&error),
                    "inline projection stopped; the next query retries"
                );
            }
        }
    }

    /// Answers `query` from the projection that handles it. An inline projection first applies
    /// what the store has told this process of (every append of this process); a background
    /// one answers from where it is.
    ///
    /// # Errors
    /// [`QueryError::NotRegistered`] when the app does not host the projection;
    /// [`QueryError::Store`] when catching up fails (a projection stuck on an event names it).
    pub async fn query<Q: Query>(&self, query: Q) -> Result<Q::Response, QueryError> {
        let host = self.host::<Q>()?;
        if !host.background {
            let head = *self.inner.store.head().borrow();
            if host.position() < head {
                host.advance(&self.inner.store, &self.inner.codec, head, &[])
                    .await?;
            }
        }
        let tracked = host.state.read().await;
        Ok(query.ask(&tracked.projection))
    }

    /// Answers `query` once the projection has applied the global log up to `position` (the
    /// [`Committed::position`] of a command, for reading your own writes), waiting up to
    /// `timeout` for a background projection.
    ///
    /// # Errors
    /// As [`query`](Self::query), and [`QueryError::Timeout`] (with the error a background
    /// projection is stopped at, if any) when it does not get there in time.
    pub async fn query_at<Q: Query>(
        &self,
        query: Q,
        position: u64,
        timeout: Duration,
    ) -> Result<Q::Response, QueryError> {
        let host = self.host::<Q>()?;
        if host.background {
            let mut applied = host.applied();
            let reached =
                tokio::time::timeout(timeout, applied.wait_for(|&at| at >= position)).await;
            if !matches!(reached, Ok(Ok(_))) {
                return Err(QueryError::Timeout {
                    projection: <Q::Projection as Projection>::NAME,
                    position,
                    reached: host.position(),
                    timeout,
                    failure: host.failure(),
                });
            }
        } else if host.position() < position {
            host.advance(&self.inner.store, &self.inner.codec, position, &[])
                .await?;
        }
        let tracked = host.state.read().await;
        Ok(query.ask(&tracked.projection))
    }

    /// The position of the last event projection `P` has applied.
    ///
    /// # Errors
    /// [`QueryError::NotRegistered`] when the app does not host `P`.
    pub fn projection_position<P: Projection>(&self) -> Result<u64, QueryError> {
        Ok(self.host_of::<P>(type_name::<P>())?.position())
    }

    /// Rebuilds projection `P` from the start of the log into `fresh` (an empty read model),
    /// resetting its checkpoint; `progress` is called with the position reached after each
    /// batch (for a progress bar: the total is the store's head). Queries wait meanwhile.
    ///
    /// # Errors
    /// [`QueryError::NotRegistered`], or [`QueryError::Store`] when the replay fails (the
    /// projection then stays before the failing event).
    pub async fn rebuild<P: Projection>(
        &self,
        fresh: P,
        progress: impl FnMut(u64),
    ) -> Result<u64, QueryError> {
        let host = self.host_of::<P>(type_name::<P>())?;
        Ok(host
            .rebuild(&self.inner.store, &self.inner.codec, fresh, progress)
            .await?)
    }

    fn host<Q: Query>(&self) -> Result<&Host<Q::Projection>, QueryError> {
        self.host_of::<Q::Projection>(type_name::<Q>())
    }

    fn host_of<P: Projection>(&self, asked: &'static str) -> Result<&Host<P>, QueryError> {
        self.inner
            .hosts
            .get(&TypeId::of::<P>())
            .and_then(|host| host.downcast_ref::<Host<P>>())
            .ok_or(QueryError::NotRegistered {
                query: asked,
                projection: P::NAME,
            })
    }

    /// The outcome of the command that used idempotency `key` on `stream` before, if one did:
    /// its events are found by the ids derived from the key.
    async fn original_outcome<A: Aggregate>(
        &self,
        stream: &str,
        key: &str,
        retries: u32,
    ) -> Result<Option<Committed<A>>, Error> {
        let Some(first) = self
            .inner
            .store
            .find_event(idempotent_id(stream, key, 0))
            .await?
        else {
            return Ok(None);
        };
        let mut events = Vec::new();
        let mut last = None;
        let mut from = first.version;
        'read: loop {
            let records = self
                .inner
                .store
                .read_stream(stream, from, REPLAY_BATCH)
                .await?;
            for record in &records {
                if record.id != idempotent_id(stream, key, events.len()) {
                    break 'read;
                }
                events.push(record.decode(&self.inner.codec)?);
                last = Some((record.version, record.position));
            }
            if records.len() < REPLAY_BATCH {
                break;
            }
            from += REPLAY_BATCH as u64;
        }
        Ok(last.map(|(version, position)| Committed {
            stream: stream.to_owned(),
            events,
            version,
            position: Some(position),
            retries,
            duplicate: true,
        }))
    }

    fn encode<E: EventSet>(
        &self,
        stream: &str,
        events: &[E],
        metadata: &Resolved,
    ) -> Result<Vec<NewEvent>, Error> {
        // One clock read for the command's events: their ids and timestamps.
        let now = Timestamp::now();
        events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                Ok(NewEvent {
                    id: metadata.event_id(stream, index, now),
                    name: event.name().into(),
                    schema_version: event.version(),
                    payload: event.encode(&self.inner.codec)?.into(),
                    metadata: metadata.event_metadata(now),
                })
            })
            .collect()
    }
}
