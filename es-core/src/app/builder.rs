//! Building an [`App`]: the store, the aggregates with their services, the projections.

use std::any::{Any, TypeId, type_name};
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use super::build_error::{
    AggregateKey, BuildError, ProjectionKey, check_aggregates, check_projections,
};
use super::cache::Cache;
use super::dispatch::{self, Dispatcher};
use super::projections::Registration;
use super::{App, Inner, Slot};
use crate::aggregate::Aggregate;
use crate::codec::{Codec, Json};
use crate::event::EventSet;
use crate::projection::Projection;
use crate::store::EventStore;

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

/// Builds an [`App`]: the store, then each aggregate with its services, then the projections.
///
/// Registrations are checked together by [`build`](Self::build), which refuses a set that
/// would break at run time (see [`BuildError`]).
pub struct AppBuilder<S, C = Json> {
    store: S,
    codec: C,
    max_retries: u32,
    cache_capacity: usize,
    /// In registration order, duplicates included: `build` checks them.
    aggregates: Vec<(AggregateKey, Box<dyn AnySlot>)>,
    /// The command path of each aggregate for erased commands, by its type.
    dispatchers: HashMap<TypeId, Dispatcher<S, C>>,
    /// In registration order, duplicates included: `build` checks them.
    projections: Vec<(ProjectionKey, Registration<S, C>)>,
}

impl<S, C> std::fmt::Debug for AppBuilder<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppBuilder")
            .field("store", &std::any::type_name::<S>())
            .field(
                "aggregates",
                &self
                    .aggregates
                    .iter()
                    .map(|(key, _)| key.type_name)
                    .collect::<Vec<_>>(),
            )
            .field(
                "projections",
                &self
                    .projections
                    .iter()
                    .map(|(key, _)| key.type_name)
                    .collect::<Vec<_>>(),
            )
            .field("max_retries", &self.max_retries)
            .field("cache_capacity", &self.cache_capacity)
            .finish_non_exhaustive()
    }
}

impl<S: EventStore> App<S> {
    /// Starts building an app over `store`, with the JSON codec.
    pub fn builder(store: S) -> AppBuilder<S> {
        AppBuilder {
            store,
            codec: Json,
            max_retries: 30,
            cache_capacity: 10_000,
            aggregates: Vec::new(),
            dispatchers: HashMap::new(),
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
        let key = AggregateKey {
            type_id: TypeId::of::<A>(),
            type_name: type_name::<A>(),
            name: A::NAME,
            events: <A::Event as EventSet>::NAMES,
        };
        let slot = Slot::<A> {
            services,
            cache: Cache::new(self.cache_capacity),
        };
        self.aggregates.push((key, Box::new(slot)));
        self.dispatchers
            .insert(TypeId::of::<A>(), dispatch::dispatcher::<A, S, C>());
        self
    }

    /// How many times a command is retried after an optimistic-concurrency conflict (default 30),
    /// each after a random pause that doubles up to 32 ms.
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// How many hydrated aggregates each aggregate type keeps in memory (default 10,000); 0
    /// keeps none: every command reads its aggregate from the store (its snapshot and the
    /// events after it), and commands to one stream share its state only while they overlap.
    #[must_use]
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Uses another codec for payloads.
    ///
    /// # Panics
    /// When an aggregate or a projection is already registered: choose the codec first.
    pub fn codec<C2: Codec>(self, codec: C2) -> AppBuilder<S, C2> {
        assert!(
            self.projections.is_empty() && self.aggregates.is_empty(),
            "call `codec(..)` before registering aggregates and projections"
        );
        AppBuilder {
            store: self.store,
            codec,
            max_retries: self.max_retries,
            cache_capacity: self.cache_capacity,
            aggregates: Vec::new(),
            dispatchers: HashMap::new(),
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
        let key = ProjectionKey {
            type_id: TypeId::of::<P>(),
            type_name: type_name::<P>(),
            name: P::NAME,
        };
        self.projections
            .push((key, Registration::new(projection, background)));
        self
    }

    /// The app, once its registrations are checked together. Background projections start
    /// only when it is built.
    ///
    /// # Errors
    /// A [`BuildError`] naming the types involved when an aggregate or a projection type is
    /// registered twice, when two aggregates have one [`Aggregate::NAME`] or record an event
    /// under one name, or when two projections have one [`Projection::NAME`].
    ///
    /// # Panics
    /// When a background projection is registered and no Tokio runtime is running.
    pub fn build(self) -> Result<App<S, C>, BuildError> {
        let aggregate_keys: Vec<_> = self.aggregates.iter().map(|(key, _)| *key).collect();
        check_aggregates(&aggregate_keys)?;
        let projection_keys: Vec<_> = self.projections.iter().map(|(key, _)| *key).collect();
        check_projections(&projection_keys)?;
        let owners = aggregate_keys
            .iter()
            .flat_map(|key| key.events.iter().map(|event| (*event, key.name)))
            .collect();
        let slots = self
            .aggregates
            .into_iter()
            .map(|(key, mut slot)| {
                slot.set_cache_capacity(self.cache_capacity);
                (key.type_id, slot.into_any())
            })
            .collect();
        let mut projections = Vec::with_capacity(self.projections.len());
        let mut hosts = HashMap::with_capacity(self.projections.len());
        let mut starts = Vec::new();
        for (key, registration) in self.projections {
            projections.push(registration.hosted);
            hosts.insert(key.type_id, registration.any);
            starts.extend(registration.start);
        }
        let inner = Arc::new(Inner {
            store: self.store,
            codec: self.codec,
            max_retries: self.max_retries,
            slots,
            projections,
            hosts,
            owners,
            dispatchers: self.dispatchers,
        });
        for start in starts {
            start(Arc::downgrade(&inner));
        }
        Ok(App { inner })
    }
}
