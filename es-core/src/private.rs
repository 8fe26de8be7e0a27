//! What macro expansions name. Not public API: exempt from semver.

pub use ::core;
pub use ::serde;
pub use ::std;

pub use crate::aggregate::Aggregate;
pub use crate::codec::Codec;
pub use crate::command::{AggregateCommand, Command};
pub use crate::error::Error;
pub use crate::event::{Event, EventOf, EventSet, IntoEvents};

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

/// Decodes one event's payload; the stream and version are filled in by the reader.
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
    codec.decode(payload).map_err(|source| Error::Decode {
        stream: String::new(),
        version: 0,
        event: T::NAME.to_owned(),
        source,
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
/// # Errors
/// The handler's rejection.
pub fn fallible<E, Err, R: IntoEvents<E>, HandlerErr: Into<Err>>(
    result: Result<R, HandlerErr>,
) -> Result<Vec<E>, Err> {
    match result {
        Ok(events) => Ok(infallible_events(events)),
        Err(error) => Err(error.into()),
    }
}

/// A handler's infallible `impl IntoEvents` as the aggregate's outcome.
///
/// # Errors
/// Never.
pub fn infallible<E, Err, R: IntoEvents<E>>(events: R) -> Result<Vec<E>, Err> {
    Ok(infallible_events(events))
}

fn infallible_events<E, R: IntoEvents<E>>(events: R) -> Vec<E> {
    let mut out = Vec::new();
    events.push_into(&mut out);
    out
}

/// The runtime the generated conformance tests run on.
#[cfg(feature = "testing")]
pub use ::tokio;
