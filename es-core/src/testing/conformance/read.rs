//! Reads: cases 9 to 12.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use super::support::{
    append, assert_contiguous, events, ok, read_global, read_whole, unique_stream,
};
use crate::error::Error;
use crate::record::{Metadata, NewEvent, RecordedEvent, Timestamp};
use crate::store::{EventStore, ExpectedVersion};

/// A [`ReplayedEvent`](crate::record::ReplayedEvent), owned, to compare after the fold.
#[derive(Debug, PartialEq)]
struct Replayed {
    stream: String,
    version: u64,
    name: String,
    schema_version: u16,
    payload: Vec<u8>,
}

impl Replayed {
    fn of(replayed: crate::record::ReplayedEvent<'_>) -> Self {
        Self {
            stream: replayed.stream.to_owned(),
            version: replayed.version,
            name: replayed.name.to_owned(),
            schema_version: replayed.schema_version,
            payload: replayed.payload.to_vec(),
        }
    }
}

/// Case 9: range reads of a 5-event stream from versions 0, 1, 3, 5, 6 and far above, with
/// limits 0, 1, 2, 5, 6 and `usize::MAX`, return exactly the versions asked for, through
/// `read_stream` and `fold_stream` alike; a fold stops at its callback's first error; an
/// unknown stream reads as empty at version 0.
///
/// # Panics
/// On a violation of the contract.
pub async fn range_reads<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "range_reads";
    let stream = unique_stream(CASE);
    let batch = events(0, 5);
    append(
        CASE,
        store,
        &stream,
        ExpectedVersion::NoStream,
        batch.clone(),
    )
    .await;
    for from in [0, 1, 2, 3, 5, 6, 7, 1 << 40, u64::MAX] {
        for limit in [0, 1, 2, 5, 6, usize::MAX] {
            let step = format!("read_stream(from {from}, limit {limit})");
            let read = ok(CASE, &step, store.read_stream(&stream, from, limit).await);
            let want: Vec<u64> = (from.max(1)..=5).take(limit).collect();
            let got: Vec<u64> = read.iter().map(|e| e.version).collect();
            assert_eq!(got, want, "{CASE}: {step} returned the wrong versions");
            for recorded in &read {
                let index = usize::try_from(recorded.version - 1).expect("a small version");
                assert_eq!(recorded.id, batch[index].id, "{CASE}: {step}: wrong event");
            }
            let step = format!("fold_stream(from {from}, limit {limit})");
            let mut folded = Vec::new();
            let count = ok(
                CASE,
                &step,
                store
                    .fold_stream(&stream, from, limit, &mut |replayed| {
                        folded.push(Replayed::of(replayed));
                        Ok(())
                    })
                    .await,
            );
            let read: Vec<Replayed> = read
                .iter()
                .map(|recorded| Replayed::of(recorded.replayed()))
                .collect();
            assert_eq!(
                folded, read,
                "{CASE}: {step} saw other events than read_stream (stream, version, name, \
                 schema version or payload)"
            );
            assert_eq!(count, read.len(), "{CASE}: {step} miscounted");
        }
    }
    let mut seen = 0;
    let stopped = store
        .fold_stream(&stream, 1, usize::MAX, &mut |_| {
            seen += 1;
            if seen == 2 {
                return Err(Error::backend("stop here"));
            }
            Ok(())
        })
        .await;
    assert!(
        seen == 2 && matches!(stopped, Err(Error::Backend(_))),
        "{CASE}: a fold went on past its callback's error: {seen} calls, {stopped:?}"
    );
    let unknown = unique_stream(CASE);
    let read = ok(
        CASE,
        "read an unknown stream",
        store.read_stream(&unknown, 1, 10).await,
    );
    assert!(
        read.is_empty(),
        "{CASE}: an unknown stream read as {read:?}"
    );
    let version = ok(
        CASE,
        "version of an unknown stream",
        store.stream_version(&unknown).await,
    );
    assert_eq!(
        version, 0,
        "{CASE}: an unknown stream is at version {version}"
    );
    let version = ok(CASE, "stream_version", store.stream_version(&stream).await);
    assert_eq!(
        version, 5,
        "{CASE}: the 5-event stream is at version {version}"
    );
}

/// Case 10: everything round-trips, through `read_stream`, `read_all` and `find_event` alike: event id, name,
/// schema version (including `u16::MAX`), payload bytes (empty, not UTF-8, JSON whose spacing,
/// key order and escapes a JSON column type would rewrite), metadata (timestamps before 1970,
/// at 0 and in 2500 to the microsecond; correlation and causation ids present or not; user
/// key-values with unicode, quotes and empty strings), stream, version and global position.
///
/// # Panics
/// On a violation of the contract.
pub async fn round_trip<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "round_trip";
    let stream = unique_stream(CASE);
    let sent = round_trip_events();
    let appended = append(
        CASE,
        store,
        &stream,
        ExpectedVersion::NoStream,
        sent.clone(),
    )
    .await;
    let stored = read_whole(CASE, store, &stream, 100).await;
    assert_contiguous(CASE, &stream, &stored);
    assert_eq!(
        stored.len(),
        sent.len(),
        "{CASE}: wrong number of events read back"
    );
    assert_eq!(
        stored[0].position, appended.first_position,
        "{CASE}: wrong first position"
    );
    assert_eq!(
        stored[stored.len() - 1].position,
        appended.position,
        "{CASE}: wrong position"
    );
    let name: Arc<str> = Arc::from(stream.as_str());
    for (sent, stored) in sent.iter().zip(&stored) {
        let want = RecordedEvent {
            id: sent.id,
            stream: Arc::clone(&name),
            version: stored.version,
            position: stored.position,
            name: Arc::from(&*sent.name),
            schema_version: sent.schema_version,
            payload: sent.payload.clone(),
            metadata: sent.metadata.clone(),
        };
        assert_eq!(
            stored, &want,
            "{CASE}: version {} did not round-trip",
            stored.version
        );
    }
    let ours: HashSet<&str> = [stream.as_str()].into();
    let global = read_global(CASE, store, appended.first_position - 1, 100, &ours).await;
    assert_eq!(global, stored, "{CASE}: read_all and read_stream disagree");
    for event in &stored {
        let found = ok(CASE, "find_event", store.find_event(event.id).await);
        assert_eq!(
            found.as_ref(),
            Some(event),
            "{CASE}: find_event and read_stream disagree at version {}",
            event.version
        );
    }
    let missing = ok(CASE, "find_event", store.find_event(Uuid::now_v7()).await);
    assert_eq!(missing, None, "{CASE}: find_event found an id never stored");
}

fn round_trip_events() -> Vec<NewEvent> {
    let mut extra = BTreeMap::new();
    extra.insert("tenant".to_owned(), "acme".to_owned());
    extra.insert("user".to_owned(), "Zoë 🦀".to_owned());
    extra.insert("empty".to_owned(), String::new());
    extra.insert("quote'\"key".to_owned(), "x'; --".to_owned());
    let full = Metadata {
        timestamp: Timestamp(1_700_000_000_123_456),
        correlation_id: Some(Uuid::now_v7()),
        causation_id: Some(Uuid::now_v7()),
        extra,
    };
    let bare = Metadata {
        timestamp: Timestamp(0),
        correlation_id: None,
        causation_id: None,
        extra: BTreeMap::new(),
    };
    let with = |name: &'static str, schema_version, payload: Bytes, metadata: Metadata| NewEvent {
        id: Uuid::now_v7(),
        name: name.into(),
        schema_version,
        payload,
        metadata,
    };
    vec![
        with(
            "ConformanceEvent",
            1,
            Bytes::from_static(b"{\"n\":1}"),
            full.clone(),
        ),
        with(
            "Événement-ünïcode",
            2,
            Bytes::from_static(b"{ \"b\": 1,  \"a\": [1, 2.50, 1e2], \"e\": \"\\u00e9\" }"),
            bare.clone(),
        ),
        with(
            "Empty",
            u16::MAX,
            Bytes::new(),
            Metadata {
                timestamp: Timestamp(-315_619_200_000_000 + 123_457),
                ..full.clone()
            },
        ),
        with(
            "Binary",
            0,
            Bytes::from_static(&[0, 159, 146, 150, 255, 0, 10]),
            Metadata {
                timestamp: Timestamp(16_725_225_600_000_001),
                causation_id: None,
                ..full.clone()
            },
        ),
        with(
            "Now",
            1,
            Bytes::from_static(b"null"),
            Metadata {
                correlation_id: None,
                ..Metadata::default()
            },
        ),
        with(
            "Quoted'; --",
            7,
            Bytes::from_static(b"\"text with 'quotes' and \\\"escapes\\\"\""),
            bare,
        ),
    ]
}

/// Case 11: a stream longer than any read batch (1,300 events) is read whole, in order, exactly
/// once, whatever the page size (100, 512, 1024, `usize::MAX`).
///
/// # Panics
/// On a violation of the contract.
pub async fn long_stream_read_whole<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "long_stream_read_whole";
    let stream = unique_stream(CASE);
    let mut sent = Vec::new();
    for batch in 0..13 {
        let batch = events(batch * 100, 100);
        sent.extend(batch.iter().map(|e| e.id));
        append(CASE, store, &stream, ExpectedVersion::Any, batch).await;
    }
    for page in [100, 512, 1024, usize::MAX] {
        let stored = read_whole(CASE, store, &stream, page).await;
        assert_contiguous(CASE, &stream, &stored);
        let got: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
        assert!(
            got == sent,
            "{CASE}: reading in pages of {page} did not return every event once, in order"
        );
    }
}

/// Case 12: the global log read from a position `p`, in small pages: strictly increasing
/// positions, nothing at or below `p`, every event committed after `p` exactly once, in commit
/// order, at the positions its append reported.
///
/// # Panics
/// On a violation of the contract.
pub async fn global_log_from_position<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "global_log_from_position";
    let streams = [unique_stream(CASE), unique_stream(CASE)];
    let mut appends = Vec::new();
    for n in 0..10_u64 {
        let stream = &streams[usize::from(n % 3 == 0)];
        let batch = events(n * 10, n % 3 + 1);
        let appended = append(CASE, store, stream, ExpectedVersion::Any, batch.clone()).await;
        appends.push((batch, appended));
    }
    let ours: HashSet<&str> = streams.iter().map(String::as_str).collect();
    let nothing = ok(CASE, "read_all with limit 0", store.read_all(0, 0).await);
    assert!(
        nothing.is_empty(),
        "{CASE}: read_all with limit 0 returned events"
    );
    for (from, page) in [(0, 7), (4, 1), (4, 3), (9, 100)] {
        let after = if from == 0 {
            appends[0].1.first_position - 1
        } else {
            appends[from - 1].1.position
        };
        let global = read_global(CASE, store, after, page, &ours).await;
        let want: Vec<Uuid> = appends[from..]
            .iter()
            .flat_map(|(batch, _)| batch.iter().map(|e| e.id))
            .collect();
        let got: Vec<Uuid> = global.iter().map(|e| e.id).collect();
        assert_eq!(
            got, want,
            "{CASE}: the global log after {after} (pages of {page}) is wrong"
        );
        let mut at = 0;
        for (batch, appended) in &appends[from..] {
            let slot = &global[at..at + batch.len()];
            assert_eq!(
                slot[0].position, appended.first_position,
                "{CASE}: wrong first position"
            );
            assert_eq!(
                slot[slot.len() - 1].position,
                appended.position,
                "{CASE}: wrong position"
            );
            at += batch.len();
        }
    }
}
