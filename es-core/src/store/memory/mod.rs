//! The in-memory backend: the whole contract, no durability. For tests and benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use uuid::Uuid;

mod admin;

use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent, ReplayedEvent, Snapshot};
use crate::store::{
    AppendResult, EventStore, ExpectedVersion, StreamAppend, settle_refusal, validate_append,
    validate_appends, validate_position, validate_stream_name,
};

/// An event store in process memory. Appends take one write lock, so batches are atomic and the
/// global log is gapless and visible in order by construction; reads share a read lock.
#[derive(Debug, Clone)]
pub struct InMemoryEventStore {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    log: RwLock<Log>,
    head: tokio::sync::watch::Sender<u64>,
    /// Snapshots and checkpoints: state derived from the log, kept apart from its lock.
    derived: Mutex<Derived>,
}

#[derive(Debug, Default)]
struct Derived {
    /// Per stream, its snapshots by version.
    snapshots: HashMap<String, BTreeMap<u64, Snapshot>>,
    /// Per projection name, its checkpoint.
    checkpoints: HashMap<String, u64>,
}

#[derive(Debug, Default)]
struct Log {
    /// The global log; an event's position is its index + 1.
    events: Vec<RecordedEvent>,
    /// Per stream, the indexes of its events in `events`, in version order. foldhash, not
    /// `SipHash`: these maps are looked up on every append and read, and a test store needs no
    /// defence against chosen keys.
    streams: foldhash::HashMap<Arc<str>, Vec<usize>>,
    /// Every stored event id, with its index in `events`.
    ids: foldhash::HashMap<Uuid, usize>,
    /// Every event name stored, shared by its records: a handful of names, millions of events.
    names: foldhash::HashSet<Arc<str>>,
}

impl Default for InMemoryEventStore {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryEventStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Shared {
                log: RwLock::new(Log::default()),
                head: tokio::sync::watch::channel(0).0,
                derived: Mutex::new(Derived::default()),
            }),
        }
    }

    /// The number of events stored.
    pub fn len(&self) -> usize {
        self.read().events.len()
    }

    /// Whether no event is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Log> {
        // A panic cannot leave the log half-written: an append records its ids once every check
        // has passed, and what follows (pushes) cannot fail short of aborting.
        self.inner
            .log
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn derived(&self) -> std::sync::MutexGuard<'_, Derived> {
        // Every update of `Derived` is a single insert: a panic cannot leave it half-written.
        self.inner
            .derived
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn append_locked(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        let mut log = self
            .inner
            .log
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let (actual, known) = match log.streams.get_key_value(stream) {
            Some((name, indexes)) => (indexes.len() as u64, Some(Arc::clone(name))),
            None => (0, None),
        };
        let first_index = log.events.len();
        // The common case costs one id lookup per event: the version matches and every id is
        // new. Otherwise the batch is a retry of stored ids, a duplicate or a conflict.
        if !expected.matches(actual) || !log.claim_ids(events.iter(), first_index) {
            if let Some(result) = log.replayed(stream, expected, &events)? {
                return Ok(result);
            }
            // No id stored and none repeated, so the claim failed on the version alone.
            debug_assert!(!expected.matches(actual));
            return Err(Error::Conflict {
                stream: stream.to_owned(),
                expected,
                actual,
            });
        }
        let result = log.push(stream, known, actual, events);
        self.publish(result.position);
        drop(log);
        Ok(result)
    }

    fn append_streams_locked(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        let mut log = self
            .inner
            .log
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let first_index = log.events.len();
        // Every check before any write: a refused call leaves nothing behind.
        let versions_match = parts
            .iter()
            .all(|part| part.expected.matches(log.version(&part.stream)));
        if !versions_match
            || !log.claim_ids(parts.iter().flat_map(|part| &part.events), first_index)
        {
            return log.replayed_parts(&parts);
        }
        let mut results = Vec::with_capacity(parts.len());
        for part in parts {
            let (actual, known) = match log.streams.get_key_value(part.stream.as_str()) {
                Some((name, indexes)) => (indexes.len() as u64, Some(Arc::clone(name))),
                None => (0, None),
            };
            results.push(log.push(&part.stream, known, actual, part.events));
        }
        self.publish(log.events.len() as u64);
        drop(log);
        Ok(results)
    }

    /// Tells the head's listeners, if any, that the log reached `position`. Called under the
    /// log's write lock, so racing appends cannot move the hint backwards; waking listeners is
    /// most of an append's cost otherwise, and `head` brings the value up to date before it adds
    /// one.
    fn publish(&self, position: u64) {
        if self.inner.head.receiver_count() > 0 {
            self.inner.head.send_replace(position);
        }
    }
}

/// The shared copy of `name`, made on its first use.
fn intern(names: &mut foldhash::HashSet<Arc<str>>, name: &str) -> Arc<str> {
    if let Some(shared) = names.get(name) {
        return Arc::clone(shared);
    }
    let shared: Arc<str> = Arc::from(name);
    names.insert(Arc::clone(&shared));
    shared
}

impl Log {
    /// Stores `events` after version `actual` of `stream` (`known`: its shared name, when it
    /// has events already). Every check has passed and the ids are claimed.
    fn push(
        &mut self,
        stream: &str,
        known: Option<Arc<str>>,
        actual: u64,
        events: Vec<NewEvent>,
    ) -> AppendResult {
        let first_index = self.events.len();
        if events.is_empty() {
            let position = first_index as u64;
            return AppendResult {
                first_version: actual + 1,
                version: actual,
                first_position: position + 1,
                position,
            };
        }
        let stream = known.unwrap_or_else(|| Arc::from(stream));
        let count = events.len();
        let Self {
            events: all,
            streams,
            names,
            ..
        } = self;
        let indexes = streams.entry(Arc::clone(&stream)).or_default();
        for (offset, event) in events.into_iter().enumerate() {
            let index = first_index + offset;
            indexes.push(index);
            all.push(RecordedEvent {
                id: event.id,
                stream: Arc::clone(&stream),
                version: actual + 1 + offset as u64,
                position: index as u64 + 1,
                name: intern(names, &event.name),
                schema_version: event.schema_version,
                payload: event.payload,
                metadata: event.metadata,
            });
        }
        let position = all.len() as u64;
        AppendResult {
            first_version: actual + 1,
            version: actual + count as u64,
            first_position: position - count as u64 + 1,
            position,
        }
    }

    fn version(&self, stream: &str) -> u64 {
        self.streams
            .get(stream)
            .map_or(0, |events| events.len() as u64)
    }

    /// Records the batch's ids at the indexes its events will take. False, recording nothing,
    /// when one of them is already stored or repeats in the batch.
    fn claim_ids<'e>(
        &mut self,
        events: impl Iterator<Item = &'e NewEvent> + Clone,
        first_index: usize,
    ) -> bool {
        for (offset, event) in events.clone().enumerate() {
            match self.ids.entry(event.id) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(first_index + offset);
                }
                std::collections::hash_map::Entry::Occupied(_) => {
                    for claimed in events.take(offset) {
                        self.ids.remove(&claimed.id);
                    }
                    return false;
                }
            }
        }
        true
    }

    /// When the batch's ids are already stored, the original result of an identical append;
    /// `None` when none of them is stored.
    fn replayed(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Option<AppendResult>, Error> {
        let mut seen = Vec::with_capacity(events.len());
        let mut stored = Vec::new();
        for event in events {
            if seen.contains(&event.id) {
                return Err(Error::DuplicateEvent {
                    stream: stream.to_owned(),
                    version: 0,
                    event_id: event.id,
                });
            }
            seen.push(event.id);
            if let Some(&index) = self.ids.get(&event.id) {
                stored.push(&self.events[index]);
            }
        }
        let Some(first) = stored.first() else {
            return Ok(None);
        };
        let whole_batch_in_place = stored.len() == events.len()
            && stored.iter().enumerate().all(|(offset, recorded)| {
                &*recorded.stream == stream && recorded.version == first.version + offset as u64
            })
            && expected.matches(first.version - 1);
        if !whole_batch_in_place {
            return Err(Error::DuplicateEvent {
                stream: first.stream.to_string(),
                version: first.version,
                event_id: first.id,
            });
        }
        let last = stored[stored.len() - 1];
        Ok(Some(AppendResult {
            first_version: first.version,
            version: last.version,
            first_position: first.position,
            position: last.position,
        }))
    }
}

impl Log {
    /// What a refused multi-stream call comes to: the original results when every part with
    /// events is already stored where its expectation puts it, else the error that explains
    /// the refusal.
    fn replayed_parts(&self, parts: &[StreamAppend]) -> Result<Vec<AppendResult>, Error> {
        let mut replays = Vec::with_capacity(parts.len());
        for part in parts {
            let replay = if part.events.is_empty() {
                None
            } else {
                self.replayed(&part.stream, part.expected, &part.events)?
            };
            replays.push(replay);
        }
        settle_refusal(
            parts,
            &replays,
            |stream| Ok(self.version(stream)),
            Error::backend("a multi-stream append refused with every check passed"),
        )
    }
}

impl EventStore for InMemoryEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        validate_append(stream, &events)?;
        self.append_locked(stream, expected, events)
    }

    async fn append_streams(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        validate_appends(&parts)?;
        self.append_streams_locked(parts)
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        validate_stream_name(stream)?;
        let log = self.read();
        let Some(indexes) = log.streams.get(stream) else {
            return Ok(Vec::new());
        };
        let skip = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(indexes
            .iter()
            .skip(skip)
            .take(limit)
            .map(|&index| log.events[index].clone())
            .collect())
    }

    /// Lends the records under the read lock: a replay copies nothing, and appends wait while
    /// one batch (the caller's `limit`) is decoded and applied.
    async fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn FnMut(ReplayedEvent<'_>) -> Result<(), Error> + Send),
    ) -> Result<usize, Error> {
        validate_stream_name(stream)?;
        let log = self.read();
        let Some(indexes) = log.streams.get(stream) else {
            return Ok(0);
        };
        let skip = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
        let mut count = 0;
        for &index in indexes.iter().skip(skip).take(limit) {
            each(log.events[index].replayed())?;
            count += 1;
        }
        Ok(count)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        let log = self.read();
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(log.events.len());
        let end = start.saturating_add(limit).min(log.events.len());
        Ok(log.events[start..end].to_vec())
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        validate_stream_name(stream)?;
        Ok(self.read().version(stream))
    }

    async fn find_event(&self, id: Uuid) -> Result<Option<RecordedEvent>, Error> {
        let log = self.read();
        Ok(log.ids.get(&id).map(|&index| log.events[index].clone()))
    }

    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        // Under the log's lock, so no append runs between the update and the subscription. The
        // value is behind only while nobody listened; written only then, so a caller holding a
        // borrow of another receiver (which keeps it current) never waits on the watch's lock.
        let log = self.read();
        let position = log.events.len() as u64;
        if *self.inner.head.borrow() != position {
            self.inner.head.send_replace(position);
        }
        self.inner.head.subscribe()
    }

    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        validate_stream_name(stream)?;
        validate_position("snapshot version", snapshot.version)?;
        self.derived()
            .snapshots
            .entry(stream.to_owned())
            .or_default()
            .insert(snapshot.version, snapshot);
        Ok(())
    }

    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error> {
        validate_stream_name(stream)?;
        Ok(self.derived().snapshots.get(stream).and_then(|by_version| {
            by_version
                .range(..=max_version)
                .next_back()
                .map(|(_, snapshot)| snapshot.clone())
        }))
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        validate_stream_name(name)?;
        validate_position("checkpoint", position)?;
        self.derived().checkpoints.insert(name.to_owned(), position);
        Ok(())
    }

    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error> {
        validate_stream_name(name)?;
        Ok(self.derived().checkpoints.get(name).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(count: usize) -> Vec<NewEvent> {
        (0..count)
            .map(|_| NewEvent::new("Happened", 1, "{}"))
            .collect()
    }

    /// Appends publish the head only to listeners: one subscribing later still starts at the
    /// latest position, and a held receiver sees every later append.
    #[tokio::test]
    async fn head_is_current_for_late_and_held_listeners() {
        let store = InMemoryEventStore::new();
        store
            .append("a-1", ExpectedVersion::Any, batch(3))
            .await
            .unwrap();
        let mut head = store.head();
        assert_eq!(
            *head.borrow_and_update(),
            3,
            "a late listener starts at the head"
        );
        store
            .append("a-1", ExpectedVersion::Any, batch(2))
            .await
            .unwrap();
        assert!(head.has_changed().unwrap(), "a held listener is woken");
        assert_eq!(*head.borrow_and_update(), 5);
        drop(head);
        store
            .append("a-2", ExpectedVersion::Any, batch(1))
            .await
            .unwrap();
        assert_eq!(*store.head().borrow(), 6);
    }
}
