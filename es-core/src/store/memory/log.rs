//! The global log in compact form: one fixed-size record per event (its position is its index +
//! 1; stream and name are small indexes into tables of shared names; the payload is bytes of a
//! shared chunk), from which reads build [`RecordedEvent`]s on demand.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;
use uuid::Uuid;

use super::payload::{PayloadAt, Payloads};
use crate::error::Error;
use crate::record::{
    Metadata, NewEvent, RecordedEvent, RecordedEventRef, ReplayedEvent, Timestamp,
};
use crate::store::AppendResult;

/// The most events the store holds: every index, version and count below fits a `u32`,
/// correlation and causation ids (two per event at most) included.
pub(super) const MAX_EVENTS: usize = (u32::MAX / 2) as usize;
const TOO_MANY: &str = "the in-memory store holds at most 2,147,483,647 events";

/// `n` as a record field. Every count the log keeps stays below [`MAX_EVENTS`] times two, which
/// appends and imports check before they write.
pub(super) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("the log's counts stay below its event limit")
}

/// One stored event, without what its index implies (its position) or what is shared with
/// others (its stream's and its event's names).
#[derive(Debug)]
struct Record {
    id: Uuid,
    timestamp: Timestamp,
    payload: PayloadAt,
    /// Index into `Log::streams`.
    stream: u32,
    version: u32,
    /// Index into `Log::names`.
    name: u32,
    /// Index into `Log::links` of the first of its correlation and causation ids (see `flags`).
    links: u32,
    schema_version: u16,
    /// Which metadata the event has: the `HAS_*` bits.
    flags: u8,
}

const HAS_CORRELATION: u8 = 1;
const HAS_CAUSATION: u8 = 2;
/// The causation id equals the correlation id (a command's own events), stored once.
const CAUSED_BY_CORRELATION: u8 = 4;
/// Key-values in `Log::extras`.
const HAS_EXTRA: u8 = 8;

#[derive(Debug)]
struct Stream {
    name: Arc<str>,
    /// Indexes of its events in `Log::records`, in version order.
    events: Vec<u32>,
}

/// The events, and the indexes that find them.
#[derive(Debug)]
pub(super) struct Log {
    records: Vec<Record>,
    streams: Vec<Stream>,
    /// Each stream's index in `streams`. foldhash, not `SipHash`, here and below: these are
    /// looked up on every append and read, and a test store needs no defence against chosen
    /// keys.
    stream_ids: foldhash::HashMap<Arc<str>, u32>,
    /// Every stored event's index in `records`, hashed by the id stored there.
    ids: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// Every event name stored: a handful of names, millions of events.
    names: Vec<Arc<str>>,
    name_ids: foldhash::HashMap<Arc<str>, u32>,
    payloads: Payloads,
    /// Correlation and causation ids, of the events that have them.
    links: Vec<Uuid>,
    /// User key-values, by event index, of the events that have them.
    extras: foldhash::HashMap<u32, BTreeMap<String, String>>,
    /// [`MAX_EVENTS`], lower in tests.
    limit: usize,
}

impl Default for Log {
    fn default() -> Self {
        Self::with_limit(MAX_EVENTS)
    }
}

impl Log {
    pub(super) fn with_limit(limit: usize) -> Self {
        Self {
            records: Vec::new(),
            streams: Vec::new(),
            stream_ids: foldhash::HashMap::default(),
            ids: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            names: Vec::new(),
            name_ids: foldhash::HashMap::default(),
            payloads: Payloads::default(),
            links: Vec::new(),
            extras: foldhash::HashMap::default(),
            limit: limit.min(MAX_EVENTS),
        }
    }

    /// The number of events stored: the head's position.
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    pub(super) fn version(&self, stream: &str) -> u64 {
        self.stream_events(stream)
            .map_or(0, |events| events.len() as u64)
    }

    /// The indexes of `stream`'s events, in version order; `None` for a stream with none.
    pub(super) fn stream_events(&self, stream: &str) -> Option<&[u32]> {
        let id = *self.stream_ids.get(stream)?;
        Some(&self.streams[id as usize].events)
    }

    /// Every stream's name with its events' indexes, in no order.
    pub(super) fn streams(&self) -> impl Iterator<Item = (&Arc<str>, &[u32])> {
        self.streams
            .iter()
            .map(|stream| (&stream.name, stream.events.as_slice()))
    }

    /// The index of the event with id `id`.
    pub(super) fn find(&self, id: Uuid) -> Option<usize> {
        let records = &self.records;
        self.ids
            .find(self.hash(id), |&index| records[index as usize].id == id)
            .map(|&index| index as usize)
    }

    fn hash(&self, id: Uuid) -> u64 {
        self.hasher.hash_one(id.as_u128())
    }

    /// The event at `index`, as a record of its own.
    pub(super) fn recorded(&self, index: usize) -> RecordedEvent {
        let record = &self.records[index];
        let (correlation_id, causation_id) = self.links_of(record);
        RecordedEvent {
            id: record.id,
            stream: Arc::clone(&self.streams[record.stream as usize].name),
            version: u64::from(record.version),
            position: index as u64 + 1,
            name: Arc::clone(&self.names[record.name as usize]),
            schema_version: record.schema_version,
            payload: self.payloads.get(record.payload),
            metadata: Metadata {
                timestamp: record.timestamp,
                correlation_id,
                causation_id,
                extra: self.extra_of(index, record),
            },
        }
    }

    /// Calls `each` with the event at `index`, borrowed from the log: the names and the payload
    /// where they are stored, the metadata built beside them (allocating only for user
    /// key-values). What a projection's fold reads: no record to build.
    pub(super) fn lend<R>(&self, index: usize, each: impl FnOnce(RecordedEventRef<'_>) -> R) -> R {
        let record = &self.records[index];
        let (correlation_id, causation_id) = self.links_of(record);
        let metadata = Metadata {
            timestamp: record.timestamp,
            correlation_id,
            causation_id,
            extra: self.extra_of(index, record),
        };
        each(RecordedEventRef {
            id: record.id,
            stream: &self.streams[record.stream as usize].name,
            version: u64::from(record.version),
            position: index as u64 + 1,
            name: &self.names[record.name as usize],
            schema_version: record.schema_version,
            payload: self.payloads.bytes(record.payload),
            metadata: &metadata,
        })
    }

    /// The event at `index` as a replay reads it, borrowed from the log: no record to build,
    /// the payload's bytes where they are stored.
    #[inline]
    pub(super) fn lent(&self, index: usize) -> ReplayedEvent<'_> {
        let record = &self.records[index];
        ReplayedEvent {
            stream: &self.streams[record.stream as usize].name,
            version: u64::from(record.version),
            name: &self.names[record.name as usize],
            schema_version: record.schema_version,
            payload: self.payloads.bytes(record.payload),
        }
    }

    #[inline]
    fn links_of(&self, record: &Record) -> (Option<Uuid>, Option<Uuid>) {
        if record.flags & (HAS_CORRELATION | HAS_CAUSATION) == 0 {
            return (None, None);
        }
        let first = record.links as usize;
        let correlation = (record.flags & HAS_CORRELATION != 0).then(|| self.links[first]);
        let causation = if record.flags & HAS_CAUSATION == 0 {
            None
        } else if record.flags & CAUSED_BY_CORRELATION != 0 {
            correlation
        } else {
            Some(self.links[first + usize::from(correlation.is_some())])
        };
        (correlation, causation)
    }

    fn extra_of(&self, index: usize, record: &Record) -> BTreeMap<String, String> {
        if record.flags & HAS_EXTRA == 0 {
            return BTreeMap::new();
        }
        self.extras[&to_u32(index)].clone()
    }

    /// The timestamp of the event at `index`.
    pub(super) fn timestamp(&self, index: usize) -> Timestamp {
        self.records[index].timestamp
    }

    /// The stream and version of the event at `index`.
    pub(super) fn place(&self, index: usize) -> (&Arc<str>, u64) {
        let record = &self.records[index];
        (
            &self.streams[record.stream as usize].name,
            u64::from(record.version),
        )
    }

    /// The name and payload size of every event, in log order.
    pub(super) fn names_and_sizes(&self) -> impl Iterator<Item = (&str, usize)> {
        self.records.iter().map(|record| {
            (
                &*self.names[record.name as usize],
                self.payloads.len(record.payload),
            )
        })
    }

    /// Whether none of `ids` is stored and none repeats.
    pub(super) fn ids_are_new(&self, ids: impl Iterator<Item = Uuid> + Clone) -> bool {
        if ids.clone().any(|id| self.find(id).is_some()) {
            return false;
        }
        // A lone id cannot repeat: most appends are one event, and need no allocation here.
        if ids.clone().nth(1).is_none() {
            return true;
        }
        let mut batch: Vec<Uuid> = ids.collect();
        batch.sort_unstable();
        batch.windows(2).all(|pair| pair[0] != pair[1])
    }

    /// Refuses an append to `stream` of `adding` events that would take the log past its limit.
    pub(super) fn check_room(&self, stream: &str, adding: usize) -> Result<(), Error> {
        if self.len() + adding <= self.limit {
            return Ok(());
        }
        Err(Error::Unstorable {
            stream: stream.to_owned(),
            field: format!("its {adding} events"),
            reason: TOO_MANY,
        })
    }

    /// Refuses an import of `adding` events that would take the log past its limit.
    pub(super) fn check_import_room(&self, adding: usize) -> Result<(), Error> {
        if self.len() + adding <= self.limit {
            return Ok(());
        }
        Err(Error::Import {
            position: self.limit as u64 + 1,
            reason: TOO_MANY.to_owned(),
        })
    }

    /// Stores `events` after version `actual` of `stream`. Every check has passed: the version,
    /// the ids (new, none repeated) and the room.
    pub(super) fn push(
        &mut self,
        stream: &str,
        actual: u64,
        events: Vec<NewEvent>,
    ) -> AppendResult {
        let first_index = self.len();
        let count = events.len() as u64;
        if !events.is_empty() {
            let stream = self.stream_id(stream);
            self.records.reserve(events.len());
            for (version, event) in (actual + 1..).zip(events) {
                let name = self.name_id(&event.name);
                self.store(
                    stream,
                    version,
                    name,
                    event.id,
                    event.schema_version,
                    event.payload,
                    event.metadata,
                );
            }
        }
        let position = first_index as u64 + count;
        AppendResult {
            first_version: actual + 1,
            version: actual + count,
            first_position: first_index as u64 + 1,
            position,
        }
    }

    /// Stores an imported event, which continues the log and its stream; the room is checked.
    pub(super) fn import(&mut self, event: RecordedEvent) {
        debug_assert_eq!(event.position, self.len() as u64 + 1);
        let stream = self.stream_id(&event.stream);
        let name = self.name_id(&event.name);
        self.store(
            stream,
            event.version,
            name,
            event.id,
            event.schema_version,
            event.payload,
            event.metadata,
        );
    }

    #[allow(clippy::too_many_arguments)] // one per stored field
    fn store(
        &mut self,
        stream: u32,
        version: u64,
        name: u32,
        id: Uuid,
        schema_version: u16,
        payload: bytes::Bytes,
        metadata: Metadata,
    ) {
        let index = to_u32(self.len());
        let mut flags = 0;
        let links = to_u32(self.links.len());
        if let Some(correlation) = metadata.correlation_id {
            self.links.push(correlation);
            flags |= HAS_CORRELATION;
        }
        if let Some(causation) = metadata.causation_id {
            flags |= HAS_CAUSATION;
            if metadata.correlation_id == Some(causation) {
                flags |= CAUSED_BY_CORRELATION;
            } else {
                self.links.push(causation);
            }
        }
        if !metadata.extra.is_empty() {
            self.extras.insert(index, metadata.extra);
            flags |= HAS_EXTRA;
        }
        self.records.push(Record {
            id,
            timestamp: metadata.timestamp,
            payload: self.payloads.push(payload),
            stream,
            version: u32::try_from(version)
                .expect("a version is at most its position, below the limit"),
            name,
            links,
            schema_version,
            flags,
        });
        self.streams[stream as usize].events.push(index);
        let Self {
            records,
            ids,
            hasher,
            ..
        } = self;
        ids.insert_unique(hasher.hash_one(id.as_u128()), index, |&stored| {
            hasher.hash_one(records[stored as usize].id.as_u128())
        });
    }

    /// The index of `stream` in `streams`, added on its first event.
    fn stream_id(&mut self, stream: &str) -> u32 {
        if let Some(&id) = self.stream_ids.get(stream) {
            return id;
        }
        let id = to_u32(self.streams.len());
        let name: Arc<str> = Arc::from(stream);
        self.stream_ids.insert(Arc::clone(&name), id);
        self.streams.push(Stream {
            name,
            events: Vec::new(),
        });
        id
    }

    /// The index of `name` in `names`, added on its first use.
    fn name_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = to_u32(self.names.len());
        let shared: Arc<str> = Arc::from(name);
        self.name_ids.insert(Arc::clone(&shared), id);
        self.names.push(shared);
        id
    }
}
