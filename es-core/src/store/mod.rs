//! The event store: one trait over serialized records, and its backends.

mod admin;
mod dyn_store;
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod refusal;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod subscription;
mod validate;

use std::future::Future;
use std::sync::Arc;

pub use crate::version::ExpectedVersion;
pub(crate) use admin::check_import;
pub use admin::{StoreAdmin, StoreStats, StoredSnapshot, StreamSummary};
pub use dyn_store::{AnyEventStore, DynEventStore};
pub use memory::InMemoryEventStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresEventStore, PostgresOptions};
pub(crate) use refusal::settle_refusal;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteEventStore, SqliteOptions, Synchronous};
pub use subscription::Subscription;
#[cfg(feature = "postgres")]
pub(crate) use validate::repeated_id;
pub use validate::{MAX_APPEND_BYTES, MAX_POSITION};
pub(crate) use validate::{validate_append, validate_appends, validate_position};

use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent, ReplayedEvent, Snapshot};

/// The longest stream name every backend accepts, in bytes.
pub const MAX_STREAM_NAME_LEN: usize = 255;

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// The version of the first event of the batch (the stream's old version + 1).
    pub first_version: u64,
    /// The stream's version after the append: the version of the batch's last event.
    pub version: u64,
    /// The global position of the batch's first event.
    pub first_position: u64,
    /// The global position of the batch's last event.
    pub position: u64,
}

/// One stream's part of an [`append_streams`](EventStore::append_streams) call: the events to
/// append to `stream` if it is at the `expected` version. With no events, the part only checks
/// the version: a guard on a stream the decision read but did not change.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    /// The stream appended to.
    pub stream: String,
    /// The version the stream must be at.
    pub expected: ExpectedVersion,
    /// The events, in order; none for a guard.
    pub events: Vec<NewEvent>,
}

impl StreamAppend {
    /// The part that appends `events` to `stream` at the `expected` version.
    pub fn new(
        stream: impl Into<String>,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Self {
        Self {
            stream: stream.into(),
            expected,
            events,
        }
    }
}

/// A store of event streams and the global log they form.
///
/// Backends: [`InMemoryEventStore`] here; `SqliteEventStore` (feature `sqlite`, on by default)
/// and `PostgresEventStore` (feature `postgres`). The typed
/// layer ([`App`](crate::App)) sits above this trait; the trait deals only in serialized records.
///
/// # Contract
///
/// Every backend honours these clauses; each is one function of the conformance suite
/// (`es_core::testing::conformance`, feature `testing`), which every backend runs, once directly
/// and once through [`AnyEventStore`].
///
/// - **Versions.** A stream is at version 0 until its first event, which is version 1; versions
///   grow by one per event, without gaps.
/// - **Expected version.** [`append`](Self::append) checks `expected` against the stream's
///   version; on a mismatch it returns [`Error::Conflict`] naming the stream, the expectation and
///   the actual version, and writes nothing.
/// - **Atomic batches.** A batch is stored whole or not at all; a failed append consumes no
///   version and no global position a reader could wait on. An empty batch writes nothing and
///   returns the stream's current version (its expectation is still checked).
/// - **Idempotent retry.** Appending a batch whose event ids are all already stored, in the same
///   stream, in the same order, at the place `expected` names, returns the original
///   [`AppendResult`] and writes nothing. An id already stored elsewhere, or twice in one batch,
///   is [`Error::DuplicateEvent`].
/// - **Multi-stream appends.** [`append_streams`](Self::append_streams) stores every part or
///   none: each part's expectation is checked (a part without events is a guard that only
///   checks it), a mismatch on any part is [`Error::Conflict`] naming that stream, and nothing
///   of the call is written. The events of one call take contiguous global positions, part after
///   part in the call's order, and no other append's events come between them. A call that names
///   a stream twice is [`Error::InvalidStreamName`]. A retry of a stored call (every part's ids
///   stored, in its stream, where its expectation puts them) returns the original results and
///   writes nothing (a guard part reports its stream's current version); a call of which some
///   parts are stored and some are not is [`Error::DuplicateEvent`].
/// - **Stream names.** 1 to [`MAX_STREAM_NAME_LEN`] bytes, no control characters; otherwise
///   [`Error::InvalidStreamName`]. Names are data (bound parameters), never code.
/// - **Global order.** Every event gets a global position, strictly increasing in commit order.
///   A reader of [`read_all`](Self::read_all) that has seen position `p` never later sees a new
///   event at or below `p`: under concurrent writers, a catch-up reader misses nothing and sees
///   nothing twice.
/// - **Ranges.** Any `u64` is a valid expected version, version or position: beyond the end it
///   is a conflict or an empty read, never a backend error; a limit of `usize::MAX` means all.
/// - **Round trip.** Id, name, schema version, payload bytes and metadata come back exactly as
///   appended, from every read: [`read_stream`](Self::read_stream),
///   [`read_all`](Self::read_all) and [`find_event`](Self::find_event).
/// - **Snapshots.** [`save_snapshot`](Self::save_snapshot) keeps a snapshot per stream and
///   version (saving again at the same version replaces it); [`load_snapshot`](Self::load_snapshot)
///   gives the newest at or below a version, byte for byte, or `None`. Snapshots are a cache of
///   state: the events stay the truth.
/// - **Checkpoints.** [`save_checkpoint`](Self::save_checkpoint) records a projection's
///   position (overwriting the last); [`load_checkpoint`](Self::load_checkpoint) reads it back,
///   0 for a projection that never saved one. Names follow the rules of stream names.
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream` if it is at the `expected` version.
    ///
    /// # Errors
    /// [`Error::Conflict`], [`Error::DuplicateEvent`], [`Error::InvalidStreamName`], or
    /// [`Error::Backend`] when the backend fails (a retry with the same event ids is safe).
    fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<AppendResult, Error>> + Send;

    /// Appends to several streams in one atomic call: every part (each with its own expected
    /// version) is stored, or none is. The results are the parts', in order; the call's events
    /// take contiguous global positions, in the order of the parts.
    ///
    /// # Errors
    /// As [`append`](Self::append), for the first part that fails; nothing of the call is
    /// written. [`Error::InvalidStreamName`] when a stream is named twice.
    fn append_streams(
        &self,
        parts: Vec<StreamAppend>,
    ) -> impl Future<Output = Result<Vec<AppendResult>, Error>> + Send;

    /// Reads `limit` events of `stream` starting at version `from` (inclusive), in order, or
    /// all that remain when fewer do: a short read means the end of the stream. An unknown
    /// stream reads as empty.
    ///
    /// # Errors
    /// [`Error::InvalidStreamName`] or [`Error::Backend`].
    fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, Error>> + Send;

    /// Calls `each` with what a replay needs of the events [`read_stream`](Self::read_stream)
    /// would return, in order, and returns how many there were; stops at the first error `each`
    /// returns. The replay path: `each` sees each event borrowed where the backend holds it, so
    /// a backend lends its records (the in-memory store) or folds each row as it arrives,
    /// reading only the columns a [`ReplayedEvent`] has (PostgreSQL), instead of building
    /// records; by default, the records of `read_stream`.
    ///
    /// # Errors
    /// Those of `read_stream`, or the first error of `each`.
    fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn FnMut(ReplayedEvent<'_>) -> Result<(), Error> + Send),
    ) -> impl Future<Output = Result<usize, Error>> + Send {
        async move {
            let records = self.read_stream(stream, from, limit).await?;
            records
                .iter()
                .try_for_each(|record| each(record.replayed()))?;
            Ok(records.len())
        }
    }

    /// Reads up to `limit` events of the global log with positions strictly after `after`, in
    /// increasing order of position. Never returns an event while an event below it may still
    /// commit.
    ///
    /// # Errors
    /// [`Error::Backend`].
    fn read_all(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, Error>> + Send;

    /// The stream's current version: 0 when it has no events.
    ///
    /// # Errors
    /// [`Error::InvalidStreamName`] or [`Error::Backend`].
    fn stream_version(&self, stream: &str) -> impl Future<Output = Result<u64, Error>> + Send;

    /// The stored event with this id, wherever it is; `None` when no event has it. An indexed
    /// lookup: the command path uses it to find the outcome of an idempotent command.
    ///
    /// # Errors
    /// [`Error::Backend`].
    fn find_event(
        &self,
        id: uuid::Uuid,
    ) -> impl Future<Output = Result<Option<RecordedEvent>, Error>> + Send;

    /// A hint that the global log has grown: the value is the newest position this store knows
    /// of. [`Subscription`] waits on it and polls as a fallback, so a backend that cannot tell
    /// (another process wrote) may lag but never loses events.
    fn head(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Stores `snapshot` of `stream`, replacing one stored at the same version.
    ///
    /// # Errors
    /// [`Error::InvalidStreamName`] or [`Error::Backend`].
    fn save_snapshot(
        &self,
        stream: &str,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// The newest snapshot of `stream` whose version is at most `max_version` (`u64::MAX`: the
    /// newest), or `None`.
    ///
    /// # Errors
    /// [`Error::InvalidStreamName`] or [`Error::Backend`].
    fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> impl Future<Output = Result<Option<Snapshot>, Error>> + Send;

    /// Records that the projection `name` has processed the global log up to `position`.
    ///
    /// # Errors
    /// [`Error::InvalidStreamName`] (the name breaks the rules of stream names) or
    /// [`Error::Backend`].
    fn save_checkpoint(
        &self,
        name: &str,
        position: u64,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// The last position saved for the projection `name`; 0 when none was.
    ///
    /// # Errors
    /// [`Error::InvalidStreamName`] or [`Error::Backend`].
    fn load_checkpoint(&self, name: &str) -> impl Future<Output = Result<u64, Error>> + Send;
}

impl<S: EventStore + ?Sized> EventStore for Arc<S> {
    fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<AppendResult, Error>> + Send {
        (**self).append(stream, expected, events)
    }
    fn append_streams(
        &self,
        parts: Vec<StreamAppend>,
    ) -> impl Future<Output = Result<Vec<AppendResult>, Error>> + Send {
        (**self).append_streams(parts)
    }
    fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, Error>> + Send {
        (**self).read_stream(stream, from, limit)
    }
    fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn FnMut(ReplayedEvent<'_>) -> Result<(), Error> + Send),
    ) -> impl Future<Output = Result<usize, Error>> + Send {
        (**self).fold_stream(stream, from, limit, each)
    }
    fn read_all(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, Error>> + Send {
        (**self).read_all(after, limit)
    }
    fn stream_version(&self, stream: &str) -> impl Future<Output = Result<u64, Error>> + Send {
        (**self).stream_version(stream)
    }
    fn find_event(
        &self,
        id: uuid::Uuid,
    ) -> impl Future<Output = Result<Option<RecordedEvent>, Error>> + Send {
        (**self).find_event(id)
    }
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        (**self).head()
    }
    fn save_snapshot(
        &self,
        stream: &str,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).save_snapshot(stream, snapshot)
    }
    fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> impl Future<Output = Result<Option<Snapshot>, Error>> + Send {
        (**self).load_snapshot(stream, max_version)
    }
    fn save_checkpoint(
        &self,
        name: &str,
        position: u64,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).save_checkpoint(name, position)
    }
    fn load_checkpoint(&self, name: &str) -> impl Future<Output = Result<u64, Error>> + Send {
        (**self).load_checkpoint(name)
    }
}

/// Whether `text` holds a control character (C0, DEL or C1). Checked on every append: ASCII
/// names, the usual ones, are checked byte by byte without decoding (a single pass that also
/// looks for C1's UTF-8 bytes measured slower: `is_ascii` goes a word at a time).
fn has_control(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes().any(|byte| byte.is_ascii_control())
    } else {
        text.chars().any(char::is_control)
    }
}

/// Checks a stream name against the contract's rules.
///
/// # Errors
/// [`Error::InvalidStreamName`] saying what is wrong.
pub fn validate_stream_name(stream: &str) -> Result<(), Error> {
    let reason = if stream.is_empty() {
        "it is empty"
    } else if stream.len() > MAX_STREAM_NAME_LEN {
        "it is longer than 255 bytes"
    } else if has_control(stream) {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(Error::InvalidStreamName {
        stream: stream.chars().take(100).collect(),
        reason,
    })
}
