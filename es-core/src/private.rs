//! What macro expansions name. Not public API: exempt from semver.

pub use ::core;
pub use ::serde;
pub use ::std;

pub use crate::aggregate::{Aggregate, SnapshotPolicy};
pub use crate::codec::{BoxError, Codec};
pub use crate::command::{AggregateCommand, Command};
pub use crate::error::Error;
use crate::error::projection_failed;
pub use crate::event::{Event, EventOf, EventSet, IntoEvents, Upcaster};
pub use crate::projection::{EventMeta, Projection, Query};
pub use crate::record::{RecordedEvent, RecordedEventRef};

/// Decodes a stored event (a record, or one borrowed) as the event `T`, naming its stream and
/// version on failure.
///
/// # Errors
/// [`Error::FutureSchema`] or [`Error::Decode`].
pub fn decode_record<'r, T: Event, C: Codec>(
    codec: &C,
    record: impl Into<RecordedEventRef<'r>>,
) -> Result<T, Error> {
    let record = record.into();
    decode_event(codec, record.schema_version, record.payload)
        .map_err(|error| error.at(record.stream, record.version))
}

/// What an `#[on]` method may return: `()` or `Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "an `#[on]` method returns `()` or `Result<(), E>`, not `{Self}`",
    label = "this `#[on]` method returns `{Self}`"
)]
pub trait ProjectionOutcome {
    /// The outcome as a result.
    ///
    /// # Errors
    /// The handler's error.
    fn into_result(self) -> Result<(), BoxError>;
}

impl ProjectionOutcome for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> ProjectionOutcome for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// When the stored event is a `T`: decodes it, runs the `#[on]` method, and gives its outcome,
/// the error naming the projection and the event. `None` for other events, which are not
/// decoded.
pub fn on_event<T: Event, C: Codec, O: ProjectionOutcome>(
    projection: &'static str,
    skip_newer: bool,
    codec: &C,
    event: EventMeta<'_>,
    handler: impl FnOnce(&T) -> O,
) -> Option<Result<(), Error>> {
    let record = event.record();
    if record.name != T::NAME {
        return None;
    }
    if skip_newer && record.schema_version > T::VERSION {
        ::tracing::warn!(
            projection,
            stream = %record.stream,
            version = record.version,
            event = T::NAME,
            schema_version = record.schema_version,
            "skipping an event of a schema version newer than this code"
        );
        return Some(Ok(()));
    }
    let event = match decode_record::<T, C>(codec, record) {
        Ok(event) => event,
        Err(error) => return Some(Err(error)),
    };
    Some(
        handler(&event)
            .into_result()
            .map_err(|source| projection_failed(projection, record, source)),
    )
}

/// What `snapshot_every` needs of an aggregate's state to save a snapshot.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be snapshotted: its state is not `Serialize`",
    label = "`snapshot_every` stores the aggregate's state",
    note = "add `#[derive(Serialize, Deserialize)]` to `{Self}`, or remove `snapshot_every`"
)]
pub trait SnapshotEncode: ::serde::Serialize {}

impl<T: ::serde::Serialize> SnapshotEncode for T {}

/// What `snapshot_every` needs of an aggregate's state to load a snapshot.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be restored from a snapshot: its state is not `Deserialize`",
    label = "`snapshot_every` stores the aggregate's state",
    note = "add `#[derive(Serialize, Deserialize)]` to `{Self}`, or remove `snapshot_every`"
)]
pub trait SnapshotDecode: ::serde::de::DeserializeOwned {}

impl<T: ::serde::de::DeserializeOwned> SnapshotDecode for T {}

/// Serializes an aggregate's state for a snapshot.
///
/// # Errors
/// The codec's error.
pub fn encode_snapshot<C: Codec, T: SnapshotEncode>(
    codec: &C,
    state: &T,
) -> Result<Vec<u8>, BoxError> {
    codec.encode(state)
}

/// Deserializes an aggregate's state from a snapshot.
///
/// # Errors
/// The codec's error.
pub fn decode_snapshot<C: Codec, T: SnapshotDecode>(
    codec: &C,
    payload: &[u8],
) -> Result<T, BoxError> {
    codec.decode(payload)
}

/// Serializes one event's payload, naming the event on failure.
///
/// # Errors
/// [`Error::Encode`].
pub fn encode_event<T: Event, C: Codec>(codec: &C, event: &T) -> Result<Vec<u8>, Error> {
    codec.encode(event).map_err(|source| Error::Encode {
        event: T::NAME.to_owned(),
        source,
    })
}

/// Decodes one event's payload, upcasting it first when it is of an older schema version and
/// the event has upcasters; the stream and version are filled in by the reader.
///
/// # Errors
/// [`Error::FutureSchema`] or [`Error::Decode`].
pub fn decode_event<T: Event, C: Codec>(
    codec: &C,
    schema_version: u16,
    payload: &[u8],
) -> Result<T, Error> {
    if schema_version > T::VERSION {
        return Err(Error::FutureSchema {
            stream: String::new(),
            version: 0,
            event: T::NAME.to_owned(),
            schema_version,
            supported: T::VERSION,
        });
    }
    let decode_error = |source| Error::Decode {
        stream: String::new(),
        version: 0,
        event: T::NAME.to_owned(),
        source,
    };
    if schema_version == T::VERSION || T::UPCASTERS.is_empty() {
        return codec.decode(payload).map_err(decode_error);
    }
    // Schema version 0 (written by hand or by another tool) is read as 1.
    let older = usize::from(schema_version.max(1)) - 1;
    let value: ::serde_json::Value = codec.decode(payload).map_err(decode_error)?;
    let upcast = T::UPCASTERS[older..]
        .iter()
        .fold(value, |value, upcaster| upcaster(value));
    ::serde_json::from_value(upcast).map_err(|error| {
        decode_error(
            format!("after upcasting from schema version {schema_version}: {error}").into(),
        )
    })
}

/// The error for a stored name no variant has.
pub fn unknown_event(name: &str, known: &'static [&'static str]) -> Error {
    Error::UnknownEvent {
        stream: String::new(),
        version: 0,
        event: name.to_owned(),
        known,
    }
}

/// A handler's `Result<impl IntoEvents, impl Into<Error>>` as the aggregate's outcome.
///
/// The bound is on `(R,)` rather than `R` so that, when `R` is an event without `#[apply]`, the
/// compiler's headline is `EventOf`'s message (the leaf) rather than `IntoEvents`' (the root).
///
/// # Errors
/// The handler's rejection.
pub fn fallible<E, Err, R, HandlerErr: Into<Err>>(
    result: Result<R, HandlerErr>,
) -> Result<Vec<E>, Err>
where
    (R,): IntoEvents<E>,
{
    match result {
        Ok(events) => Ok(infallible_events((events,))),
        Err(error) => Err(error.into()),
    }
}

/// A handler's infallible `impl IntoEvents` as the aggregate's outcome; the bound is on `(R,)`
/// as in [`fallible`].
///
/// # Errors
/// Never.
pub fn infallible<E, Err, R>(events: R) -> Result<Vec<E>, Err>
where
    (R,): IntoEvents<E>,
{
    Ok(infallible_events((events,)))
}

fn infallible_events<E, R: IntoEvents<E>>(events: R) -> Vec<E> {
    let mut out = Vec::new();
    events.push_into(&mut out);
    out
}

/// The runtime the generated conformance tests run on.
#[cfg(feature = "testing")]
pub use ::tokio;

/// Whether no name appears twice in `names`: checked at compile time for every generated
/// event set, since a stored name must lead back to one event type.
pub const fn unique_names(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        let mut j = i + 1;
        while j < names.len() {
            if str_eq(names[i], names[j]) {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

pub use crate::process::{ProcessManager, Refusal, Steps};

/// An event a process manager handles, decoded, with the index of its `#[on]` method.
#[derive(Debug)]
pub struct Routed {
    handler: usize,
    event: Box<dyn ::std::any::Any + Send>,
}

impl Routed {
    /// The index of the `#[on]` method that takes it.
    pub fn handler(&self) -> usize {
        self.handler
    }

    /// The event, as the type its method takes.
    ///
    /// # Panics
    /// When it is another type: the expansion pairs each index with its type.
    pub fn take<T: 'static>(self) -> T {
        *self
            .event
            .downcast::<T>()
            .unwrap_or_else(|_| panic!("a routed event has the type of its handler"))
    }
}

/// An event an `#[on]` method of a process manager takes: every [`Event`]. The expansion
/// reaches the event's name and its routing through this one trait, located at the method's
/// parameter, so that a type without `#[derive(Event)]` is reported there, once.
///
/// The bound is on the blanket impl, not a supertrait, so that the headline is this trait's.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event",
    label = "add `#[derive(Event)]` to `{Self}`"
)]
pub trait RoutedEvent: Sized {
    /// [`Event::NAME`].
    const NAME: &'static str;

    /// When the stored event is a `Self`: decodes it and gives its correlation key and the
    /// routed event for `#[on]` method number `handler`. `None` for other events, which are
    /// not decoded.
    ///
    /// # Errors
    /// When the event does not decode; the error names it.
    fn route<C: Codec>(
        codec: &C,
        record: &RecordedEvent,
        handler: usize,
        key: impl FnOnce(&Self) -> String,
    ) -> Result<Option<(String, Routed)>, Error>;
}

impl<T: Event> RoutedEvent for T {
    const NAME: &'static str = T::NAME;

    fn route<C: Codec>(
        codec: &C,
        record: &RecordedEvent,
        handler: usize,
        key: impl FnOnce(&Self) -> String,
    ) -> Result<Option<(String, Routed)>, Error> {
        if *record.name != *T::NAME {
            return Ok(None);
        }
        let event = decode_record::<T, C>(codec, record)?;
        let key = key(&event);
        Ok(Some((
            key,
            Routed {
                handler,
                event: Box::new(event),
            },
        )))
    }
}

/// What may name a process manager's instance: the type of an `#[on(key = ..)]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot name a process manager's instance: it does not implement `Display`",
    label = "the `key` field names the instance, as text",
    note = "key the `#[on]` method on a field that implements `Display` (a `String`, an id), or implement `Display` for `{Self}`"
)]
pub trait CorrelationKey {
    /// The key as text: the instance's stream is named after it.
    fn correlation_key(&self) -> String;
}

impl<T: ::std::fmt::Display + ?Sized> CorrelationKey for T {
    fn correlation_key(&self) -> String {
        self.to_string()
    }
}

/// The refused command and the aggregate's error, when they are a `Cmd` and an `E`: the
/// arguments of a `#[refused]` method.
pub fn refused<Cmd: Command, E: 'static>(refusal: &Refusal) -> Option<(&Cmd, &E)> {
    Some((refusal.command::<Cmd>()?, refusal.error::<E>()?))
}

/// What a method of a process manager or reactor may return: [`Steps`], or `()` for none.
#[diagnostic::on_unimplemented(
    message = "a process manager's or reactor's method returns `Steps` or `()`, not `{Self}`",
    label = "this method returns `{Self}`",
    note = "build the commands and deadlines with `Steps::new().send(..)`"
)]
pub trait IntoSteps {
    /// The steps.
    fn into_steps(self) -> Steps;
}

impl IntoSteps for Steps {
    fn into_steps(self) -> Steps {
        self
    }
}

impl IntoSteps for () {
    fn into_steps(self) -> Steps {
        Steps::new()
    }
}

/// Logs a refusal no `#[refused]` method takes.
pub fn unhandled_refusal(process: &'static str, refusal: &Refusal) -> Steps {
    ::tracing::warn!(
        process,
        command = refusal.command_type(),
        reason = refusal.message(),
        "a command was refused and no #[refused] method takes it"
    );
    Steps::new()
}

/// Logs a deadline no `#[deadline]` method has the name of.
pub fn unknown_deadline(process: &'static str, name: &str) -> Steps {
    ::tracing::warn!(
        process,
        deadline = name,
        "no #[deadline] method has this name"
    );
    Steps::new()
}

pub use crate::process::Reactor;

/// What a reactor's `#[on]` method may return: [`Steps`], `()`, or a `Result` of either.
#[diagnostic::on_unimplemented(
    message = "a reactor's `#[on]` method returns `Steps`, `()` or a `Result` of either, not `{Self}`",
    label = "this method returns `{Self}`"
)]
pub trait IntoReaction {
    /// The steps, or the error that has the event delivered again.
    ///
    /// # Errors
    /// The handler's error.
    fn into_reaction(self) -> Result<Steps, BoxError>;
}

impl<T: IntoSteps> IntoReaction for T {
    fn into_reaction(self) -> Result<Steps, BoxError> {
        Ok(self.into_steps())
    }
}

impl<T: IntoSteps, E: Into<BoxError>> IntoReaction for Result<T, E> {
    fn into_reaction(self) -> Result<Steps, BoxError> {
        self.map(IntoSteps::into_steps).map_err(Into::into)
    }
}
