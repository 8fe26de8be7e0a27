//! Given events, when a command, then expect events or an error.

use std::fmt::Debug;
use std::path::Path;

use crate::aggregate::Aggregate;
use crate::codec::{Codec, Json};
use crate::event::{EventSet, IntoEvents};

/// A test of one aggregate's decisions, without a store: given past events, when a command,
/// then the events it produces or the error it rejects with.
///
/// Beyond the expectation, [`Outcome::then_expect_events`] checks that every event survives a
/// round trip through the codec and that the state after the command equals the state rebuilt
/// by replaying every event from its serialized form, so lossy serialization or an `apply` that
/// depends on anything but the events fails the test.
///
/// # Examples
/// ```
/// use es_core::prelude::*;
/// use es_core::testing::TestFixture;
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// struct MoneyDeposited { amount: u64 }
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// struct MoneyWithdrawn { amount: u64 }
///
/// #[derive(Command, Debug, Clone)]
/// struct Withdraw { #[id] account: String, amount: u64 }
///
/// #[derive(Debug, Clone, PartialEq, thiserror::Error)]
/// enum BankError {
///     #[error("insufficient funds: balance {balance}, requested {requested}")]
///     InsufficientFunds { balance: u64, requested: u64 },
/// }
///
/// #[derive(Default, Debug, Clone, PartialEq)]
/// struct BankAccount { balance: u64 }
///
/// #[aggregate(name = "bank-account", error = BankError)]
/// impl BankAccount {
///     #[handle]
///     fn withdraw(&self, cmd: Withdraw) -> Result<MoneyWithdrawn, BankError> {
///         if cmd.amount > self.balance {
///             return Err(BankError::InsufficientFunds { balance: self.balance, requested: cmd.amount });
///         }
///         Ok(MoneyWithdrawn { amount: cmd.amount })
///     }
///     #[apply]
///     fn deposited(&mut self, e: &MoneyDeposited) { self.balance += e.amount; }
///     #[apply]
///     fn withdrawn(&mut self, e: &MoneyWithdrawn) { self.balance -= e.amount; }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// TestFixture::<BankAccount>::new()
///     .given(MoneyDeposited { amount: 10 })
///     .when(Withdraw { account: "a".into(), amount: 30 })
///     .await
///     .then_expect_error(BankError::InsufficientFunds { balance: 10, requested: 30 });
///
/// TestFixture::<BankAccount>::new()
///     .given(MoneyDeposited { amount: 50 })
///     .when(Withdraw { account: "a".into(), amount: 30 })
///     .await
///     .then_expect_events(MoneyWithdrawn { amount: 30 });
/// # }
/// ```
pub struct TestFixture<A: Aggregate, C = Json> {
    services: A::Services,
    codec: C,
    given: Vec<A::Event>,
}

impl<A: Aggregate> TestFixture<A>
where
    A::Services: Default,
{
    /// A fixture with default services and the JSON codec.
    pub fn new() -> Self {
        Self::with_services(A::Services::default())
    }
}

impl<A: Aggregate> Default for TestFixture<A>
where
    A::Services: Default,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Aggregate> TestFixture<A> {
    /// A fixture whose handlers get these services.
    pub fn with_services(services: A::Services) -> Self {
        Self {
            services,
            codec: Json,
            given: Vec::new(),
        }
    }
}

impl<A: Aggregate, C: Codec> TestFixture<A, C> {
    /// Uses another codec for the round-trip checks.
    pub fn codec<C2: Codec>(self, codec: C2) -> TestFixture<A, C2> {
        TestFixture {
            services: self.services,
            codec,
            given: self.given,
        }
    }

    /// Adds past events: one event, a tuple of events, a `Vec` or an `Option` of one type, or a
    /// `Vec` of the aggregate's event enum.
    #[must_use]
    pub fn given(mut self, events: impl IntoEvents<A::Event>) -> Self {
        events.push_into(&mut self.given);
        self
    }

    /// Adds past events already wrapped in the aggregate's event enum.
    #[must_use]
    pub fn given_events(mut self, events: impl IntoIterator<Item = A::Event>) -> Self {
        self.given.extend(events);
        self
    }

    /// Adds a past event as stored: its name, schema version and payload, decoded (and upcast
    /// from an older schema version) as the store's readers do. For payloads kept from older
    /// versions of the code.
    ///
    /// # Panics
    /// When the payload does not decode, with the decode error.
    #[must_use]
    pub fn given_stored(mut self, name: &str, schema_version: u16, payload: &[u8]) -> Self {
        match A::Event::decode(&self.codec, name, schema_version, payload) {
            Ok(event) => self.given.push(event),
            Err(error) => panic!(
                "given stored event `{name}` (schema version {schema_version}) does not decode: \
                 {error}: {}",
                std::error::Error::source(&error).map_or_else(String::new, ToString::to_string)
            ),
        }
        self
    }

    /// [`given_stored`](Self::given_stored) with the payload read from a file, e.g. one saved
    /// from a production database when the event's schema changed.
    ///
    /// # Panics
    /// When the file cannot be read, or its payload does not decode.
    #[must_use]
    pub fn given_stored_file(
        self,
        name: &str,
        schema_version: u16,
        path: impl AsRef<Path>,
    ) -> Self {
        let path = path.as_ref();
        let payload = std::fs::read(path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        self.given_stored(name, schema_version, &payload)
    }

    /// Handles `command` against the state the given events fold into.
    pub async fn when(self, command: impl Into<A::Command>) -> Outcome<A, C> {
        let mut state = A::default();
        for event in &self.given {
            state.apply(event);
        }
        let result = state.handle(command.into(), &self.services).await;
        Outcome {
            given: self.given,
            state,
            result,
            codec: self.codec,
        }
    }
}

impl<A: Aggregate, C> Debug for TestFixture<A, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestFixture")
            .field("aggregate", &std::any::type_name::<A>())
            .field("given", &self.given)
            .finish_non_exhaustive()
    }
}

/// What a command did in a [`TestFixture`]; the `then_*` methods assert on it.
pub struct Outcome<A: Aggregate, C = Json> {
    given: Vec<A::Event>,
    state: A,
    result: Result<Vec<A::Event>, A::Error>,
    codec: C,
}

impl<A: Aggregate, C> Debug for Outcome<A, C>
where
    A: Debug,
    A::Error: Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("given", &self.given)
            .field("state", &self.state)
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate, C: Codec> Outcome<A, C> {
    /// The events produced, or the rejection.
    ///
    /// # Errors
    /// The aggregate's rejection of the command.
    pub fn result(&self) -> Result<&[A::Event], &A::Error> {
        self.result.as_deref()
    }

    /// Asserts the command produced exactly `expected` (`()` for none), checks the round trip
    /// and the replay, and returns the state after the command.
    ///
    /// # Panics
    /// When the command was rejected, produced other events, an event does not survive the
    /// codec, or replaying every event gives another state than handling did.
    #[track_caller]
    pub fn then_expect_events(self, expected: impl IntoEvents<A::Event>) -> A
    where
        A: PartialEq + Debug,
    {
        let mut wanted = Vec::new();
        expected.push_into(&mut wanted);
        let produced = match self.result {
            Ok(events) => events,
            Err(error) => {
                panic!("expected events {wanted:?}, but the command was rejected: {error}")
            }
        };
        assert_eq!(
            produced, wanted,
            "the command produced other events than expected"
        );
        let mut state = self.state;
        for event in &produced {
            state.apply(event);
        }
        let mut replayed = A::default();
        for event in self.given.iter().chain(&produced) {
            replayed.apply(&round_trip(&self.codec, event));
        }
        assert_eq!(
            state, replayed,
            "the state after the command differs from the state rebuilt by replaying every event \
             from its serialized form"
        );
        state
    }

    /// Asserts the command was rejected with `expected`.
    ///
    /// # Panics
    /// When the command succeeded or was rejected with another error.
    #[track_caller]
    #[allow(clippy::needless_pass_by_value)] // by value reads best at the call site
    pub fn then_expect_error(self, expected: A::Error)
    where
        A::Error: PartialEq,
    {
        self.then_expect_error_matching(|error| *error == expected);
    }

    /// Asserts the command was rejected with an error for which `check` holds.
    ///
    /// # Panics
    /// When the command succeeded or `check` returns false.
    #[track_caller]
    pub fn then_expect_error_matching(self, check: impl FnOnce(&A::Error) -> bool) {
        match self.result {
            Ok(events) => panic!("expected a rejection, but the command produced {events:?}"),
            Err(error) => assert!(
                check(&error),
                "the command was rejected with another error: {error:?}"
            ),
        }
    }
}

/// Encodes and decodes `event`, asserting the result equals it.
#[track_caller]
fn round_trip<E: EventSet, C: Codec>(codec: &C, event: &E) -> E {
    let payload = event
        .encode(codec)
        .unwrap_or_else(|error| panic!("cannot encode {event:?}: {error}"));
    let decoded = E::decode(codec, event.name(), event.version(), &payload)
        .unwrap_or_else(|error| panic!("cannot decode {event:?} from its own payload: {error}"));
    assert_eq!(
        &decoded,
        event,
        "event `{}` changes in a serialization round trip",
        event.name()
    );
    decoded
}
