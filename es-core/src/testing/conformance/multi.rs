//! Multi-stream appends: case 24.

use std::collections::HashSet;

use super::support::{
    append, event, events, ids, join, ok, read_global, read_whole, unique_stream,
};
use crate::error::Error;
use crate::record::NewEvent;
use crate::store::{AppendResult, EventStore, ExpectedVersion, StreamAppend};

/// Asserts that nothing of `parts` is stored: no id findable, no stream past `versions`.
async fn assert_nothing_written<S: EventStore>(
    case: &str,
    step: &str,
    store: &S,
    parts: &[StreamAppend],
    versions: &[u64],
) {
    for (part, &version) in parts.iter().zip(versions) {
        let now = ok(case, step, store.stream_version(&part.stream).await);
        assert_eq!(
            now, version,
            "{case}: {step}: `{}` moved from version {version} to {now}: part of a refused \
             multi-stream append was written",
            part.stream
        );
        for event in &part.events {
            let found = ok(case, step, store.find_event(event.id).await);
            assert!(
                found.is_none(),
                "{case}: {step}: event {} of the refused call is stored: {found:?}",
                event.id
            );
        }
    }
}

/// Case 24a: a multi-stream append is all or nothing. A conflict on the last part (and on a
/// guard part, which carries no events) is [`Error::Conflict`] naming that stream, its
/// expectation and actual version, and nothing of the earlier parts is written; afterwards
/// the same events can be appended. A stream named twice is [`Error::InvalidStreamName`]; an id
/// shared by two parts is [`Error::DuplicateEvent`]; neither writes anything.
///
/// # Panics
/// On a violation of the contract.
pub async fn multi_stream_atomic<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "multi_stream_atomic";
    let (a, b, c) = (
        unique_stream(CASE),
        unique_stream(CASE),
        unique_stream(CASE),
    );
    append(CASE, store, &c, ExpectedVersion::NoStream, events(0, 2)).await;
    let parts = vec![
        StreamAppend::new(&a, ExpectedVersion::NoStream, events(10, 3)),
        StreamAppend::new(&b, ExpectedVersion::Any, events(20, 1)),
        StreamAppend::new(&c, ExpectedVersion::Exact(1), events(30, 2)),
    ];
    let step = "a call whose last part expects version 1 of a stream at 2";
    match store.append_streams(parts.clone()).await {
        Err(Error::Conflict {
            stream,
            expected,
            actual,
        }) if stream == c && expected == ExpectedVersion::Exact(1) && actual == 2 => {}
        other => panic!(
            "{CASE}: {step}: expected Conflict {{ stream: {c:?}, expected: Exact(1), actual: 2 }}, \
             got {other:?}"
        ),
    }
    assert_nothing_written(CASE, step, store, &parts, &[0, 0, 2]).await;

    let step = "a call whose guard part (no events) expects a version its stream is not at";
    let guarded = vec![
        StreamAppend::new(&a, ExpectedVersion::NoStream, events(40, 1)),
        StreamAppend::new(&c, ExpectedVersion::Exact(5), Vec::new()),
    ];
    match store.append_streams(guarded.clone()).await {
        Err(Error::Conflict { stream, actual, .. }) if stream == c && actual == 2 => {}
        other => panic!("{CASE}: {step}: expected a Conflict naming {c:?} at 2, got {other:?}"),
    }
    assert_nothing_written(CASE, step, store, &guarded, &[0, 2]).await;

    let step = "a call naming one stream twice";
    let twice = vec![
        StreamAppend::new(&a, ExpectedVersion::Any, events(50, 1)),
        StreamAppend::new(&a, ExpectedVersion::Any, events(51, 1)),
    ];
    match store.append_streams(twice.clone()).await {
        Err(Error::InvalidStreamName { stream, .. }) if stream == a => {}
        other => panic!("{CASE}: {step}: expected InvalidStreamName naming {a:?}, got {other:?}"),
    }
    assert_nothing_written(CASE, step, store, &twice[..1], &[0]).await;

    let step = "a call whose two parts share an event id";
    let shared = event(60);
    let sharing = vec![
        StreamAppend::new(&a, ExpectedVersion::Any, vec![event(61), shared.clone()]),
        StreamAppend::new(&b, ExpectedVersion::Any, vec![shared.clone()]),
    ];
    match store.append_streams(sharing.clone()).await {
        Err(Error::DuplicateEvent { event_id, .. }) if event_id == shared.id => {}
        other => panic!(
            "{CASE}: {step}: expected DuplicateEvent for {}, got {other:?}",
            shared.id
        ),
    }
    assert_nothing_written(CASE, step, store, &sharing, &[0, 0]).await;

    let step = "the refused call's parts, appended with the right expectations";
    let mut retried = parts.clone();
    retried[2].expected = ExpectedVersion::Exact(2);
    let results = ok(CASE, step, store.append_streams(retried).await);
    let versions: Vec<_> = results
        .iter()
        .map(|r| (r.first_version, r.version))
        .collect();
    assert_eq!(
        versions,
        [(1, 3), (1, 1), (3, 4)],
        "{CASE}: {step}: wrong versions in {results:?}"
    );
    for part in &parts {
        let stored = read_whole(CASE, store, &part.stream, 100).await;
        let tail = &stored[stored.len() - part.events.len()..];
        assert_eq!(
            tail.iter().map(|r| r.id).collect::<Vec<_>>(),
            ids(&part.events),
            "{CASE}: {step}: `{}` does not end with its part's events",
            part.stream
        );
    }
}

/// Case 24b: the events of one multi-stream call take contiguous global positions, part after
/// part, while other writers append to other streams at the same time; each part's result
/// names its own versions and positions.
///
/// # Panics
/// On a violation of the contract.
pub async fn multi_stream_positions_contiguous<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "multi_stream_positions_contiguous";
    let noise_stream = unique_stream(CASE);
    let writer = {
        let (store, stream) = (store.clone(), noise_stream.clone());
        tokio::spawn(async move {
            for n in 0..100 {
                let step = "a concurrent single append";
                ok(
                    CASE,
                    step,
                    store
                        .append(&stream, ExpectedVersion::Any, events(n, 1))
                        .await,
                );
            }
        })
    };
    let streams: Vec<String> = (0..3).map(|_| unique_stream(CASE)).collect();
    let before = *store.head().borrow();
    for round in 0..20_u64 {
        let sizes = [2, 1, 3];
        let parts: Vec<_> = streams
            .iter()
            .zip(sizes)
            .map(|(stream, size)| {
                StreamAppend::new(
                    stream,
                    ExpectedVersion::Exact(round * size),
                    events(round, size),
                )
            })
            .collect();
        let step = format!("multi-stream call {round}");
        let results = ok(CASE, &step, store.append_streams(parts).await);
        for ((result, size), previous) in results
            .iter()
            .zip(sizes)
            .zip(std::iter::once(None).chain(results.iter().map(Some)))
        {
            assert_eq!(
                (
                    result.first_version,
                    result.version,
                    result.position - result.first_position
                ),
                (round * size + 1, round * size + size, size - 1),
                "{CASE}: {step}: a part's result {result:?} does not match its batch"
            );
            if let Some(previous) = previous {
                assert_eq!(
                    result.first_position,
                    previous.position + 1,
                    "{CASE}: {step}: parts' positions are not contiguous: {results:?}"
                );
            }
        }
    }
    join(writer).await;
    let mut ours: HashSet<&str> = streams.iter().map(String::as_str).collect();
    ours.insert(&noise_stream);
    let log = read_global(CASE, store, before, 64, &ours).await;
    // Every call's six events are consecutive in the global log: nothing between them.
    let mut position_of_call = std::collections::HashMap::new();
    for recorded in log.iter().filter(|r| *r.stream != *noise_stream) {
        let round = (recorded.version - 1)
            / match streams.iter().position(|s| **s == *recorded.stream) {
                Some(0) => 2,
                Some(1) => 1,
                _ => 3,
            };
        position_of_call
            .entry(round)
            .or_insert_with(Vec::new)
            .push(recorded.position);
    }
    for (round, positions) in position_of_call {
        let (low, high) = (positions.iter().min(), positions.iter().max());
        assert!(
            positions.len() == 6 && high.zip(low).is_some_and(|(h, l)| h - l == 5),
            "{CASE}: the events of call {round} are at positions {positions:?}: not contiguous"
        );
    }
}

/// Case 24c: retrying a stored multi-stream call with the same event ids returns the original
/// results and writes nothing, even after a guard part's stream moved on; a call that mixes
/// stored parts with new ones is [`Error::DuplicateEvent`] and writes nothing.
///
/// # Panics
/// On a violation of the contract.
pub async fn multi_stream_idempotent_retry<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "multi_stream_idempotent_retry";
    let (a, b, guard) = (
        unique_stream(CASE),
        unique_stream(CASE),
        unique_stream(CASE),
    );
    append(CASE, store, &guard, ExpectedVersion::NoStream, events(0, 1)).await;
    let parts = vec![
        StreamAppend::new(&a, ExpectedVersion::NoStream, events(1, 2)),
        StreamAppend::new(&guard, ExpectedVersion::Exact(1), Vec::new()),
        StreamAppend::new(&b, ExpectedVersion::NoStream, events(3, 1)),
    ];
    let first = ok(
        CASE,
        "the first call",
        store.append_streams(parts.clone()).await,
    );
    let step = "the same call again";
    let again = ok(CASE, step, store.append_streams(parts.clone()).await);
    assert_eq!(again, first, "{CASE}: {step}: not the original results");
    append(CASE, store, &guard, ExpectedVersion::Exact(1), events(4, 1)).await;
    let step = "the same call after the guard's stream moved on";
    let later: Vec<AppendResult> = ok(CASE, step, store.append_streams(parts.clone()).await);
    assert_eq!(
        (later[0], later[2], later[1].version),
        (first[0], first[2], 2),
        "{CASE}: {step}: not the original results (the guard reports its stream's version)"
    );
    for (stream, len) in [(&a, 2), (&b, 1)] {
        let stored = read_whole(CASE, store, stream, 100).await;
        assert_eq!(stored.len(), len, "{CASE}: a retry wrote `{stream}` again");
    }

    let step = "a call that repeats a stored part next to a new one";
    let c = unique_stream(CASE);
    let mixed = vec![
        parts[0].clone(),
        StreamAppend::new(&c, ExpectedVersion::NoStream, events(5, 1)),
    ];
    match store.append_streams(mixed.clone()).await {
        Err(Error::DuplicateEvent { event_id, .. })
            if ids(&parts[0].events).contains(&event_id) => {}
        other => panic!("{CASE}: {step}: expected DuplicateEvent for a stored id, got {other:?}"),
    }
    let step = "after the mixed call";
    let version = ok(CASE, step, store.stream_version(&c).await);
    assert_eq!(
        version, 0,
        "{CASE}: {step}: the new part of a refused call was written"
    );
}

/// Case 24d: 8 tasks make 500 random transfers each among 20 accounts, every transfer one
/// multi-stream append guarded by both accounts' versions, retried on a conflict: the total is
/// conserved, no balance goes negative, and every stream holds exactly its seed and the
/// transfers that touched it.
///
/// # Panics
/// On a violation of the contract.
pub async fn multi_stream_transfers_conserve<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "multi_stream_transfers_conserve";
    const ACCOUNTS: i64 = 20;
    const TASKS: u64 = 8;
    const TRANSFERS: usize = 500;
    const SEED: i64 = 1_000;
    let accounts: Vec<String> = (0..ACCOUNTS).map(|_| unique_stream(CASE)).collect();
    for account in &accounts {
        append(
            CASE,
            store,
            account,
            ExpectedVersion::NoStream,
            vec![delta(SEED)],
        )
        .await;
    }
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, accounts) = (store.clone(), accounts.clone());
            tokio::spawn(async move { transfer_randomly(&store, &accounts, task, TRANSFERS).await })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        made += join(task).await;
    }
    let mut total = 0;
    let mut events_stored = 0;
    for account in &accounts {
        let stored = read_whole(CASE, store, account, 1_000).await;
        let balance: i64 = stored.iter().map(amount).sum();
        assert!(
            balance >= 0,
            "{CASE}: `{account}` ends at {balance}, below zero"
        );
        total += balance;
        events_stored += stored.len();
    }
    assert_eq!(
        total,
        SEED * ACCOUNTS,
        "{CASE}: money was created or destroyed"
    );
    assert_eq!(
        events_stored,
        accounts.len() + 2 * made,
        "{CASE}: {made} transfers stored, but the streams hold {events_stored} events"
    );
}

/// An account's event: its balance changes by `amount`.
fn delta(amount: i64) -> NewEvent {
    NewEvent::new("BalanceChanged", 1, format!("{{\"amount\":{amount}}}"))
}

fn amount(recorded: &crate::record::RecordedEvent) -> i64 {
    serde_json::from_slice::<serde_json::Value>(&recorded.payload)
        .ok()
        .and_then(|value| value["amount"].as_i64())
        .unwrap_or_else(|| panic!("an undecodable balance event: {recorded:?}"))
}

/// One task's transfers: each reads the tail of both accounts it knows, moves a random amount
/// the source holds, and retries on a conflict. Returns how many moved money.
async fn transfer_randomly<S: EventStore>(
    store: &S,
    accounts: &[String],
    seed: u64,
    transfers: usize,
) -> usize {
    const CASE: &str = "multi_stream_transfers_conserve";
    let mut rng = fastrand::Rng::with_seed(seed);
    // Per account, (version, balance) as this task last read it.
    let mut known = vec![(0_u64, 0_i64); accounts.len()];
    let mut made = 0;
    for _ in 0..transfers {
        let from = rng.usize(..accounts.len());
        let to = (from + 1 + rng.usize(..accounts.len() - 1)) % accounts.len();
        loop {
            for index in [from, to] {
                let (version, balance) = &mut known[index];
                let step = "read an account's tail";
                let tail = ok(
                    CASE,
                    step,
                    store
                        .read_stream(&accounts[index], *version + 1, usize::MAX)
                        .await,
                );
                for recorded in &tail {
                    *version = recorded.version;
                    *balance += amount(recorded);
                }
            }
            assert!(
                known[from].1 >= 0,
                "{CASE}: `{}` reads as {} at version {}: a transfer overdrew it",
                accounts[from],
                known[from].1,
                known[from].0
            );
            let amount = rng.i64(0..=known[from].1.min(300));
            if amount == 0 {
                break;
            }
            let parts = vec![
                StreamAppend::new(
                    &accounts[from],
                    ExpectedVersion::Exact(known[from].0),
                    vec![delta(-amount)],
                ),
                StreamAppend::new(
                    &accounts[to],
                    ExpectedVersion::Exact(known[to].0),
                    vec![delta(amount)],
                ),
            ];
            match store.append_streams(parts).await {
                Ok(_) => {
                    made += 1;
                    break;
                }
                Err(error) if error.is_conflict() => {}
                Err(error) => panic!("{CASE}: a transfer failed: {error} ({error:?})"),
            }
        }
    }
    made
}
