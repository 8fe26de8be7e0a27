//! What an operator asks of a store beyond the application's contract: its streams with their
//! counts, totals, projections' checkpoints, stored snapshots, and importing a log as another
//! store recorded it (positions and versions kept). None of it needs the application's types:
//! it deals in stored records.

use std::collections::HashMap;

use crate::error::Error;
use crate::record::{RecordedEvent, Snapshot, Timestamp};
use crate::store::{MAX_POSITION, validate_stream_name};

/// A stream as [`StoreAdmin::streams`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// The stream's name.
    pub stream: String,
    /// Its version: how many events it holds.
    pub version: u64,
    /// The global position of its last event.
    pub last_position: u64,
    /// When its last event was recorded.
    pub last_timestamp: Timestamp,
}

/// The totals of a store, as [`StoreAdmin::stats`] counts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// The number of events stored.
    pub events: u64,
    /// The global position of the last event (equal to `events` in a gapless log).
    pub head: u64,
    /// The number of streams with at least one event.
    pub streams: u64,
    /// The payloads' size, in bytes.
    pub payload_bytes: u64,
    /// The timestamps of the first and the last event of the log, when it has any.
    pub first_timestamp: Option<Timestamp>,
    /// See `first_timestamp`.
    pub last_timestamp: Option<Timestamp>,
    /// Per event name, how many events have it, by name.
    pub names: Vec<(String, u64)>,
    /// The number of snapshots stored.
    pub snapshots: u64,
    /// The number of projections with a checkpoint.
    pub checkpoints: u64,
}

/// A snapshot with the stream it belongs to, as [`StoreAdmin::snapshots`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// The stream.
    pub stream: String,
    /// The snapshot.
    pub snapshot: Snapshot,
}

/// Operations for tools that inspect, check and move a store: implemented by every backend.
///
/// Object safe: `Arc<dyn StoreAdmin>` for a store chosen at run time, beside an
/// [`AnyEventStore`](crate::store::AnyEventStore) of the same store for reading its log.
#[async_trait::async_trait]
pub trait StoreAdmin: Send + Sync + 'static {
    /// Up to `limit` streams whose names start with `prefix` and sort after `after` (`""`: from
    /// the first), in order of their names: byte order, or on PostgreSQL the database's
    /// collation (its index's order, so a page costs a probe per stream, not a scan).
    ///
    /// # Errors
    /// [`Error::Backend`].
    async fn streams(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<StreamSummary>, Error>;

    /// The position of the last event, read from the store now (unlike
    /// [`EventStore::head`](crate::store::EventStore::head), a hint that may lag behind other
    /// processes' appends).
    ///
    /// # Errors
    /// [`Error::Backend`].
    async fn last_position(&self) -> Result<u64, Error>;

    /// The store's totals. Counts the whole log: as slow as a scan on a large store.
    ///
    /// # Errors
    /// [`Error::Backend`].
    async fn stats(&self) -> Result<StoreStats, Error>;

    /// Every projection's checkpoint, by name.
    ///
    /// # Errors
    /// [`Error::Backend`].
    async fn checkpoints(&self) -> Result<Vec<(String, u64)>, Error>;

    /// Up to `limit` snapshots after `after` (a stream and a version; `None`: from the first),
    /// ordered by stream, then version.
    ///
    /// # Errors
    /// [`Error::Backend`].
    async fn snapshots(
        &self,
        after: Option<(&str, u64)>,
        limit: usize,
    ) -> Result<Vec<StoredSnapshot>, Error>;

    /// Stores `events` exactly as recorded elsewhere (ids, versions, positions, metadata),
    /// all of them or none: they must continue this store's log (the first at the position
    /// after its head, the rest contiguous) and each stream's versions. Returns the new head.
    /// Appenders and readers of this store see the import as they see an append.
    ///
    /// # Errors
    /// [`Error::Import`] naming the first event that does not fit,
    /// [`Error::DuplicateEvent`] when an id is already stored, or [`Error::Backend`].
    async fn import(&self, events: Vec<RecordedEvent>) -> Result<u64, Error>;
}

/// Checks that `events` continue a log whose head is `head` and whose streams are at the
/// versions `stored` gives, and that each is storable. The backends call it under their write
/// lock, so what it checks still holds when they insert.
pub(crate) fn check_import(
    events: &[RecordedEvent],
    head: u64,
    mut stored: impl FnMut(&str) -> Result<u64, Error>,
) -> Result<(), Error> {
    let mut versions: HashMap<&str, u64> = HashMap::new();
    let mut ids = std::collections::HashSet::with_capacity(events.len());
    let mut expected_position = head;
    for event in events {
        expected_position += 1;
        let refuse = |reason: String| Error::Import {
            position: event.position,
            reason,
        };
        if event.position != expected_position {
            return Err(refuse(format!(
                "the store's next position is {expected_position}"
            )));
        }
        if event.position > MAX_POSITION {
            return Err(refuse("the position is past what a store keeps".into()));
        }
        validate_stream_name(&event.stream)?;
        if event.name.contains('\0')
            || event
                .metadata
                .extra
                .iter()
                .any(|(key, value)| key.contains('\0') || value.contains('\0'))
        {
            return Err(refuse(
                "its name or metadata contains a NUL character".into(),
            ));
        }
        if !ids.insert(event.id) {
            return Err(refuse(format!(
                "its id {} is in the import twice",
                event.id
            )));
        }
        let version = match versions.get(&*event.stream) {
            Some(&version) => version,
            None => stored(&event.stream)?,
        };
        if event.version != version + 1 {
            return Err(refuse(format!(
                "it is version {} of stream `{}`, which is at version {version}",
                event.version, event.stream
            )));
        }
        versions.insert(&event.stream, event.version);
    }
    Ok(())
}
