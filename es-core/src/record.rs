//! Envelopes: an event on its way into the store, and an event as stored.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::codec::Codec;
use crate::error::Error;
use crate::event::EventSet;

/// Microseconds since the Unix epoch, UTC: what every backend stores as the event's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let micros = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_micros()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Self(micros)
    }

    /// A new random UUID v7 of this time's millisecond (the epoch for an earlier one).
    ///
    /// Without uuid's shared counter: ids of one millisecond need not sort, the store's
    /// positions order events.
    pub(crate) fn v7_id(self) -> Uuid {
        let millis = u64::try_from(self.0 / 1_000).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &id_random_bits()).into_uuid()
    }

    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// As a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let magnitude = Duration::from_micros(self.0.unsigned_abs());
        if self.0 >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }
}

/// The 74 random bits of a UUID v7 (in 10 bytes), from a per-thread wyrand seeded from the
/// OS's randomness rather than from uuid's `ChaCha`: an id must be unique, not unguessable, and
/// this is a tenth of the cost.
fn id_random_bits() -> [u8; 10] {
    thread_local! {
        static RANDOM: RefCell<fastrand::Rng> = RefCell::new(fastrand::Rng::with_seed(
            // std's hasher keys are drawn from the OS once per thread.
            std::hash::RandomState::new().build_hasher().finish(),
        ));
    }
    let random = RANDOM.with_borrow_mut(|random| random.u128(..)).to_le_bytes();
    let mut bits = [0; 10];
    bits.copy_from_slice(&random[..10]);
    bits
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with microseconds: `2026-11-29T05:24:49.123456Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60
        )
    }
}

/// What is recorded with every event besides its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// When the event was created.
    pub timestamp: Timestamp,
    /// The id shared by everything caused by one original request.
    pub correlation_id: Option<Uuid>,
    /// The id of the command (or event) that caused this event.
    pub causation_id: Option<Uuid>,
    /// User-defined key-values (a tenant, a user id, a request path).
    pub extra: BTreeMap<String, String>,
}

impl Default for Metadata {
    fn default() -> Self {
        Self {
            timestamp: Timestamp::now(),
            correlation_id: None,
            causation_id: None,
            extra: BTreeMap::new(),
        }
    }
}

/// An event to append: serialized, with a fresh id, not yet given a version or position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Unique id (UUID v7 by default); re-appending the same ids is an idempotent retry.
    pub id: Uuid,
    /// The event's stored name (borrowed for the names generated code knows statically).
    pub name: Cow<'static, str>,
    /// The payload's schema version.
    pub schema_version: u16,
    /// The serialized payload.
    pub payload: Bytes,
    /// Timestamp, correlation and causation ids, user key-values.
    pub metadata: Metadata,
}

impl NewEvent {
    /// A new event with a fresh UUID v7 id and default metadata (now, no correlation).
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        schema_version: u16,
        payload: impl Into<Bytes>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            name: name.into(),
            schema_version,
            payload: payload.into(),
            metadata: Metadata::default(),
        }
    }
}

/// An event as stored: the appended envelope plus its stream, version and global position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The event's id, as appended.
    pub id: Uuid,
    /// The stream it belongs to.
    pub stream: Arc<str>,
    /// Its version in the stream: 1 for the first event, without gaps.
    pub version: u64,
    /// Its position in the global log: strictly increasing across the store.
    pub position: u64,
    /// The event's stored name.
    pub name: Arc<str>,
    /// The payload's schema version.
    pub schema_version: u16,
    /// The serialized payload, byte for byte as appended.
    pub payload: Bytes,
    /// The metadata, as appended.
    pub metadata: Metadata,
}

impl RecordedEvent {
    /// Decodes this record into the event set `E`.
    ///
    /// # Errors
    /// [`Error::UnknownEvent`], [`Error::FutureSchema`] or [`Error::Decode`], each naming this
    /// record's stream and version.
    pub fn decode<E: EventSet, C: Codec>(&self, codec: &C) -> Result<E, Error> {
        self.replayed().decode(codec)
    }

    /// What a replay reads of this record, borrowed.
    pub fn replayed(&self) -> ReplayedEvent<'_> {
        ReplayedEvent {
            stream: &self.stream,
            version: self.version,
            name: &self.name,
            schema_version: self.schema_version,
            payload: &self.payload,
        }
    }
}

/// What replaying a stream needs of a stored event, borrowed from wherever the store holds it
/// (its own record, or the row the database just sent): the fields that decode it and place it
/// in its stream. Handed to the callback of [`fold_stream`](crate::EventStore::fold_stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayedEvent<'a> {
    /// The stream it belongs to.
    pub stream: &'a str,
    /// Its version in the stream.
    pub version: u64,
    /// The event's stored name.
    pub name: &'a str,
    /// The payload's schema version.
    pub schema_version: u16,
    /// The serialized payload, byte for byte as appended.
    pub payload: &'a [u8],
}

impl ReplayedEvent<'_> {
    /// Decodes the event into the event set `E`.
    ///
    /// # Errors
    /// [`Error::UnknownEvent`], [`Error::FutureSchema`] or [`Error::Decode`], each naming the
    /// event's stream and version.
    pub fn decode<E: EventSet, C: Codec>(&self, codec: &C) -> Result<E, Error> {
        E::decode(codec, self.name, self.schema_version, self.payload)
            .map_err(|error| error.at(self.stream, self.version))
    }
}

/// A stored snapshot: an aggregate's state as of a stream version, serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream version the state includes: the tail to replay starts after it.
    pub version: u64,
    /// The schema version of the serialized state; a snapshot of another schema is ignored.
    pub schema_version: u16,
    /// The serialized state.
    pub payload: Bytes,
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn ids_are_distinct_uuid_v7_of_the_timestamps_millisecond() {
        let now = Timestamp(1_795_930_689_123_456);
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| now.v7_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids {
            assert_eq!(id.get_version_num(), 7);
            let (seconds, nanos) = id.get_timestamp().expect("a v7 timestamp").to_unix();
            assert_eq!((seconds, nanos), (1_795_930_689, 123_000_000));
        }
        assert_eq!(
            Timestamp(-5).v7_id().get_timestamp().map(|t| t.to_unix()),
            Some((0, 0)),
            "before the epoch: the epoch"
        );
    }

    #[test]
    fn timestamps_display_as_rfc3339() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            Timestamp(1_795_930_689_123_456).to_string(),
            "2026-11-29T05:38:09.123456Z"
        );
        assert_eq!(
            Timestamp(951_782_400_000_000).to_string(),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999Z");
    }
}
