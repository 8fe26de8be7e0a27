//! Aggregates: the consistency boundary that decides commands and folds events into state.

use std::fmt::{Display, Write as _};
use std::future::Future;

use crate::codec::{BoxError, Codec};
use crate::event::EventSet;

/// When an aggregate's state is snapshotted: `#[aggregate(snapshot_every = N)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// A snapshot is saved once the stream has grown by this many events since the last one.
    pub every: u64,
    /// The schema version of the serialized state: bump it when the state's shape changes, and
    /// snapshots of other versions are ignored (the stream is replayed instead).
    pub schema_version: u16,
}

/// An aggregate: state folded from its events, and the decisions it makes on commands.
///
/// `#[aggregate]` on the aggregate's `impl` block implements this trait from its `#[apply]` and
/// `#[handle]` methods; implementing it by hand is possible but rarely needed.
pub trait Aggregate: Default + Send + Sync + 'static {
    /// The aggregate's name: the prefix of its stream names (`{NAME}-{id}`).
    const NAME: &'static str;

    /// The events it records: the generated `{Aggregate}Event` enum.
    type Event: EventSet;

    /// The commands it handles: the generated `{Aggregate}Command` enum.
    type Command: Send + 'static;

    /// The domain error a handler rejects a command with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// What handlers may use besides the state: a clock, a pricing client. `()` by default.
    type Services: Send + Sync + 'static;

    /// Folds one event into the state. Cannot fail: an event is a fact already recorded.
    fn apply(&mut self, event: &Self::Event);

    /// Decides a command against the current state: the events to record, or a rejection.
    fn handle(
        &self,
        command: Self::Command,
        services: &Self::Services,
    ) -> impl Future<Output = Result<Vec<Self::Event>, Self::Error>> + Send;

    /// Whether and how often the state is snapshotted; `None` (the default): never, every load
    /// replays the stream.
    const SNAPSHOT: Option<SnapshotPolicy> = None;

    /// Serializes the state for a snapshot; `None` when the aggregate takes no snapshots.
    fn encode_snapshot<C: Codec>(&self, codec: &C) -> Option<Result<Vec<u8>, BoxError>> {
        let _ = codec;
        None
    }

    /// Deserializes a snapshot's state; `None` when the aggregate takes no snapshots.
    fn decode_snapshot<C: Codec>(codec: &C, payload: &[u8]) -> Option<Result<Self, BoxError>> {
        let _ = (codec, payload);
        None
    }

    /// The stream that holds the events of the instance with this id: `{NAME}-{id}`.
    fn stream_name(id: &(impl Display + ?Sized)) -> String {
        // Sized up front (room for a UUID id): `format!` would grow it a few times per command.
        let mut name = String::with_capacity(Self::NAME.len() + 1 + 36);
        name.push_str(Self::NAME);
        name.push('-');
        write!(name, "{id}").expect("writing to a String cannot fail");
        name
    }
}
