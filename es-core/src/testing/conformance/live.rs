//! The global log under concurrent writers, several instances, and a stress run: cases 13, 15
//! and 16 as far as they are generic, and the reliability run.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::sync::Arc;

use uuid::Uuid;

use super::support::{
    POLL, append, assert_conflict, assert_contiguous, event, events, ids, join, ok, read_global,
    read_whole, unique_stream, within,
};
use crate::error::Error;
use crate::record::RecordedEvent;
use crate::store::{AppendResult, EventStore, ExpectedVersion, Subscription};

/// Cases 13 and 15, generic part: writer tasks append to their own streams (exact versions) and
/// to a shared one (any version) while two [`Subscription`]s follow the global log: one started
/// before the writers, one started halfway through (the catch-up-to-live seam). Each sees every
/// acknowledged event exactly once, at strictly increasing positions, each stream's events in
/// version order, nothing missing at the seam.
///
/// The deterministic gap race (a writer stalled between taking a position and committing) and
/// rolled-back reservations need control over a transaction, so they are the backends' own
/// tests.
///
/// # Panics
/// On a violation of the contract.
pub async fn catch_up_subscription<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "catch_up_subscription";
    const WRITERS: u64 = 4;
    const APPENDS: u64 = 40;
    let marker = unique_stream(CASE);
    let start = append(
        CASE,
        store,
        &marker,
        ExpectedVersion::NoStream,
        vec![event(0)],
    )
    .await;
    let shared = unique_stream(CASE);
    let own: Vec<String> = (0..WRITERS).map(|_| unique_stream(CASE)).collect();
    let end: Arc<str> = Arc::from(unique_stream(CASE));
    let mut streams: HashSet<String> = own.iter().cloned().collect();
    streams.insert(shared.clone());
    let streams = Arc::new(streams);

    let early = tokio::spawn(follow(
        store.clone(),
        start.position,
        Arc::clone(&streams),
        Arc::clone(&end),
    ));
    let (progress, mut halfway) = tokio::sync::watch::channel(0_u64);
    let progress = Arc::new(progress);
    let late = {
        let (store, streams, end) = (store.clone(), Arc::clone(&streams), Arc::clone(&end));
        tokio::spawn(async move {
            let wait = halfway
                .wait_for(|done| *done >= WRITERS * APPENDS / 2)
                .await;
            wait.expect("the writers' progress is kept until they finish");
            follow(store, start.position, streams, end).await
        })
    };
    let mut writers = Vec::new();
    for (writer, own) in own.into_iter().enumerate() {
        let (store, shared, progress) = (store.clone(), shared.clone(), Arc::clone(&progress));
        let writer = writer as u64;
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut version = 0;
            for n in 0..APPENDS {
                let batch = events(writer * 10_000 + n * 10, (writer + n) % 3 + 1);
                let (stream, expected) = if n % 2 == 0 {
                    (&own, ExpectedVersion::Exact(version))
                } else {
                    (&shared, ExpectedVersion::Any)
                };
                let appended = append(CASE, &store, stream, expected, batch.clone()).await;
                if n % 2 == 0 {
                    version = appended.version;
                }
                acked.extend(ids(&batch));
                progress.send_modify(|done| *done += 1);
            }
            acked
        }));
    }
    let mut acked = HashSet::new();
    for writer in writers {
        acked.extend(join(writer).await);
    }
    append(CASE, store, &end, ExpectedVersion::NoStream, vec![event(0)]).await;
    for (who, follower) in [
        ("the early subscriber", early),
        ("the late subscriber", late),
    ] {
        let seen = within(CASE, who, join(follower)).await;
        check_seen(CASE, who, &seen, &acked);
    }
}

/// Follows the global log from `start` until an event of `end`, keeping the events of
/// `streams` and checking that positions strictly increase.
async fn follow<S: EventStore>(
    store: S,
    start: u64,
    streams: Arc<HashSet<String>>,
    end: Arc<str>,
) -> Vec<RecordedEvent> {
    const CASE: &str = "catch_up_subscription";
    let mut subscription = Subscription::new(store, start).poll_interval(POLL);
    let mut last = start;
    let mut seen = Vec::new();
    loop {
        let next = within(CASE, "Subscription::next", subscription.next()).await;
        let next = ok(CASE, "Subscription::next", next);
        assert!(
            next.position > last,
            "{CASE}: the subscriber got position {} after {last}: the global log went back",
            next.position
        );
        last = next.position;
        if next.stream == end {
            return seen;
        }
        if streams.contains(&*next.stream) {
            seen.push(next);
        }
    }
}

/// Checks what a reader of the global log saw of a case's streams: every acknowledged id once
/// and nothing else; each stream's versions in order from 1 without gaps.
#[track_caller]
fn check_seen(case: &str, who: &str, seen: &[RecordedEvent], acked: &HashSet<Uuid>) {
    let mut ids = HashSet::new();
    for recorded in seen {
        assert!(
            ids.insert(recorded.id),
            "{case}: {who} saw event {} (version {} of `{}`) twice",
            recorded.id,
            recorded.version,
            recorded.stream
        );
    }
    let missing = acked.difference(&ids).count();
    let unknown = ids.difference(acked).count();
    assert!(
        missing == 0 && unknown == 0,
        "{case}: {who} saw {} events: {missing} acknowledged ones missing, {unknown} never \
         acknowledged",
        seen.len()
    );
    let mut versions: HashMap<&str, u64> = HashMap::new();
    for recorded in seen {
        let last = versions.entry(&recorded.stream).or_insert(0);
        assert_eq!(
            recorded.version,
            *last + 1,
            "{case}: {who} saw version {} of `{}` right after version {last}",
            recorded.version,
            recorded.stream
        );
        *last = recorded.version;
    }
}

/// Reliability: 8 tasks x 1,000 appends at once, half to their own stream with exact versions,
/// a quarter to a shared stream with any version, a quarter to another shared stream with exact
/// versions (re-reading the version and retrying on each conflict). Nothing is lost or
/// duplicated: every stream holds exactly its acknowledged batches, contiguously, where each
/// append said; the global log holds each acknowledged event once. The counts are printed to
/// stderr, uncaptured.
///
/// # Panics
/// On a violation of the contract.
pub async fn concurrent_appends_lose_nothing<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "concurrent_appends_lose_nothing";
    const TASKS: u64 = 8;
    const APPENDS: u64 = 1000;
    let marker = unique_stream(CASE);
    let start = append(
        CASE,
        store,
        &marker,
        ExpectedVersion::NoStream,
        vec![event(0)],
    )
    .await;
    let shared_any: Arc<str> = Arc::from(unique_stream(CASE));
    let shared_exact: Arc<str> = Arc::from(unique_stream(CASE));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        let (shared_any, shared_exact) = (Arc::clone(&shared_any), Arc::clone(&shared_exact));
        let own: Arc<str> = Arc::from(unique_stream(CASE));
        tasks.push(tokio::spawn(async move {
            let mut acked: Vec<(Arc<str>, Vec<Uuid>, AppendResult)> = Vec::new();
            let mut conflicts = 0_u64;
            let mut version = 0;
            for n in 0..APPENDS {
                let batch = events(task * 1_000_000 + n * 10, if n % 5 == 0 { 2 } else { 1 });
                let (stream, appended) = match n % 4 {
                    0 | 1 => {
                        let expected = ExpectedVersion::Exact(version);
                        let appended = append(CASE, &store, &own, expected, batch.clone()).await;
                        version = appended.version;
                        (&own, appended)
                    }
                    2 => {
                        let expected = ExpectedVersion::Any;
                        (
                            &shared_any,
                            append(CASE, &store, &shared_any, expected, batch.clone()).await,
                        )
                    }
                    _ => {
                        let (appended, retried) =
                            append_retrying(&store, &shared_exact, &batch).await;
                        conflicts += retried;
                        (&shared_exact, appended)
                    }
                };
                acked.push((Arc::clone(stream), ids(&batch), appended));
            }
            (acked, conflicts)
        }));
    }
    let mut acked = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let (done, retried) = join(task).await;
        acked.extend(done);
        conflicts += retried;
    }
    let events_acked: usize = acked.iter().map(|(_, ids, _)| ids.len()).sum();
    let events_stored = check_streams(store, &acked).await;
    let ours: HashSet<&str> = acked.iter().map(|(stream, _, _)| &**stream).collect();
    let global = read_global(CASE, store, start.position, 1000, &ours).await;
    let all: HashSet<Uuid> = acked
        .iter()
        .flat_map(|(_, ids, _)| ids.iter().copied())
        .collect();
    check_seen(CASE, "the global log", &global, &all);
    // Straight to the process's stderr, past the test harness's capture, so every run shows it.
    let _ = writeln!(
        std::io::stderr(),
        "{CASE}: {TASKS} tasks x {APPENDS} appends: {} appends and {events_acked} events \
         acknowledged, {events_stored} stored, {} in the global log, {conflicts} conflicts \
         retried, 0 lost, 0 duplicated",
        acked.len(),
        global.len()
    );
}

/// Checks that each stream of `acked` holds exactly its acknowledged batches, contiguously, at
/// the versions their appends reported; returns the number of events stored.
async fn check_streams<S: EventStore>(
    store: &S,
    acked: &[(Arc<str>, Vec<Uuid>, AppendResult)],
) -> usize {
    const CASE: &str = "concurrent_appends_lose_nothing";
    let mut by_stream: HashMap<Arc<str>, Vec<(Vec<Uuid>, AppendResult)>> = HashMap::new();
    for (stream, ids, appended) in acked.iter().cloned() {
        by_stream.entry(stream).or_default().push((ids, appended));
    }
    let mut events_stored = 0;
    for (stream, mut batches) in by_stream {
        batches.sort_by_key(|(_, appended)| appended.first_version);
        let stored = read_whole(CASE, store, &stream, 1000).await;
        assert_contiguous(CASE, &stream, &stored);
        let mut at = 0;
        for (ids, appended) in &batches {
            let version = at as u64 + 1;
            assert_eq!(
                appended.first_version, version,
                "{CASE}: in `{stream}` an acknowledged append says version {}, expected \
                 {version}: batches overlap or leave a hole",
                appended.first_version
            );
            let slot: Vec<Uuid> = stored[at..].iter().take(ids.len()).map(|e| e.id).collect();
            assert_eq!(
                &slot, ids,
                "{CASE}: an acknowledged batch of `{stream}` is not stored where it says"
            );
            at += ids.len();
        }
        assert_eq!(
            at,
            stored.len(),
            "{CASE}: `{stream}` holds events nobody appended"
        );
        events_stored += stored.len();
    }
    events_stored
}

/// Appends `batch` to `stream` at its current version, re-reading the version after each
/// conflict; returns the result and the number of conflicts.
async fn append_retrying<S: EventStore>(
    store: &S,
    stream: &str,
    batch: &[crate::record::NewEvent],
) -> (AppendResult, u64) {
    const CASE: &str = "concurrent_appends_lose_nothing";
    let mut conflicts = 0;
    loop {
        let version = ok(CASE, "stream_version", store.stream_version(stream).await);
        let expected = ExpectedVersion::Exact(version);
        match store.append(stream, expected, batch.to_vec()).await {
            Ok(appended) => return (appended, conflicts),
            Err(Error::Conflict { .. }) => conflicts += 1,
            Err(error) => panic!("{CASE}: an append expecting {expected} failed: {error:?}"),
        }
    }
}

/// Case 16, generic part: two instances of one store (two pools, two processes' worth of
/// connections on one database) see each other's appends, versions, conflicts and idempotent
/// retries, and a [`Subscription`] on either follows the other's appends live.
///
/// A database restart under a live subscriber is the backend's own test.
///
/// # Panics
/// On a violation of the contract.
pub async fn two_instances_see_each_other<S: EventStore + Clone>(a: &S, b: &S) {
    const CASE: &str = "two_instances_see_each_other";
    let stream = unique_stream(CASE);
    let first = vec![event(1)];
    let r1 = append(CASE, a, &stream, ExpectedVersion::NoStream, first.clone()).await;
    let version = ok(CASE, "stream_version on b", b.stream_version(&stream).await);
    assert_eq!(version, 1, "{CASE}: b does not see a's append");
    let on_a = read_whole(CASE, a, &stream, 10).await;
    let on_b = read_whole(CASE, b, &stream, 10).await;
    assert_eq!(on_a, on_b, "{CASE}: a and b read the stream differently");

    let second = vec![event(2)];
    let r2 = append(CASE, b, &stream, ExpectedVersion::Exact(1), second.clone()).await;
    assert_eq!(r2.version, 2, "{CASE}: b appended at the wrong version");
    let result = a
        .append(&stream, ExpectedVersion::Exact(1), vec![event(3)])
        .await;
    assert_conflict(
        CASE,
        "a's stale append",
        &result,
        &stream,
        ExpectedVersion::Exact(1),
        2,
    );
    let retry = b
        .append(&stream, ExpectedVersion::NoStream, first.clone())
        .await;
    assert_eq!(
        ok(CASE, "b retrying a's batch", retry),
        r1,
        "{CASE}: a retry on b wrote again"
    );

    let after = r1.first_position - 1;
    let mut on_b = Subscription::new(b.clone(), after).poll_interval(POLL);
    let mut on_a = Subscription::new(a.clone(), after).poll_interval(POLL);
    let mut want = vec![first[0].id, second[0].id];
    let third = vec![event(4)];
    append(CASE, a, &stream, ExpectedVersion::Exact(2), third.clone()).await;
    let fourth = vec![event(5)];
    append(CASE, b, &stream, ExpectedVersion::Exact(3), fourth.clone()).await;
    want.extend([third[0].id, fourth[0].id]);
    for (who, subscription) in [
        ("a subscriber on b", &mut on_b),
        ("a subscriber on a", &mut on_a),
    ] {
        let mut got = Vec::new();
        while got.len() < want.len() {
            let next = within(CASE, who, subscription.next()).await;
            let next = ok(CASE, who, next);
            if *next.stream == *stream {
                got.push(next.id);
            }
        }
        assert_eq!(got, want, "{CASE}: {who} saw the wrong events");
    }
    let ours: HashSet<&str> = [stream.as_str()].into();
    let global_a = read_global(CASE, a, after, 100, &ours).await;
    let global_b = read_global(CASE, b, after, 100, &ours).await;
    assert_eq!(
        global_a, global_b,
        "{CASE}: a and b read the global log differently"
    );
    assert_contiguous(CASE, &stream, &global_a);
}
