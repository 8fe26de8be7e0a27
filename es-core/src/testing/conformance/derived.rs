//! Derived state the store keeps beside the log: snapshots and checkpoints (cases 20 and 22,
//! store side; the typed side of case 20 and case 21 run through `App`).

use bytes::Bytes;

use super::support::{noise, ok, unique_stream};
use crate::error::Error;
use crate::record::Snapshot;
use crate::store::EventStore;

fn snapshot(version: u64, schema_version: u16, payload: &[u8]) -> Snapshot {
    Snapshot {
        version,
        schema_version,
        payload: Bytes::copy_from_slice(payload),
    }
}

/// Case 20, store side: the newest snapshot, the newest at or below a version, an unknown
/// stream, an overwrite at the same version, a 100 KiB payload byte for byte, streams kept
/// apart, and a bad stream name refused.
///
/// # Panics
/// On a violation of the contract.
pub async fn snapshots<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "snapshots";
    let stream = unique_stream(CASE);
    let other = unique_stream(CASE);
    let load = |stream: String, max: u64| {
        let store = store.clone();
        async move {
            let step = format!("load_snapshot(`{stream}`, at most {max})");
            ok(CASE, &step, store.load_snapshot(&stream, max).await)
        }
    };
    assert_eq!(
        load(stream.clone(), u64::MAX).await,
        None,
        "{CASE}: a stream without snapshots has one"
    );
    for version in [10, 20, 30] {
        let saved = snapshot(version, 1, format!("{{\"at\":{version}}}").as_bytes());
        ok(
            CASE,
            "save_snapshot",
            store.save_snapshot(&stream, saved).await,
        );
    }
    ok(
        CASE,
        "save_snapshot of another stream",
        store.save_snapshot(&other, snapshot(40, 1, b"other")).await,
    );
    let at = |found: Option<Snapshot>| found.map(|snapshot| snapshot.version);
    assert_eq!(
        at(load(stream.clone(), u64::MAX).await),
        Some(30),
        "{CASE}: newest"
    );
    assert_eq!(
        at(load(stream.clone(), 30).await),
        Some(30),
        "{CASE}: at 30"
    );
    assert_eq!(
        at(load(stream.clone(), 29).await),
        Some(20),
        "{CASE}: at or below 29"
    );
    assert_eq!(
        at(load(stream.clone(), 10).await),
        Some(10),
        "{CASE}: at or below 10"
    );
    assert_eq!(
        at(load(stream.clone(), 9).await),
        None,
        "{CASE}: below the first"
    );
    assert_eq!(
        at(load(other.clone(), u64::MAX).await),
        Some(40),
        "{CASE}: other stream"
    );

    let replaced = snapshot(30, 2, b"{\"replaced\":true}");
    ok(
        CASE,
        "save_snapshot again at version 30",
        store.save_snapshot(&stream, replaced.clone()).await,
    );
    assert_eq!(
        load(stream.clone(), u64::MAX).await,
        Some(replaced),
        "{CASE}: saving at the same version must replace the snapshot"
    );

    let large = snapshot(50, 3, &noise(100 * 1024, 20));
    ok(
        CASE,
        "save a 100 KiB snapshot",
        store.save_snapshot(&stream, large.clone()).await,
    );
    assert_eq!(
        load(stream.clone(), u64::MAX).await,
        Some(large),
        "{CASE}: a 100 KiB snapshot must round-trip byte for byte"
    );

    for bad in ["", "bad\nname"] {
        let refused = store.save_snapshot(bad, snapshot(1, 1, b"{}")).await;
        assert!(
            matches!(refused, Err(Error::InvalidStreamName { .. })),
            "{CASE}: save_snapshot to stream {bad:?} gave {refused:?}"
        );
    }
}

/// Case 22, store side: a checkpoint reads as 0 until saved, then as the last saved position
/// (also when it moves back, as a rebuild does), per projection name; positions past 2^32 and
/// up to `i64::MAX` round-trip.
///
/// # Panics
/// On a violation of the contract.
pub async fn checkpoints<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "checkpoints";
    let name = unique_stream(CASE);
    let other = unique_stream(CASE);
    let load = |name: String| {
        let store = store.clone();
        async move {
            let step = format!("load_checkpoint(`{name}`)");
            ok(CASE, &step, store.load_checkpoint(&name).await)
        }
    };
    assert_eq!(load(name.clone()).await, 0, "{CASE}: an unsaved checkpoint");
    for position in [5, 17, 0, 1 << 40, i64::MAX as u64] {
        ok(
            CASE,
            "save_checkpoint",
            store.save_checkpoint(&name, position).await,
        );
        assert_eq!(
            load(name.clone()).await,
            position,
            "{CASE}: the checkpoint must read back as saved"
        );
    }
    ok(
        CASE,
        "save_checkpoint",
        store.save_checkpoint(&other, 3).await,
    );
    assert_eq!(load(other).await, 3, "{CASE}: names are kept apart");
    assert_eq!(
        load(name).await,
        i64::MAX as u64,
        "{CASE}: names are kept apart"
    );
    let refused = store.save_checkpoint("", 1).await;
    assert!(
        matches!(refused, Err(Error::InvalidStreamName { .. })),
        "{CASE}: an empty projection name gave {refused:?}"
    );
}
