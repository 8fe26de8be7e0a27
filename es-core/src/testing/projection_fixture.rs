//! Given events, then expect query answers: a projection's read model without a store or an
//! app.

use std::collections::HashMap;
use std::fmt::Debug;

use crate::aggregate::Aggregate;
use crate::codec::{Codec, Json};
use crate::error::Error;
use crate::event::{Event, EventOf};
use crate::projection::{EventMeta, Projection, Query};
use crate::record::{NewEvent, RecordedEvent};

/// A test of one projection: given events of aggregates (each encoded and decoded as the store
/// would, with its stream, version, position and aggregate id), then the answers to queries.
///
/// # Examples
/// ```
/// use std::collections::HashMap;
/// use es_core::prelude::*;
/// use es_core::testing::ProjectionFixture;
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// struct MoneyDeposited { amount: u64 }
/// #[derive(Command, Debug, Clone)]
/// struct Deposit { #[id] account: String, amount: u64 }
/// #[derive(Debug, Clone, Default)]
/// struct Account;
/// #[aggregate(name = "account")]
/// impl Account {
///     #[handle] fn deposit(&self, c: Deposit) -> MoneyDeposited { MoneyDeposited { amount: c.amount } }
///     #[apply] fn deposited(&mut self, _e: &MoneyDeposited) {}
/// }
///
/// #[derive(Debug, Default)]
/// struct Balances(HashMap<String, u64>);
/// struct GetBalance(String);
///
/// #[projection]
/// impl Balances {
///     #[on]
///     fn deposited(&mut self, e: &MoneyDeposited, meta: &EventMeta<'_>) {
///         *self.0.entry(meta.aggregate_id().to_owned()).or_default() += e.amount;
///     }
///     #[query]
///     fn balance(&self, q: GetBalance) -> u64 { self.0.get(&q.0).copied().unwrap_or(0) }
/// }
///
/// ProjectionFixture::new(Balances::default())
///     .given::<Account>("alice", MoneyDeposited { amount: 30 })
///     .given::<Account>("alice", MoneyDeposited { amount: 12 })
///     .then_answers(GetBalance("alice".into()), 42)
///     .then_answers(GetBalance("bob".into()), 0);
/// ```
pub struct ProjectionFixture<P, C = Json> {
    projection: P,
    codec: C,
    versions: HashMap<String, u64>,
    position: u64,
}

impl<P: Projection> ProjectionFixture<P> {
    /// A fixture over the read model `projection`, in its initial state.
    pub fn new(projection: P) -> Self {
        Self {
            projection,
            codec: Json,
            versions: HashMap::new(),
            position: 0,
        }
    }
}

// Events and answers are taken by value, as a test writes them.
#[allow(clippy::needless_pass_by_value)]
impl<P: Projection, C: Codec> ProjectionFixture<P, C> {
    /// The projection applies `event` of the aggregate `A` with this id (next in its stream).
    ///
    /// # Panics
    /// When the projection fails on the event; [`try_given`](Self::try_given) returns the
    /// error instead.
    #[must_use]
    #[track_caller]
    pub fn given<A: Aggregate>(mut self, id: &str, event: impl Event + EventOf<A::Event>) -> Self {
        if let Err(error) = self.apply::<A, _>(id, &event) {
            panic!("projection `{}` failed on {event:?}: {error}", P::NAME);
        }
        self
    }

    /// As [`given`](Self::given), giving back the projection's error.
    ///
    /// # Errors
    /// The projection's error on the event, naming it.
    pub fn try_given<A: Aggregate>(
        mut self,
        id: &str,
        event: impl Event + EventOf<A::Event>,
    ) -> Result<Self, Error> {
        self.apply::<A, _>(id, &event)?;
        Ok(self)
    }

    fn apply<A: Aggregate, E: Event>(&mut self, id: &str, event: &E) -> Result<(), Error> {
        let stream = A::stream_name(id);
        let version = self.versions.entry(stream.clone()).or_default();
        *version += 1;
        self.position += 1;
        let payload = self.codec.encode(event).map_err(|source| Error::Encode {
            event: E::NAME.to_owned(),
            source,
        })?;
        let new = NewEvent::new(E::NAME, E::VERSION, payload);
        let record = RecordedEvent {
            id: new.id,
            stream: stream.into(),
            version: *version,
            position: self.position,
            name: E::NAME.into(),
            schema_version: E::VERSION,
            payload: new.payload,
            metadata: new.metadata,
        };
        self.projection
            .apply(EventMeta::new(&record, Some(A::NAME)), &self.codec)
    }

    /// The projection answers `query` with `expected`.
    ///
    /// # Panics
    /// When it answers otherwise.
    #[track_caller]
    #[allow(clippy::return_self_not_must_use)] // the checks chain; the last value is dropped
    pub fn then_answers<Q>(self, query: Q, expected: Q::Response) -> Self
    where
        Q: Query<Projection = P>,
        Q::Response: PartialEq + Debug,
    {
        let answer = query.ask(&self.projection);
        assert_eq!(
            answer,
            expected,
            "projection `{}` answered otherwise",
            P::NAME
        );
        self
    }

    /// The read model, for checks beyond queries.
    pub fn projection(&self) -> &P {
        &self.projection
    }
}

impl<P: Projection, C> std::fmt::Debug for ProjectionFixture<P, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionFixture")
            .field("projection", &P::NAME)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}
