//! Building an [`App`]: the store, the aggregates with their services, the projections.

use std::any::{Any, TypeId};
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use super::cache::Cache;
use super::projections::Registration;
use super::{App, Inner, Slot};
use crate::aggregate::Aggregate;
use crate::codec::{Codec, Json};
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

/// Builds an [`App`]: the store, then each aggregate with its services.
pub struct AppBuilder<S, C = Json> {
    store: S,
    codec: C,
    max_retries: u32,
    cache_capacity: usize,
    slots: HashMap<TypeId, Box<dyn AnySlot>>,
    projections: Vec<(TypeId, Registration<S, C>)>,
}

impl<S, C> std::fmt::Debug for AppBuilder<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppBuilder")
            .field("store", &std::any::type_name::<S>())
            .field("aggregates", &self.slots.len())
            .field("projections", &self.projections.len())
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

    /// How many times a command is retried after an optimistic-concurrency conflict (default 30),
    /// each after a random pause that doubles up to 32 ms.
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
