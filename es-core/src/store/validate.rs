//! What every store refuses before anything is sent: values no backend can keep the same way
//! (a NUL character in a name or in metadata, which PostgreSQL's text cannot hold), appends
//! larger than a backend's message or row limits, and numbers past the SQL stores' signed
//! 64-bit integers. Checked at the API, so each store answers alike and none half-sends.

use crate::error::Error;
use crate::record::NewEvent;

use super::{StreamAppend, validate_stream_name};

/// The most bytes one append may carry: its events' payloads, names and metadata together.
/// Below PostgreSQL's 1 GiB message and SQLite's 1 GB row limits with room for the envelope.
pub const MAX_APPEND_BYTES: usize = 256 * 1024 * 1024;

/// The largest version, position or checkpoint any store keeps: 2^63 - 1, the SQL stores'
/// signed 64-bit integers.
pub const MAX_POSITION: u64 = i64::MAX as u64;

/// Checks an append's stream name, its events' names and metadata, and its size.
pub(crate) fn validate_append(stream: &str, events: &[NewEvent]) -> Result<(), Error> {
    validate_stream_name(stream)?;
    let size = storable_size(stream, events)?;
    within_limit(stream, size)
}

/// Checks each part of a multi-stream append as [`validate_append`] does, that no stream is
/// named twice, and the call's size as a whole.
pub(crate) fn validate_appends(parts: &[StreamAppend]) -> Result<(), Error> {
    let mut streams = std::collections::HashSet::with_capacity(parts.len());
    let mut size = 0usize;
    for part in parts {
        validate_stream_name(&part.stream)?;
        if !streams.insert(part.stream.as_str()) {
            return Err(Error::InvalidStreamName {
                stream: part.stream.chars().take(100).collect(),
                reason: "it is named twice in one multi-stream append",
            });
        }
        size = size.saturating_add(storable_size(&part.stream, &part.events)?);
        within_limit(&part.stream, size)?;
    }
    Ok(())
}

/// The bytes `events` carry; an error when one of their names or metadata holds a NUL.
fn storable_size(stream: &str, events: &[NewEvent]) -> Result<usize, Error> {
    let mut size = 0usize;
    for (index, event) in events.iter().enumerate() {
        let invalid = |field: String| Error::Unstorable {
            stream: stream.to_owned(),
            field,
            reason: "it contains a NUL character",
        };
        if event.name.contains('\0') {
            return Err(invalid(format!("the name of event {}", index + 1)));
        }
        for (key, value) in &event.metadata.extra {
            if key.contains('\0') {
                return Err(invalid(format!("a metadata key of event {}", index + 1)));
            }
            if value.contains('\0') {
                return Err(invalid(format!(
                    "the value of metadata key `{}` of event {}",
                    key.escape_debug(),
                    index + 1
                )));
            }
            size = size.saturating_add(key.len() + value.len());
        }
        size = size.saturating_add(event.payload.len() + event.name.len());
    }
    Ok(size)
}

fn within_limit(stream: &str, size: usize) -> Result<(), Error> {
    if size > MAX_APPEND_BYTES {
        return Err(Error::TooLarge {
            stream: stream.to_owned(),
            size,
            limit: MAX_APPEND_BYTES,
        });
    }
    Ok(())
}

/// Checks that `value` (a version, position or checkpoint) is one every store keeps.
pub(crate) fn validate_position(what: &'static str, value: u64) -> Result<(), Error> {
    if value > MAX_POSITION {
        return Err(Error::OutOfRange {
            what,
            value,
            max: MAX_POSITION,
        });
    }
    Ok(())
}

/// The first event id that occurs twice in `events`, in time linear in their number.
#[cfg(feature = "postgres")]
pub(crate) fn repeated_id(events: &[NewEvent]) -> Option<uuid::Uuid> {
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    events
        .iter()
        .map(|event| event.id)
        .find(|id| !seen.insert(*id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    #[test]
    fn a_repeated_id_is_found_in_a_large_batch() {
        let mut events: Vec<_> = (0..100_000).map(|_| NewEvent::new("E", 1, "")).collect();
        assert_eq!(repeated_id(&events), None);
        events[99_999].id = events[50_000].id;
        assert_eq!(repeated_id(&events), Some(events[50_000].id));
    }

    #[test]
    fn positions_past_i64_are_refused() {
        assert!(validate_position("checkpoint", MAX_POSITION).is_ok());
        let error = validate_position("checkpoint", MAX_POSITION + 1).unwrap_err();
        assert_eq!(
            error.to_string(),
            "checkpoint 9223372036854775808 is out of range: every store keeps 0 to \
             9223372036854775807"
        );
    }
}
