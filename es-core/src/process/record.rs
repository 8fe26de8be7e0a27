//! The events a process manager stores about itself: an instance's steps, its deadlines, and
//! the lease. Stored as JSON whatever the app's codec: they are the framework's, not the user's.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent, Timestamp};

/// The stored name of an instance's step.
pub(super) const STEP: &str = "es.ProcessStep";
/// The stored name of a change to the deadlines.
pub(super) const DEADLINE: &str = "es.ProcessDeadline";
/// The stored name of a lease taken or renewed.
pub(super) const LEASE: &str = "es.ProcessLease";

/// An instance's state after a step, and what led to it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Step<P> {
    /// The id of the event handled, or of the deadline fired.
    pub(super) trigger: Uuid,
    pub(super) state: P,
    /// Whether the instance's work is done.
    pub(super) done: bool,
    /// The conversation the instance's commands join: the correlation id of its first event.
    pub(super) correlation: Option<Uuid>,
}

/// A change to the schedule of deadlines.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "change", rename_all = "snake_case")]
pub(super) enum DeadlineRecord {
    /// Set (or moved) to `at`, in microseconds since the epoch.
    Set { key: String, name: String, at: i64 },
    /// Cancelled, fired, or dropped with its instance.
    Cleared { key: String, name: String },
}

/// A lease taken or renewed by `holder`, until `until` (microseconds since the epoch).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct LeaseRecord {
    pub(super) holder: Uuid,
    pub(super) until: i64,
}

/// The event of `payload` under `name`, with this id.
pub(super) fn new_event(
    id: Uuid,
    name: &'static str,
    payload: &impl Serialize,
) -> Result<NewEvent, Error> {
    let json = serde_json::to_vec(payload).map_err(|source| Error::Encode {
        event: name.to_owned(),
        source: Box::new(source),
    })?;
    let mut event = NewEvent::new(name, 1, json);
    event.id = id;
    event.metadata.timestamp = Timestamp::now();
    Ok(event)
}

/// The payload of a stored record of the process's own.
pub(super) fn decode<T: serde::de::DeserializeOwned>(record: &RecordedEvent) -> Result<T, Error> {
    serde_json::from_slice(&record.payload).map_err(|source| Error::Decode {
        stream: record.stream.to_string(),
        version: record.version,
        event: record.name.to_string(),
        source: Box::new(source),
    })
}

/// An id derived from `parts`: the same parts give the same id, on every node and run.
pub(super) fn derived_id(parts: &[&str]) -> Uuid {
    let mut name = String::new();
    for part in parts {
        // Length prefixes keep ("a-b", "c") and ("a", "b-c") apart.
        name.push_str(&part.len().to_string());
        name.push(':');
        name.push_str(part);
    }
    Uuid::new_v5(&PROCESS_IDS, name.as_bytes())
}

/// The namespace of [`derived_id`].
const PROCESS_IDS: Uuid = Uuid::from_u128(0x6c2d_41a8_9a57_4a4f_8f0e_1b3c_5d7e_9f21);

/// The stream of the instance with correlation `key`: `process-{name}-{key}` for a key of
/// letters, digits, `_` and `-` (up to 100 bytes), else `process-{name}-~{hash of the key}`.
/// The other streams of a process end in `.lease` and `.deadlines`, and a plain key holds
/// neither `.` nor `~`, so no key names another stream, and a hostile key (too long, control
/// characters) cannot make an invalid name that would stop the process.
pub(super) fn instance_stream(name: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 100
        && key
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if plain {
        format!("process-{name}-{key}")
    } else {
        format!("process-{name}-~{}", derived_id(&[key]).simple())
    }
}

#[cfg(test)]
mod tests {
    use super::instance_stream;

    #[test]
    fn no_key_names_another_stream() {
        assert_eq!(instance_stream("wire", "w-1_a"), "process-wire-w-1_a");
        let long = "k".repeat(300);
        for hostile in [
            "retry.lease",
            "x.deadlines",
            "~abc",
            "a\u{0}b",
            "",
            long.as_str(),
        ] {
            let stream = instance_stream("wire", hostile);
            assert!(
                stream.starts_with("process-wire-~"),
                "{hostile:?} -> {stream}"
            );
            assert!(!stream.contains('.') && stream.len() < 100, "{stream}");
        }
        assert_ne!(
            instance_stream("wire", "a.b"),
            instance_stream("wire", "a.c")
        );
    }
}
