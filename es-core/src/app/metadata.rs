//! What a command carries besides its fields, and how it becomes the metadata and ids of the
//! events it records.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::record::{Metadata, Timestamp};

/// Namespace of the event ids derived from idempotency keys (UUID v5).
const IDEMPOTENT_IDS: Uuid = Uuid::from_u128(0x6573_2d69_6465_6d70_6f74_656e_742d_6964);

/// The metadata of a command: its id, the conversation it belongs to, user key-values, and an
/// optional idempotency key. Every event the command records carries the correlation id (the
/// command's id when none is given), the command's id as causation id, and the key-values.
///
/// # Examples
/// ```
/// use es_core::prelude::*; // `Uuid` included
///
/// let request = Uuid::now_v7();
/// let meta = CommandMetadata::new()
///     .correlation_id(request)
///     .idempotency_key("request-7f3a")
///     .with("user", "alice");
/// assert_eq!(meta.extra()["user"], "alice");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandMetadata {
    command_id: Option<Uuid>,
    correlation_id: Option<Uuid>,
    idempotency_key: Option<String>,
    extra: BTreeMap<String, String>,
}

impl CommandMetadata {
    /// No metadata: a fresh command id, which is also the correlation id.
    pub fn new() -> Self {
        Self::default()
    }

    /// The command's id (default: a fresh UUID v7): the causation id of its events.
    #[must_use]
    pub fn command_id(mut self, id: Uuid) -> Self {
        self.command_id = Some(id);
        self
    }

    /// The id shared by everything one original request caused (default: the command's id).
    /// Pass on the correlation id of the event a command reacts to.
    #[must_use]
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// A key that makes the command idempotent on its stream: sending a command with a key
    /// already used on that stream returns the original outcome and records nothing new. Use
    /// the caller's request id.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Adds a user key-value (a tenant, a user id) to every event the command records.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// The user key-values.
    pub fn extra(&self) -> &BTreeMap<String, String> {
        &self.extra
    }

    /// The metadata of one command. Its id, unless given, is chosen when first asked for.
    pub(super) fn resolve(self) -> Resolved {
        Resolved {
            command_id: self.command_id,
            correlation_id: self.correlation_id,
            idempotency_key: self.idempotency_key,
            extra: self.extra,
        }
    }
}

/// [`CommandMetadata`] of one command. A command id not given is chosen when first asked for:
/// usually as the command's events are first encoded, from the clock read that gives them their
/// ids and timestamps. Once chosen it stays, so every try records the same causation id.
pub(super) struct Resolved {
    command_id: Option<Uuid>,
    correlation_id: Option<Uuid>,
    pub(super) idempotency_key: Option<String>,
    extra: BTreeMap<String, String>,
}

impl Resolved {
    /// The command's id, the causation id of its events: a UUID v7 of `now` if none was
    /// chosen yet.
    pub(super) fn command_id_at(&mut self, now: Timestamp) -> Uuid {
        *self.command_id.get_or_insert_with(|| now.v7_id())
    }

    /// The command's id, chosen now if it was not yet.
    pub(super) fn command_id(&mut self) -> Uuid {
        self.command_id_at(Timestamp::now())
    }

    /// The correlation id of its events.
    pub(super) fn correlation_id(&mut self) -> Uuid {
        match self.correlation_id {
            Some(id) => id,
            None => self.command_id(),
        }
    }

    /// The metadata of each event the command records at `now`, its command id chosen.
    pub(super) fn event_metadata(&self, now: Timestamp) -> Metadata {
        // Only a caller that did not choose the id first gets one of `now` per event.
        let command_id = self.command_id.unwrap_or_else(|| now.v7_id());
        Metadata {
            timestamp: now,
            correlation_id: Some(self.correlation_id.unwrap_or(command_id)),
            causation_id: Some(command_id),
            extra: self.extra.clone(),
        }
    }

    /// The id of the command's `index`-th event: derived from the stream and the idempotency
    /// key when there is one, so that a repeated command finds its original events by id;
    /// otherwise a UUID v7 of `now`.
    pub(super) fn event_id(&self, stream: &str, index: usize, now: Timestamp) -> Uuid {
        match &self.idempotency_key {
            Some(key) => idempotent_id(stream, key, index),
            None => now.v7_id(),
        }
    }
}

/// The id of the `index`-th event of the command with `key` on `stream`. Length prefixes keep
/// `("a-b", "c")` and `("a", "b-c")` apart.
pub(super) fn idempotent_id(stream: &str, key: &str, index: usize) -> Uuid {
    let name = format!("{}:{stream}{}:{key}{index}", stream.len(), key.len());
    Uuid::new_v5(&IDEMPOTENT_IDS, name.as_bytes())
}
