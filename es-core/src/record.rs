//! Envelopes: an event on its way into the store, and an event as stored.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
