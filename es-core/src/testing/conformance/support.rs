//! What the conformance cases share: stream names, events, assertions, paged reads.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use uuid::Uuid;

use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent};
use crate::store::{AppendResult, EventStore, ExpectedVersion};

/// How long a case waits for something that must eventually happen (a subscriber catching up)
/// before it reports a hang. A bound against hanging forever, not a performance figure.
pub(super) const HANG_GUARD: Duration = Duration::from_secs(60);

/// How often the subscriptions of the suite poll when the store's head hint stays silent.
pub(super) const POLL: Duration = Duration::from_millis(20);

/// A stream name no other call of any case uses.
pub(super) fn unique_stream(case: &str) -> String {
    format!("conformance-{case}-{}", Uuid::now_v7().simple())
}

/// One small JSON event tagged with `n`.
pub(super) fn event(n: u64) -> NewEvent {
    NewEvent::new("ConformanceEvent", 1, format!("{{\"n\":{n}}}"))
}

/// `len` small events tagged from `start`.
pub(super) fn events(start: u64, len: u64) -> Vec<NewEvent> {
    (start..start + len).map(event).collect()
}

/// The ids of a batch, in order.
pub(super) fn ids(batch: &[NewEvent]) -> Vec<Uuid> {
    batch.iter().map(|event| event.id).collect()
}

/// Unwraps a store call that must succeed, naming the case and the step.
#[track_caller]
pub(super) fn ok<T>(case: &str, step: &str, result: Result<T, Error>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{case}: {step} failed: {error} ({error:?})"),
    }
}

/// Appends a batch that must succeed.
pub(super) async fn append<S: EventStore>(
    case: &str,
    store: &S,
    stream: &str,
    expected: ExpectedVersion,
    batch: Vec<NewEvent>,
) -> AppendResult {
    let step = format!("append to `{stream}` expecting {expected}");
    ok(case, &step, store.append(stream, expected, batch).await)
}

/// Asserts that an append failed with exactly this conflict.
#[track_caller]
pub(super) fn assert_conflict(
    case: &str,
    step: &str,
    result: &Result<AppendResult, Error>,
    stream: &str,
    expected: ExpectedVersion,
    actual: u64,
) {
    match result {
        Err(Error::Conflict {
            stream: got_stream,
            expected: got_expected,
            actual: got_actual,
        }) if got_stream == stream && *got_expected == expected && *got_actual == actual => {}
        other => panic!(
            "{case}: {step}: expected Conflict {{ stream: {stream:?}, expected: {expected:?}, \
             actual: {actual} }}, got {other:?}"
        ),
    }
}

/// Asserts that an append failed with [`Error::DuplicateEvent`] naming one of the `stored`
/// events of the batch (id, stream, version): a backend may report any of them.
#[track_caller]
pub(super) fn assert_duplicate(
    case: &str,
    step: &str,
    result: &Result<AppendResult, Error>,
    stored: &[(Uuid, &str, u64)],
) {
    if let Err(Error::DuplicateEvent {
        stream,
        version,
        event_id,
    }) = result
    {
        if stored
            .iter()
            .any(|(id, at, v)| id == event_id && at == stream && v == version)
        {
            return;
        }
    }
    panic!("{case}: {step}: expected DuplicateEvent naming one of {stored:?}, got {result:?}");
}

/// Asserts that an append of a batch holding `event_id` twice failed with
/// [`Error::DuplicateEvent`] for that id.
#[track_caller]
pub(super) fn assert_duplicate_in_batch(
    case: &str,
    step: &str,
    result: &Result<AppendResult, Error>,
    event_id: Uuid,
) {
    assert!(
        matches!(result, Err(Error::DuplicateEvent { event_id: got, .. }) if *got == event_id),
        "{case}: {step}: expected DuplicateEvent for {event_id}, got {result:?}"
    );
}

/// The whole stream, read in pages of `page` events.
pub(super) async fn read_whole<S: EventStore>(
    case: &str,
    store: &S,
    stream: &str,
    page: usize,
) -> Vec<RecordedEvent> {
    let mut all: Vec<RecordedEvent> = Vec::new();
    loop {
        let from = all.last().map_or(1, |last| last.version + 1);
        let step = format!("read_stream(`{stream}`, from {from}, limit {page})");
        let batch = ok(case, &step, store.read_stream(stream, from, page).await);
        assert!(
            batch.len() <= page,
            "{case}: {step} returned {} events, more than the limit",
            batch.len()
        );
        let done = batch.len() < page;
        all.extend(batch);
        if done {
            return all;
        }
    }
}

/// Asserts that a stream holds exactly versions `1..=n`, in order, with strictly increasing
/// global positions.
#[track_caller]
pub(super) fn assert_contiguous(case: &str, stream: &str, events: &[RecordedEvent]) {
    for (index, recorded) in events.iter().enumerate() {
        let version = index as u64 + 1;
        assert_eq!(
            recorded.version, version,
            "{case}: event {index} of `{stream}` has version {}, expected {version}",
            recorded.version
        );
        assert_eq!(
            &*recorded.stream, stream,
            "{case}: read_stream(`{stream}`) returned an event of another stream"
        );
    }
    for pair in events.windows(2) {
        assert!(
            pair[0].position < pair[1].position,
            "{case}: versions {} and {} of `{stream}` have positions {} and {}, not increasing",
            pair[0].version,
            pair[1].version,
            pair[0].position,
            pair[1].position
        );
    }
}

/// The events of the global log after `after`, up to its current end, read in pages of `page`:
/// checks that positions are strictly increasing and above `after`, that `fold_all` passes each
/// page's events as `read_all` returns them, and keeps the events of `streams` only (other
/// cases may share the store).
pub(super) async fn read_global<S: EventStore>(
    case: &str,
    store: &S,
    after: u64,
    page: usize,
    streams: &HashSet<&str>,
) -> Vec<RecordedEvent> {
    let mut last = after;
    let mut kept = Vec::new();
    loop {
        let step = format!("read_all(after {last}, limit {page})");
        let batch = ok(case, &step, store.read_all(last, page).await);
        assert!(
            batch.len() <= page,
            "{case}: {step} returned {} events, more than the limit",
            batch.len()
        );
        let step = format!("fold_all(after {last}, limit {page})");
        let mut folded = Vec::new();
        let count = ok(
            case,
            &step,
            store
                .fold_all(last, page, &mut |event| {
                    folded.push(event.to_record());
                    Ok(())
                })
                .await,
        );
        assert_eq!(count, folded.len(), "{case}: {step} miscounted");
        // Read after the page: an append of another case since may have added to a short page.
        assert!(
            folded.len() <= page && folded.get(..batch.len()) == Some(&batch[..]),
            "{case}: {step} passed other events than read_all returned"
        );
        let done = batch.len() < page;
        for recorded in batch {
            assert!(
                recorded.position > last,
                "{case}: {step} returned position {} after {last}: the global log must be \
                 strictly increasing and start after the position asked for",
                recorded.position
            );
            last = recorded.position;
            if streams.contains(&*recorded.stream) {
                kept.push(recorded);
            }
        }
        if done {
            return kept;
        }
    }
}

/// Awaits `future`, panicking if it has not finished after [`HANG_GUARD`].
pub(super) async fn within<T>(case: &str, step: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(value) => value,
        Err(tokio::time::error::Elapsed { .. }) => panic!(
            "{case}: {step} did not finish within {} s: an event the store acknowledged never \
             reached the reader, or the reader is stalled",
            HANG_GUARD.as_secs()
        ),
    }
}

/// Awaits a spawned task, re-raising its panic (the case's own message) if it panicked.
pub(super) async fn join<T>(task: tokio::task::JoinHandle<T>) -> T {
    match task.await {
        Ok(value) => value,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("a task of the case was cancelled: {error}"),
    }
}

/// Deterministic bytes that are not valid UTF-8 or JSON: a payload only a byte-exact store
/// round-trips.
pub(super) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    if let Some(first) = bytes.first_mut() {
        *first = 0xff;
    }
    bytes
}
