//! Appends and expected versions: cases 1 to 4, 6 to 8.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use super::support::{
    append, assert_conflict, assert_contiguous, assert_duplicate, assert_duplicate_in_batch, event,
    events, ids, join, noise, ok, read_global, read_whole, unique_stream, within,
};
use crate::error::Error;
use crate::record::NewEvent;
use crate::store::{EventStore, ExpectedVersion, Subscription};

/// Case 1: every expectation ({any, no-stream, stream-exists, exact(n)}) against a stream that is
/// absent, at the expected version and at another version. A match appends at the next version;
/// a mismatch is [`Error::Conflict`] naming the stream, the expectation and the actual version,
/// and writes nothing (the refused event id can be appended afterwards).
///
/// # Panics
/// On a violation of the contract.
pub async fn expected_version_matrix<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "expected_version_matrix";
    use ExpectedVersion::{Any, Exact, NoStream, StreamExists};
    // (events already in the stream, expectation, whether the append succeeds)
    let matrix = [
        (0, Any, true),
        (0, NoStream, true),
        (0, StreamExists, false),
        (0, Exact(0), true),
        (0, Exact(1), false),
        (0, Exact(3), false),
        (3, Any, true),
        (3, NoStream, false),
        (3, StreamExists, true),
        (3, Exact(3), true),
        (3, Exact(0), false),
        (3, Exact(2), false),
        (3, Exact(4), false),
        (1, Exact(1), true),
        (1, StreamExists, true),
        (1, NoStream, false),
    ];
    for (existing, expected, succeeds) in matrix {
        let stream = unique_stream(CASE);
        if existing > 0 {
            append(CASE, store, &stream, NoStream, events(0, existing)).await;
        }
        let batch = events(100, 2);
        let step = format!("a stream at version {existing}, appending expecting {expected}");
        let result = store.append(&stream, expected, batch.clone()).await;
        if succeeds {
            let appended = ok(CASE, &step, result);
            assert_eq!(
                (appended.first_version, appended.version),
                (existing + 1, existing + 2),
                "{CASE}: {step}: wrong versions in {appended:?}"
            );
            assert!(
                appended.first_position < appended.position,
                "{CASE}: {step}: a batch of two has first position {} and last {}",
                appended.first_position,
                appended.position
            );
            let stored = read_whole(CASE, store, &stream, 100).await;
            assert_contiguous(CASE, &stream, &stored);
            let skip = usize::try_from(existing).expect("a small version");
            let tail: Vec<Uuid> = stored[skip..].iter().map(|e| e.id).collect();
            assert_eq!(tail, ids(&batch), "{CASE}: {step}: the batch is not stored");
            assert_eq!(stored[skip].position, appended.first_position);
            assert_eq!(stored[stored.len() - 1].position, appended.position);
        } else {
            assert_conflict(CASE, &step, &result, &stream, expected, existing);
            assert_unchanged(CASE, &step, store, &stream, existing).await;
            // Nothing of the refused batch was kept: its ids append fine afterwards.
            let retry = store.append(&stream, Exact(existing), batch).await;
            let appended = ok(
                CASE,
                &format!("{step}, then the same ids at the right version"),
                retry,
            );
            assert_eq!(
                appended.version,
                existing + 2,
                "{CASE}: {step}: wrong version"
            );
        }
    }
}

/// Case 1 (continued): an empty batch writes nothing and returns the stream's current version;
/// its expectation is still checked ([`Error::Conflict`] on a mismatch).
///
/// # Panics
/// On a violation of the contract.
pub async fn empty_batch<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "empty_batch";
    use ExpectedVersion::{Any, Exact, NoStream, StreamExists};
    let absent = unique_stream(CASE);
    for expected in [Any, NoStream, Exact(0)] {
        let step = format!("an empty batch to an absent stream expecting {expected}");
        let appended = ok(
            CASE,
            &step,
            store.append(&absent, expected, Vec::new()).await,
        );
        assert_eq!(appended.version, 0, "{CASE}: {step}: wrong version");
    }
    let step = "an empty batch to an absent stream expecting an existing stream";
    let result = store.append(&absent, StreamExists, Vec::new()).await;
    assert_conflict(CASE, step, &result, &absent, StreamExists, 0);
    assert_unchanged(CASE, "after empty batches", store, &absent, 0).await;

    let stream = unique_stream(CASE);
    append(CASE, store, &stream, NoStream, events(0, 2)).await;
    for expected in [Any, StreamExists, Exact(2)] {
        let step = format!("an empty batch to a stream at 2 expecting {expected}");
        let appended = ok(
            CASE,
            &step,
            store.append(&stream, expected, Vec::new()).await,
        );
        assert_eq!(appended.version, 2, "{CASE}: {step}: wrong version");
    }
    for expected in [NoStream, Exact(1)] {
        let step = format!("an empty batch to a stream at 2 expecting {expected}");
        let result = store.append(&stream, expected, Vec::new()).await;
        assert_conflict(CASE, &step, &result, &stream, expected, 2);
    }
    assert_unchanged(CASE, "after empty batches", store, &stream, 2).await;
}

/// Asserts that `stream` still holds exactly `version` events.
async fn assert_unchanged<S: EventStore>(
    case: &str,
    step: &str,
    store: &S,
    stream: &str,
    version: u64,
) {
    let actual = ok(case, step, store.stream_version(stream).await);
    assert_eq!(
        actual, version,
        "{case}: {step}: the stream's version changed"
    );
    let stored = read_whole(case, store, stream, 100).await;
    assert_eq!(
        stored.len() as u64,
        version,
        "{case}: {step}: the stream holds {} events, expected {version}",
        stored.len()
    );
}

/// How many tasks race in the concurrent cases.
const RACERS: usize = 8;

/// Case 2: eight tasks append to one stream with the same exact expected version, several
/// rounds: exactly one wins each round; every other gets [`Error::Conflict`] naming the stream,
/// the expectation and the winner's version; the stream grows by the winner's batch only.
///
/// # Panics
/// On a violation of the contract.
pub async fn concurrent_exact_appends_one_winner<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "concurrent_exact_appends_one_winner";
    let stream: Arc<str> = Arc::from(unique_stream(CASE));
    let mut version = 0;
    for round in 0..4 {
        let expected = if round == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        };
        let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
        let mut tasks = Vec::new();
        for racer in 0..RACERS {
            let (store, stream, barrier) = (store.clone(), Arc::clone(&stream), barrier.clone());
            let batch = events(racer as u64, 2);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let result = store.append(&stream, expected, batch.clone()).await;
                (batch, result)
            }));
        }
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for task in tasks {
            let (batch, result) = join(task).await;
            match result {
                Ok(appended) => winners.push((batch, appended)),
                Err(error) => losers.push(error),
            }
        }
        let step = format!("round {round}: {RACERS} appends expecting {expected}");
        assert_eq!(
            winners.len(),
            1,
            "{CASE}: {step}: {} appends succeeded, expected exactly one; losers: {losers:?}",
            winners.len()
        );
        let (batch, appended) = winners.remove(0);
        assert_eq!(
            (appended.first_version, appended.version),
            (version + 1, version + 2),
            "{CASE}: {step}: the winner got the wrong versions"
        );
        for loser in losers {
            assert_conflict(CASE, &step, &Err(loser), &stream, expected, version + 2);
        }
        version += 2;
        let stored = read_whole(CASE, store, &stream, 100).await;
        assert_contiguous(CASE, &stream, &stored);
        assert_eq!(
            stored.len() as u64,
            version,
            "{CASE}: {step}: the stream grew by more than one batch"
        );
        let tail: Vec<Uuid> = stored[stored.len() - 2..].iter().map(|e| e.id).collect();
        assert_eq!(
            tail,
            ids(&batch),
            "{CASE}: {step}: the stored batch is not the winner's"
        );
    }
}

/// Case 3: eight tasks append batches of one to three events to one stream with
/// [`ExpectedVersion::Any`]: all succeed; the versions are contiguous without duplicates; each
/// batch is stored contiguously, in order, where its result says.
///
/// # Panics
/// On a violation of the contract.
pub async fn concurrent_any_appends_all_succeed<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "concurrent_any_appends_all_succeed";
    const APPENDS: u64 = 12;
    let stream: Arc<str> = Arc::from(unique_stream(CASE));
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for racer in 0..RACERS as u64 {
        let (store, stream, barrier) = (store.clone(), Arc::clone(&stream), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut done = Vec::new();
            for n in 0..APPENDS {
                let batch = events(racer * 1000 + n * 10, (racer + n) % 3 + 1);
                let result = store
                    .append(&stream, ExpectedVersion::Any, batch.clone())
                    .await;
                done.push((
                    ids(&batch),
                    ok(CASE, "an append expecting any version", result),
                ));
            }
            done
        }));
    }
    let mut batches = Vec::new();
    for task in tasks {
        batches.extend(join(task).await);
    }
    let stored = read_whole(CASE, store, &stream, 100).await;
    assert_contiguous(CASE, &stream, &stored);
    let total: usize = batches.iter().map(|(ids, _)| ids.len()).sum();
    assert_eq!(
        stored.len(),
        total,
        "{CASE}: the stream does not hold every appended event"
    );
    batches.sort_by_key(|(_, appended)| appended.first_version);
    let mut next = 1;
    for (batch, appended) in &batches {
        assert_eq!(
            (appended.first_version, appended.version),
            (next, next + batch.len() as u64 - 1),
            "{CASE}: batch results overlap or leave a hole: {appended:?}"
        );
        let first = usize::try_from(next - 1).expect("a small index");
        let slot = &stored[first..first + batch.len()];
        let got: Vec<Uuid> = slot.iter().map(|e| e.id).collect();
        assert_eq!(
            &got, batch,
            "{CASE}: a batch is not stored contiguously where it says"
        );
        assert_eq!(
            slot[0].position, appended.first_position,
            "{CASE}: wrong first position"
        );
        assert_eq!(
            slot[slot.len() - 1].position,
            appended.position,
            "{CASE}: wrong position"
        );
        next = appended.version + 1;
    }
}

/// Case 4, the part every backend can run: a batch that cannot be stored because one of its
/// events makes it invalid leaves no event of it visible and consumes no version and no global
/// position a reader could wait on. Three such batches: an id twice in the batch, an id already
/// stored in another stream (both [`Error::DuplicateEvent`]), and a wrong expectation; then the
/// same ids append fine, at the next version, and a subscriber started before the failures gets
/// exactly the stored events, without stalling.
///
/// Failures a backend injects itself (a dropped connection mid-batch) belong to its own tests.
///
/// # Panics
/// On a violation of the contract.
pub async fn failed_batch_leaves_no_trace<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "failed_batch_leaves_no_trace";
    let stream = unique_stream(CASE);
    let other = unique_stream(CASE);
    let start = append(
        CASE,
        store,
        &stream,
        ExpectedVersion::NoStream,
        events(0, 2),
    )
    .await;
    let mut subscription =
        Subscription::new(store.clone(), start.position).poll_interval(super::support::POLL);
    let elsewhere = event(10);
    append(
        CASE,
        store,
        &other,
        ExpectedVersion::NoStream,
        vec![elsewhere.clone()],
    )
    .await;

    let batch = events(20, 3);
    let mut twice = batch.clone();
    twice[2].id = twice[0].id;
    let step = "a batch with one id twice";
    let result = store
        .append(&stream, ExpectedVersion::Exact(2), twice)
        .await;
    assert_duplicate_in_batch(CASE, step, &result, batch[0].id);

    let mut taken = batch.clone();
    taken[1].id = elsewhere.id;
    let step = "a batch with an id already stored in another stream";
    let result = store
        .append(&stream, ExpectedVersion::Exact(2), taken)
        .await;
    assert_duplicate(CASE, step, &result, &[(elsewhere.id, &other, 1)]);

    let step = "a batch with a wrong expectation";
    let result = store
        .append(&stream, ExpectedVersion::Exact(7), batch.clone())
        .await;
    assert_conflict(CASE, step, &result, &stream, ExpectedVersion::Exact(7), 2);

    let version = ok(CASE, "stream_version", store.stream_version(&stream).await);
    assert_eq!(
        version, 2,
        "{CASE}: failed batches changed the stream's version"
    );
    let appended = append(
        CASE,
        store,
        &stream,
        ExpectedVersion::Exact(2),
        batch.clone(),
    )
    .await;
    assert_eq!(
        (appended.first_version, appended.version),
        (3, 5),
        "{CASE}: the next batch after failed ones got the wrong versions"
    );

    let mut expected = vec![elsewhere.id];
    expected.extend(ids(&batch));
    let ours: HashSet<&str> = [stream.as_str(), other.as_str()].into();
    let global = read_global(CASE, store, start.position, 100, &ours).await;
    let got: Vec<Uuid> = global.iter().map(|e| e.id).collect();
    assert_eq!(
        got, expected,
        "{CASE}: the global log after failed batches is wrong"
    );

    let mut delivered = Vec::new();
    while delivered.len() < expected.len() {
        let next = within(CASE, "a subscriber reading past failed batches", async {
            subscription.next().await
        })
        .await;
        let next = ok(CASE, "Subscription::next", next);
        if ours.contains(&*next.stream) {
            delivered.push(next.id);
        }
    }
    assert_eq!(
        delivered, expected,
        "{CASE}: the subscriber saw the wrong events"
    );
}

/// Case 6, the part every backend can run: expectations far above the stream's version (past
/// 2^31, 2^32, `i64::MAX` and up to `u64::MAX`) are conflicts that report both numbers exactly,
/// never a backend error; reads from such versions and positions are empty.
///
/// Reaching a version past 2^31 by appending is too slow for a test; a backend that can seed a
/// stream at a high version also runs [`versions_past_2_31`].
///
/// # Panics
/// On a violation of the contract.
pub async fn large_versions_in_conflicts<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "large_versions_in_conflicts";
    let stream = unique_stream(CASE);
    append(
        CASE,
        store,
        &stream,
        ExpectedVersion::NoStream,
        events(0, 2),
    )
    .await;
    let large = [
        1 << 31,
        (1 << 31) + 1,
        (1 << 32) + 7,
        i64::MAX as u64,
        i64::MAX as u64 + 1,
        u64::MAX - 1,
        u64::MAX,
    ];
    for version in large {
        let expected = ExpectedVersion::Exact(version);
        let step = format!("appending expecting version {version} to a stream at 2");
        let result = store.append(&stream, expected, vec![event(1)]).await;
        assert_conflict(CASE, &step, &result, &stream, expected, 2);
        let step = format!("read_stream from version {version}");
        let read = ok(CASE, &step, store.read_stream(&stream, version, 10).await);
        assert!(read.is_empty(), "{CASE}: {step} returned events");
        let step = format!("read_all after position {version}");
        let read = ok(CASE, &step, store.read_all(version, 10).await);
        assert!(read.is_empty(), "{CASE}: {step} returned events");
    }
    assert_unchanged(CASE, "after large expectations", store, &stream, 2).await;
}

/// The version [`versions_past_2_31`] seeds a stream at: past 2^31 and 2^32.
pub const HIGH_VERSION: u64 = (1 << 32) + 5;

/// Case 6 with a backend hook: `seed(stream, version)` must leave `stream` (which has no
/// events) at exactly `version`, by whatever means the backend has (inserting one event row at
/// that version with SQL, say); the events below need not exist. Then the stream reports that
/// version, appends after it with the right versions, reads back from it, and conflicts name it.
///
/// # Panics
/// On a violation of the contract.
pub async fn versions_past_2_31<S, F, Fut>(store: &S, seed: F)
where
    S: EventStore + Clone,
    F: FnOnce(String, u64) -> Fut,
    Fut: Future<Output = ()>,
{
    const CASE: &str = "versions_past_2_31";
    let stream = unique_stream(CASE);
    seed(stream.clone(), HIGH_VERSION).await;
    let version = ok(CASE, "stream_version", store.stream_version(&stream).await);
    assert_eq!(
        version, HIGH_VERSION,
        "{CASE}: the seeded stream reports another version"
    );
    let batch = events(0, 2);
    let appended = append(
        CASE,
        store,
        &stream,
        ExpectedVersion::Exact(HIGH_VERSION),
        batch.clone(),
    )
    .await;
    assert_eq!(
        (appended.first_version, appended.version),
        (HIGH_VERSION + 1, HIGH_VERSION + 2),
        "{CASE}: wrong versions past 2^32"
    );
    let read = ok(
        CASE,
        "read_stream",
        store.read_stream(&stream, HIGH_VERSION + 1, 10).await,
    );
    let got: Vec<(Uuid, u64)> = read.iter().map(|e| (e.id, e.version)).collect();
    let want = vec![
        (batch[0].id, HIGH_VERSION + 1),
        (batch[1].id, HIGH_VERSION + 2),
    ];
    assert_eq!(got, want, "{CASE}: events past 2^32 read back wrong");
    let step = "a stale expectation past 2^32";
    let result = store
        .append(
            &stream,
            ExpectedVersion::Exact(HIGH_VERSION),
            vec![event(3)],
        )
        .await;
    assert_conflict(
        CASE,
        step,
        &result,
        &stream,
        ExpectedVersion::Exact(HIGH_VERSION),
        HIGH_VERSION + 2,
    );
    let retry = store
        .append(&stream, ExpectedVersion::Exact(HIGH_VERSION), batch)
        .await;
    assert_eq!(
        ok(CASE, "an idempotent retry past 2^32", retry),
        appended,
        "{CASE}: a retry past 2^32 did not return the original result"
    );
}

/// Case 6: payloads of 1 MiB (arbitrary bytes, not UTF-8) round-trip byte for byte, alone and
/// three in one batch.
///
/// # Panics
/// On a violation of the contract.
pub async fn large_payloads_round_trip<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "large_payloads_round_trip";
    const MIB: usize = 1 << 20;
    let stream = unique_stream(CASE);
    let mut batches = vec![vec![NewEvent::new("Large", 1, Bytes::from(noise(MIB, 1)))]];
    batches.push(
        (2..5)
            .map(|seed| NewEvent::new("Large", 1, Bytes::from(noise(MIB, seed))))
            .collect(),
    );
    for batch in &batches {
        append(CASE, store, &stream, ExpectedVersion::Any, batch.clone()).await;
    }
    let sent: Vec<NewEvent> = batches.into_iter().flatten().collect();
    let stored = read_whole(CASE, store, &stream, 2).await;
    assert_contiguous(CASE, &stream, &stored);
    assert_eq!(stored.len(), sent.len(), "{CASE}: wrong number of events");
    for (sent, stored) in sent.iter().zip(&stored) {
        assert_eq!(stored.id, sent.id, "{CASE}: wrong event order");
        assert!(
            stored.payload == sent.payload,
            "{CASE}: the 1 MiB payload of version {} came back different ({} bytes)",
            stored.version,
            stored.payload.len()
        );
    }
    let ours: HashSet<&str> = [stream.as_str()].into();
    let global = read_global(CASE, store, stored[0].position - 1, 2, &ours).await;
    assert!(
        global
            .iter()
            .map(|e| &e.payload)
            .eq(sent.iter().map(|e| &e.payload)),
        "{CASE}: the 1 MiB payloads read back from the global log differ"
    );
}

/// Case 7: re-appending the same event ids with an expectation that names their place (a retry
/// after a timeout) is a no-op returning the original result, even after later appends and from
/// concurrent tasks; the same ids at another place, in another order, mixed with new ids, or in
/// another stream are [`Error::DuplicateEvent`]; nothing is written twice.
///
/// So a backend checks for stored ids before it checks the expectation: the retry of a batch
/// that did land finds the stream past the version it expects.
///
/// # Panics
/// On a violation of the contract.
pub async fn idempotent_retry<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "idempotent_retry";
    use ExpectedVersion::{Any, Exact, NoStream};
    let stream = unique_stream(CASE);
    let first = events(0, 2);
    let original = append(CASE, store, &stream, NoStream, first.clone()).await;
    for expected in [NoStream, Exact(0), Any] {
        let step = format!("a retry expecting {expected}");
        let retry = store.append(&stream, expected, first.clone()).await;
        assert_eq!(
            ok(CASE, &step, retry),
            original,
            "{CASE}: {step}: not the original result"
        );
    }
    let second = vec![event(2)];
    let later = append(CASE, store, &stream, Exact(2), second.clone()).await;
    let step = "a retry of the first batch after a later append";
    let retry = store.append(&stream, Exact(0), first.clone()).await;
    assert_eq!(
        ok(CASE, step, retry),
        original,
        "{CASE}: {step}: not the original result"
    );
    let step = "a retry of the second batch";
    let retry = store.append(&stream, Exact(2), second.clone()).await;
    assert_eq!(
        ok(CASE, step, retry),
        later,
        "{CASE}: {step}: not the original result"
    );

    let (a, b) = (first[0].id, first[1].id);
    let stored_first = [(a, stream.as_str(), 1), (b, stream.as_str(), 2)];
    let step = "the first batch again at another place";
    let result = store.append(&stream, Exact(3), first.clone()).await;
    assert_duplicate(CASE, step, &result, &stored_first);
    let step = "the first batch again in another order";
    let swapped = vec![first[1].clone(), first[0].clone()];
    let result = store.append(&stream, Any, swapped).await;
    assert_duplicate(CASE, step, &result, &stored_first);
    let step = "a stored id mixed with a new one";
    let fresh = event(3);
    let result = store
        .append(&stream, Any, vec![first[0].clone(), fresh.clone()])
        .await;
    assert_duplicate(CASE, step, &result, &stored_first);
    let elsewhere = unique_stream(CASE);
    let step = "the first batch again in another stream";
    let result = store.append(&elsewhere, NoStream, first.clone()).await;
    assert_duplicate(CASE, step, &result, &stored_first);
    assert_unchanged(CASE, step, store, &elsewhere, 0).await;

    let last = append(CASE, store, &stream, Exact(3), vec![fresh.clone()]).await;
    assert_eq!(
        last.version, 4,
        "{CASE}: the new id was not appended at version 4"
    );
    let stored = read_whole(CASE, store, &stream, 100).await;
    assert_contiguous(CASE, &stream, &stored);
    let got: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
    assert_eq!(
        got,
        vec![a, b, second[0].id, fresh.id],
        "{CASE}: events written twice or lost"
    );

    concurrent_retries(store).await;
}

/// Case 7 under concurrency: eight tasks append the same batch with the same expectation at
/// once (a retry racing the original): all get the same result; the batch is stored once.
async fn concurrent_retries<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "idempotent_retry";
    let stream: Arc<str> = Arc::from(unique_stream(CASE));
    let batch = events(0, 3);
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let (store, stream, barrier, batch) = (
            store.clone(),
            Arc::clone(&stream),
            barrier.clone(),
            batch.clone(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .append(&stream, ExpectedVersion::NoStream, batch)
                .await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        let result = join(task).await;
        results.push(ok(CASE, "concurrent identical appends", result));
    }
    assert!(
        results.iter().all(|result| *result == results[0]),
        "{CASE}: concurrent identical appends got different results: {results:?}"
    );
    let stored = read_whole(CASE, store, &stream, 100).await;
    let got: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
    assert_eq!(
        got,
        ids(&batch),
        "{CASE}: concurrent identical appends stored it more than once"
    );
}

/// Case 8: names that are empty, longer than
/// [`MAX_STREAM_NAME_LEN`](crate::store::MAX_STREAM_NAME_LEN) bytes (counted in bytes, not
/// characters), or that hold control characters (NUL, newline, tab, DEL, C1, escape) are refused
/// with [`Error::InvalidStreamName`] by `append`, `read_stream` and `stream_version`. Names with
/// quotes, semicolons, `--`, backslashes, SQL `LIKE` wildcards, placeholders, unicode, leading or
/// trailing spaces and differing case are data: each is its own stream and round-trips byte for
/// byte.
///
/// # Panics
/// On a violation of the contract.
pub async fn stream_names<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "stream_names";
    let refused = [
        String::new(),
        "a".repeat(256),
        "é".repeat(128),
        "line\nbreak".to_owned(),
        "nul\0byte".to_owned(),
        "tab\tname".to_owned(),
        "carriage\rreturn".to_owned(),
        "del\u{7f}".to_owned(),
        "c1\u{85}control".to_owned(),
        "\u{1b}[31mred".to_owned(),
    ];
    for name in &refused {
        let step = format!("the name {name:?}");
        let appended = store
            .append(name, ExpectedVersion::Any, vec![event(0)])
            .await;
        assert_invalid_name(CASE, &format!("{step}: append"), &appended);
        let read = store.read_stream(name, 1, 10).await;
        assert_invalid_name(CASE, &format!("{step}: read_stream"), &read);
        let version = store.stream_version(name).await;
        assert_invalid_name(CASE, &format!("{step}: stream_version"), &version);
    }

    let unique = Uuid::now_v7().simple().to_string();
    let mut longest = format!("{unique}{}", "é".repeat(111));
    longest.push('x');
    let accepted = [
        format!("{unique}{}", "x".repeat(255 - unique.len())),
        longest,
        format!("{unique}-it's"),
        format!("{unique}-say \"hi\""),
        format!("{unique}-a;b"),
        format!("{unique}-x--y"),
        format!("{unique}'); DROP TABLE events; --"),
        format!("{unique}-back\\slash"),
        format!("{unique}-100%"),
        format!("{unique}-100x"),
        format!("{unique}-a_c"),
        format!("{unique}-abc"),
        format!("{unique}-$1?:name@p"),
        format!("{unique}-日本語-ß-🦀"),
        format!("{unique}-Case"),
        format!("{unique}-case"),
        format!("{unique}-trailing "),
        format!("{unique}-trailing"),
        format!(" {unique}-leading"),
    ];
    for name in &accepted {
        assert!(
            name.len() <= 255,
            "a name of the suite is too long: {}",
            name.len()
        );
        // `NoStream` on each: two names the store confused would conflict here.
        let step = format!("appending to the stream {name:?}");
        let batch = vec![event(0)];
        let appended = ok(
            CASE,
            &step,
            store
                .append(name, ExpectedVersion::NoStream, batch.clone())
                .await,
        );
        assert_eq!(appended.version, 1, "{CASE}: {step}: wrong version");
    }
    for name in &accepted {
        let step = format!("reading the stream {name:?}");
        let read = ok(CASE, &step, store.read_stream(name, 1, 10).await);
        assert_eq!(
            read.len(),
            1,
            "{CASE}: {step}: expected its one event, got {read:?}"
        );
        assert_eq!(
            &*read[0].stream,
            name.as_str(),
            "{CASE}: {step}: the name came back changed"
        );
        let version = ok(CASE, &step, store.stream_version(name).await);
        assert_eq!(version, 1, "{CASE}: {step}: wrong version");
    }
}

#[track_caller]
fn assert_invalid_name<T: std::fmt::Debug>(case: &str, step: &str, result: &Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::InvalidStreamName { .. })),
        "{case}: {step}: expected InvalidStreamName, got {result:?}"
    );
}
