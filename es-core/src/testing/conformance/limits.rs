//! Case 23: what every store refuses alike, at the API, before anything is sent: a NUL
//! character in an event's name or metadata, an append over
//! [`MAX_APPEND_BYTES`](crate::store::MAX_APPEND_BYTES), and versions, positions and checkpoints
//! past [`MAX_POSITION`](crate::store::MAX_POSITION).

use std::collections::BTreeMap;

use super::support::{event, ok, unique_stream};
use crate::error::Error;
use crate::record::{NewEvent, Snapshot};
use crate::store::{EventStore, ExpectedVersion, MAX_APPEND_BYTES, MAX_POSITION};

/// Case 23: an event name, metadata key or metadata value holding a NUL character is
/// [`Error::Unstorable`] naming the event and the field, and nothing of its append is stored:
/// PostgreSQL's text cannot hold NUL, so no store takes it. A NUL inside a payload is data, and
/// round-trips.
///
/// # Panics
/// On a violation of the contract.
pub async fn nul_characters_refused<S: EventStore>(store: &S) {
    const CASE: &str = "nul_characters_refused";
    let stream = unique_stream(CASE);
    let with_extra = |key: &str, value: &str| {
        let mut event = event(2);
        event.metadata.extra = BTreeMap::from([(key.to_owned(), value.to_owned())]);
        event
    };
    let cases = [
        (NewEvent::new("Bad\0Name", 1, "{}"), "the name of event 2"),
        (with_extra("tenant\0", "a"), "a metadata key of event 2"),
        (
            with_extra("tenant", "a\0b"),
            "the value of metadata key `tenant` of event 2",
        ),
    ];
    for (bad, field) in cases {
        match store
            .append(&stream, ExpectedVersion::Any, vec![event(1), bad])
            .await
        {
            Err(Error::Unstorable {
                stream: named,
                field: refused,
                ..
            }) => assert_eq!(
                (named.as_str(), refused.as_str()),
                (stream.as_str(), field),
                "{CASE}: the error names the wrong value"
            ),
            other => panic!("{CASE}: {field} with a NUL character gave {other:?}"),
        }
    }
    let version = ok(CASE, "stream_version", store.stream_version(&stream).await);
    assert_eq!(version, 0, "{CASE}: part of a refused append was stored");

    let payload = NewEvent::new("Binary", 1, &b"a\0b"[..]);
    ok(
        CASE,
        "a NUL byte in a payload",
        store
            .append(&stream, ExpectedVersion::NoStream, vec![payload])
            .await,
    );
    let stored = ok(CASE, "read_stream", store.read_stream(&stream, 1, 10).await);
    assert_eq!(
        &stored[0].payload[..],
        b"a\0b",
        "{CASE}: a payload's NUL byte did not round-trip"
    );
}

/// Case 23: an append whose payloads, names and metadata pass
/// [`MAX_APPEND_BYTES`](crate::store::MAX_APPEND_BYTES) is [`Error::TooLarge`] naming the size
/// and the limit, and nothing of it is stored.
///
/// # Panics
/// On a violation of the contract.
pub async fn oversized_append_refused<S: EventStore>(store: &S) {
    const CASE: &str = "oversized_append_refused";
    let stream = unique_stream(CASE);
    let half = bytes::Bytes::from(vec![b'x'; MAX_APPEND_BYTES / 2]);
    let batch = vec![
        NewEvent::new("Big", 1, half.clone()),
        NewEvent::new("Big", 1, half),
    ];
    let size = MAX_APPEND_BYTES + 6;
    match store.append(&stream, ExpectedVersion::Any, batch).await {
        Err(Error::TooLarge {
            stream: named,
            size: refused,
            limit,
        }) => assert_eq!(
            (named.as_str(), refused, limit),
            (stream.as_str(), size, MAX_APPEND_BYTES),
            "{CASE}: the error names the wrong size"
        ),
        other => panic!("{CASE}: an append of {size} bytes gave {other:?}"),
    }
    let version = ok(CASE, "stream_version", store.stream_version(&stream).await);
    assert_eq!(version, 0, "{CASE}: part of a refused append was stored");
}

/// Case 23: checkpoints and snapshot versions up to [`MAX_POSITION`](crate::store::MAX_POSITION)
/// are kept; past it they are [`Error::OutOfRange`] on every store, and loading snapshots up
/// to `u64::MAX` is no error.
///
/// # Panics
/// On a violation of the contract.
pub async fn positions_past_i64_refused<S: EventStore>(store: &S) {
    const CASE: &str = "positions_past_i64_refused";
    let name = unique_stream(CASE);
    ok(
        CASE,
        "a checkpoint at the largest position",
        store.save_checkpoint(&name, MAX_POSITION).await,
    );
    let loaded = ok(CASE, "load_checkpoint", store.load_checkpoint(&name).await);
    assert_eq!(loaded, MAX_POSITION, "{CASE}: the largest checkpoint");
    for position in [MAX_POSITION + 1, u64::MAX] {
        let refused = store.save_checkpoint(&name, position).await;
        assert!(
            matches!(refused, Err(Error::OutOfRange { what: "checkpoint", value, max })
                if value == position && max == MAX_POSITION),
            "{CASE}: a checkpoint at {position} gave {refused:?}"
        );
    }
    let loaded = ok(CASE, "load_checkpoint", store.load_checkpoint(&name).await);
    assert_eq!(
        loaded, MAX_POSITION,
        "{CASE}: a refused checkpoint moved it"
    );

    let stream = unique_stream(CASE);
    let snapshot = |version| Snapshot {
        version,
        schema_version: 1,
        payload: bytes::Bytes::from_static(b"{}"),
    };
    ok(
        CASE,
        "a snapshot at the largest version",
        store.save_snapshot(&stream, snapshot(MAX_POSITION)).await,
    );
    let refused = store
        .save_snapshot(&stream, snapshot(MAX_POSITION + 1))
        .await;
    assert!(
        matches!(
            refused,
            Err(Error::OutOfRange {
                what: "snapshot version",
                ..
            })
        ),
        "{CASE}: a snapshot past the largest version gave {refused:?}"
    );
    let newest = ok(
        CASE,
        "load_snapshot up to u64::MAX",
        store.load_snapshot(&stream, u64::MAX).await,
    );
    assert_eq!(
        newest.map(|snapshot| snapshot.version),
        Some(MAX_POSITION),
        "{CASE}: the newest snapshot"
    );
}
