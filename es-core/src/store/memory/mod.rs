//! The in-memory backend: the whole contract, no durability. For tests and benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use uuid::Uuid;

mod admin;
mod log;
mod payload;

use self::log::Log;
use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent, RecordedEventRef, ReplayedEvent, Snapshot};
use crate::store::{
    AppendResult, EventStore, ExpectedVersion, StreamAppend, settle_refusal, validate_append,
    validate_appends, validate_position, validate_stream_name,
};

/// An event store in process memory. Appends take one write lock, so batches are atomic and the
/// global log is gapless and visible in order by construction; reads share a read lock.
///
/// Events are kept in a compact form (a small fixed-size record each, payloads in shared chunks)
/// and read back as [`RecordedEvent`]s built on demand. The store holds at most 2,147,483,647
/// events: an append or import past that is refused whole ([`Error::Unstorable`],
/// [`Error::Import`]).
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

    /// An empty store that holds at most `limit` events, to test what happens at the limit.
    #[cfg(test)]
    fn with_limit(limit: usize) -> Self {
        let store = Self::new();
        *store.inner.log.write().unwrap() = Log::with_limit(limit);
        store
    }

    /// The number of events stored.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no event is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Log> {
        // A panic cannot leave the log half-written: an append changes the log only once every
        // check has passed, and its pushes cannot fail short of aborting.
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
        let actual = log.version(stream);
        // The common case costs two id lookups per event (is it new, then its insertion): the
        // version matches and every id is new. Otherwise the batch is a retry of stored ids, a
        // duplicate or a conflict.
        if !expected.matches(actual) || !log.ids_are_new(events.iter().map(|event| event.id)) {
            if let Some(result) = log.replayed(stream, expected, &events)? {
                return Ok(result);
            }
            // No id stored and none repeated, so the check failed on the version alone.
            debug_assert!(!expected.matches(actual));
            return Err(Error::Conflict {
                stream: stream.to_owned(),
                expected,
                actual,
            });
        }
        log.check_room(stream, events.len())?;
        let result = log.push(stream, actual, events);
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
        // Every check before any write: a refused call leaves nothing behind.
        let versions_match = parts
            .iter()
            .all(|part| part.expected.matches(log.version(&part.stream)));
        if !versions_match
            || !log.ids_are_new(
                parts
                    .iter()
                    .flat_map(|part| &part.events)
                    .map(|event| event.id),
            )
        {
            return log.replayed_parts(&parts);
        }
        let adding = parts.iter().map(|part| part.events.len()).sum();
        if let Some(part) = parts.iter().find(|part| !part.events.is_empty()) {
            log.check_room(&part.stream, adding)?;
        }
        let mut results = Vec::with_capacity(parts.len());
        for part in parts {
            let actual = log.version(&part.stream);
            results.push(log.push(&part.stream, actual, part.events));
        }
        self.publish(log.len() as u64);
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

impl Log {
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
            if let Some(index) = self.find(event.id) {
                stored.push((index, event.id));
            }
        }
        let Some(&(first, first_id)) = stored.first() else {
            return Ok(None);
        };
        let (first_stream, first_version) = self.place(first);
        let whole_batch_in_place = stored.len() == events.len()
            && stored.iter().enumerate().all(|(offset, &(index, _))| {
                let (at_stream, version) = self.place(index);
                &**at_stream == stream && version == first_version + offset as u64
            })
            && expected.matches(first_version - 1);
        if !whole_batch_in_place {
            return Err(Error::DuplicateEvent {
                stream: first_stream.to_string(),
                version: first_version,
                event_id: first_id,
            });
        }
        let (last, _) = stored[stored.len() - 1];
        Ok(Some(AppendResult {
            first_version,
            version: self.place(last).1,
            first_position: first as u64 + 1,
            position: last as u64 + 1,
        }))
    }

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
        let Some(indexes) = log.stream_events(stream) else {
            return Ok(Vec::new());
        };
        let skip = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(indexes
            .iter()
            .skip(skip)
            .take(limit)
            .map(|&index| log.recorded(index as usize))
            .collect())
    }

    /// Lends the events under the read lock, their fields borrowed from the log: a replay
    /// builds and allocates nothing per event, and appends wait
    /// while one batch (the caller's `limit`) is decoded and applied.
    async fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn FnMut(ReplayedEvent<'_>) -> Result<(), Error> + Send),
    ) -> Result<usize, Error> {
        validate_stream_name(stream)?;
        let log = self.read();
        let Some(indexes) = log.stream_events(stream) else {
            return Ok(0);
        };
        let skip = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
        let mut count = 0;
        for &index in indexes.iter().skip(skip).take(limit) {
            each(log.lent(index as usize))?;
            count += 1;
        }
        Ok(count)
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        let log = self.read();
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(log.len());
        let end = start.saturating_add(limit).min(log.len());
        Ok((start..end).map(|index| log.recorded(index)).collect())
    }

    async fn fold_all(
        &self,
        after: u64,
        limit: usize,
        each: &mut (dyn FnMut(RecordedEventRef<'_>) -> Result<(), Error> + Send),
    ) -> Result<usize, Error> {
        // Under the read lock, as `fold_stream`: appends wait while the batch is folded, and
        // `each` must not call this store (with an append waiting, a second read would too).
        let log = self.read();
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(log.len());
        let end = start.saturating_add(limit).min(log.len());
        for index in start..end {
            log.lend(index, &mut *each)?;
        }
        Ok(end - start)
    }

    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        validate_stream_name(stream)?;
        Ok(self.read().version(stream))
    }

    async fn find_event(&self, id: Uuid) -> Result<Option<RecordedEvent>, Error> {
        let log = self.read();
        Ok(log.find(id).map(|index| log.recorded(index)))
    }

    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        // Under the log's lock, so no append runs between the update and the subscription. The
        // value is behind only while nobody listened; written only then, so a caller holding a
        // borrow of another receiver (which keeps it current) never waits on the watch's lock.
        let log = self.read();
        let position = log.len() as u64;
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

    /// An append or an import that would take the log past its limit is refused with an error
    /// that names the limit, and writes nothing; the events up to the limit are kept.
    #[tokio::test]
    async fn the_event_limit_refuses_appends_and_imports_whole() {
        use crate::store::StoreAdmin;
        let store = InMemoryEventStore::with_limit(5);
        store
            .append("a-1", ExpectedVersion::Any, batch(4))
            .await
            .unwrap();
        let refused = store
            .append("a-1", ExpectedVersion::Exact(4), batch(2))
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, Error::Unstorable { stream, .. } if stream == "a-1"),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("at most 2,147,483,647 events"));
        let parts = vec![
            StreamAppend::new("a-2", ExpectedVersion::NoStream, batch(1)),
            StreamAppend::new("a-3", ExpectedVersion::NoStream, batch(1)),
        ];
        assert!(matches!(
            store.append_streams(parts).await,
            Err(Error::Unstorable { .. })
        ));
        let source = InMemoryEventStore::new();
        source
            .append("b-1", ExpectedVersion::Any, batch(6))
            .await
            .unwrap();
        let mut tail = source.read_all(0, 6).await.unwrap();
        tail.drain(..4);
        for (event, position) in tail.iter_mut().zip(5..) {
            event.position = position;
            event.version = position - 4;
        }
        assert!(matches!(
            store.import(tail.clone()).await,
            Err(Error::Import { position: 6, .. })
        ));
        assert_eq!(store.len(), 4, "nothing refused was written");
        assert_eq!(store.stream_version("a-2").await.unwrap(), 0);
        store.import(tail[..1].to_vec()).await.unwrap();
        assert_eq!(store.len(), 5, "the last event under the limit is kept");
    }

    /// Every field of every kind of metadata comes back as appended, through each read:
    /// correlation and causation ids alike, apart or absent, and user key-values.
    #[tokio::test]
    async fn metadata_comes_back_as_appended() {
        let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
        let links = [
            (None, None),
            (Some(one), None),
            (None, Some(two)),
            (Some(one), Some(one)),
            (Some(one), Some(two)),
        ];
        let events: Vec<NewEvent> = links
            .iter()
            .enumerate()
            .map(|(n, &(correlation_id, causation_id))| {
                let mut event = NewEvent::new(if n % 2 == 0 { "Even" } else { "Odd" }, 1, "{}");
                event.metadata.correlation_id = correlation_id;
                event.metadata.causation_id = causation_id;
                if n == 2 {
                    event.metadata.extra.insert("tenant".into(), "t-7".into());
                }
                event
            })
            .collect();
        let store = InMemoryEventStore::new();
        store
            .append("a-1", ExpectedVersion::NoStream, events.clone())
            .await
            .unwrap();
        let read = store.read_stream("a-1", 1, 10).await.unwrap();
        let owned = |event: ReplayedEvent<'_>| {
            let ReplayedEvent {
                stream,
                version,
                name,
                schema_version,
                payload,
            } = event;
            (
                stream.to_owned(),
                version,
                name.to_owned(),
                schema_version,
                payload.to_vec(),
            )
        };
        let mut folded = Vec::new();
        store
            .fold_stream("a-1", 1, 10, &mut |event| {
                folded.push(owned(event));
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(
            read.iter().map(|r| owned(r.replayed())).collect::<Vec<_>>(),
            folded
        );
        assert_eq!(read, store.read_all(0, 10).await.unwrap());
        for (stored, appended) in read.iter().zip(&events) {
            assert_eq!(stored.id, appended.id);
            assert_eq!(stored.name, appended.name.as_ref().into());
            assert_eq!(stored.metadata, appended.metadata);
            assert_eq!(
                store.find_event(appended.id).await.unwrap().as_ref(),
                Some(stored)
            );
        }
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
