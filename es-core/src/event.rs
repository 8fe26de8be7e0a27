//! Events: the facts an aggregate records, and the enum of them that `#[aggregate]` generates.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::error::Error;

/// One domain event type: a plain struct that records a fact.
///
/// Derive it with `#[derive(Event)]`; `#[event(name = "..", version = N)]` overrides the stored
/// name (default: the type's name) and the schema version (default: 1).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event",
    label = "add `#[derive(Event)]` to `{Self}`"
)]
pub trait Event:
    Serialize + DeserializeOwned + Debug + Clone + PartialEq + Send + Sync + 'static
{
    /// The name stored with each event of this type; stable across renames of the Rust type.
    const NAME: &'static str;
    /// The schema version of the payload this code writes and reads (at least 1).
    const VERSION: u16;

    /// The upcasters of older payloads, oldest first: the one at index `i` turns a payload of
    /// schema version `i + 1` into one of version `i + 2`. Either empty (older payloads decode
    /// as they are, for changes serde absorbs) or one per older version:
    /// `#[event(version = 3, upcasters = [v1_to_v2, v2_to_v3])]`.
    const UPCASTERS: &'static [Upcaster] = &[];
}

/// Turns the payload of one schema version of an event into the next, as a JSON value. Runs on
/// read, before decoding; the stored event is never changed.
pub type Upcaster = fn(serde_json::Value) -> serde_json::Value;

/// The closed set of events one aggregate records: the `{Aggregate}Event` enum that
/// `#[aggregate]` generates, one variant per `#[apply]` method.
///
/// Payloads are stored without a tag: the variant is told by the stored name, so a payload stays
/// the plain JSON of the event struct.
pub trait EventSet: Debug + Clone + PartialEq + Send + Sync + 'static {
    /// The stored name of every variant, in declaration order.
    const NAMES: &'static [&'static str];

    /// The stored name of this event.
    fn name(&self) -> &'static str;

    /// The schema version of this event's payload.
    fn version(&self) -> u16;

    /// Serializes the payload of this event (the inner struct, untagged).
    ///
    /// # Errors
    /// [`Error::Encode`] when the codec cannot serialize the payload.
    fn encode<C: Codec>(&self, codec: &C) -> Result<Vec<u8>, Error>;

    /// Decodes a stored payload by its name and schema version.
    ///
    /// # Errors
    /// [`Error::UnknownEvent`] when `name` is not in [`Self::NAMES`], [`Error::FutureSchema`]
    /// when `schema_version` is newer than the code, [`Error::Decode`] when the payload does not
    /// decode. The stream and version in the error are left for the caller to fill in.
    fn decode<C: Codec>(
        codec: &C,
        name: &str,
        schema_version: u16,
        payload: &[u8],
    ) -> Result<Self, Error>;
}

/// Marks `Self` as one of the events of the event set `E`: implemented by `#[aggregate]` for each
/// `#[apply]` parameter type. A handler may only return events that have an `#[apply]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event of `{E}`: it has no `#[apply]` handler",
    label = "this handler returns `{Self}`",
    note = "add `#[apply] fn ..(&mut self, e: &{Self})` to the aggregate's `impl` block"
)]
pub trait EventOf<E>: Into<E> {}

/// What a `#[handle]` method may return on success: one event, `Vec`, `Option`, a tuple of up to
/// eight events, or `()` for none; or a `Vec` of the aggregate's event enum itself
/// (`Vec<{Aggregate}Event>`, for a handler that decides between several event types at run
/// time), whose impl `#[aggregate]` generates.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned as events of `{E}`",
    label = "a handler returns one event, `Vec<_>`, `Option<_>`, a tuple of events, `Vec<{E}>`, or `()`",
    note = "every event type a handler returns needs an `#[apply]` method in the aggregate's `impl` block"
)]
pub trait IntoEvents<E> {
    /// Appends the events to `out`, in order.
    fn push_into(self, out: &mut Vec<E>);
}

impl<E> IntoEvents<E> for () {
    fn push_into(self, _out: &mut Vec<E>) {}
}

impl<E, T: Event + EventOf<E>> IntoEvents<E> for T {
    fn push_into(self, out: &mut Vec<E>) {
        out.push(self.into());
    }
}

impl<E, T: Event + EventOf<E>> IntoEvents<E> for Option<T> {
    fn push_into(self, out: &mut Vec<E>) {
        out.extend(self.map(Into::into));
    }
}

impl<E, T: Event + EventOf<E>> IntoEvents<E> for Vec<T> {
    fn push_into(self, out: &mut Vec<E>) {
        out.extend(self.into_iter().map(Into::into));
    }
}

macro_rules! tuple_into_events {
    ($($t:ident),+) => {
        impl<E, $($t: IntoEvents<E>),+> IntoEvents<E> for ($($t,)+) {
            #[allow(non_snake_case)]
            fn push_into(self, out: &mut Vec<E>) {
                let ($($t,)+) = self;
                $($t.push_into(out);)+
            }
        }
    };
}
tuple_into_events!(A);
tuple_into_events!(A, B);
tuple_into_events!(A, B, C);
tuple_into_events!(A, B, C, D);
tuple_into_events!(A, B, C, D, F);
tuple_into_events!(A, B, C, D, F, G);
tuple_into_events!(A, B, C, D, F, G, H);
tuple_into_events!(A, B, C, D, F, G, H, I);
