//! What a refused multi-stream append comes to, the same on every backend: the original
//! results of a retry, a duplicate id, or the conflict that refused it.

use crate::error::Error;
use crate::store::{AppendResult, StreamAppend};

/// Explains why a multi-stream call was not written. `replays` holds, per part, the original
/// result when the part has events and all of them are stored where its expectation puts them
/// (`None` when the part has none, or none of its ids is stored); `version` reads a stream's
/// version as the store holds it; `otherwise` is the error when nothing else explains the
/// refusal (a backend's own constraint).
///
/// - Every part with events stored: a retry of a call that was written; its original results
///   (a guard part reports its stream's current version).
/// - Some stored and some not: the call reuses ids of another append, [`Error::DuplicateEvent`].
/// - None stored: the first part whose expectation fails, [`Error::Conflict`]; failing that, an
///   id that two parts share, [`Error::DuplicateEvent`]; failing that, `otherwise`.
pub(crate) fn settle_refusal(
    parts: &[StreamAppend],
    replays: &[Option<AppendResult>],
    version: impl Fn(&str) -> Result<u64, Error>,
    otherwise: Error,
) -> Result<Vec<AppendResult>, Error> {
    let with_events = parts.iter().filter(|part| !part.events.is_empty()).count();
    let stored = replays.iter().flatten().count();
    if stored > 0 && stored == with_events {
        let mut results = Vec::with_capacity(parts.len());
        let mut position = replays
            .iter()
            .flatten()
            .next()
            .map_or(0, |r| r.first_position - 1);
        for (part, replay) in parts.iter().zip(replays) {
            let result = if let Some(result) = replay {
                *result
            } else {
                let actual = version(&part.stream)?;
                AppendResult {
                    first_version: actual + 1,
                    version: actual,
                    first_position: position + 1,
                    position,
                }
            };
            position = result.position;
            results.push(result);
        }
        return Ok(results);
    }
    if let Some((part, replay)) = parts
        .iter()
        .zip(replays)
        .find_map(|(part, replay)| replay.map(|replay| (part, replay)))
    {
        return Err(Error::DuplicateEvent {
            stream: part.stream.clone(),
            version: replay.first_version,
            event_id: part.events[0].id,
        });
    }
    for part in parts {
        let actual = version(&part.stream)?;
        if !part.expected.matches(actual) {
            return Err(Error::Conflict {
                stream: part.stream.clone(),
                expected: part.expected,
                actual,
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    for part in parts {
        if let Some(event) = part.events.iter().find(|event| !seen.insert(event.id)) {
            return Err(Error::DuplicateEvent {
                stream: part.stream.clone(),
                version: 0,
                event_id: event.id,
            });
        }
    }
    Err(otherwise)
}
