//! The SQLite store's own guarantees: expected versions, group commit, idempotent retries,
//! immutability triggers, round trips, several instances on one file.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use es_core::store::{AppendResult, EventStore, ExpectedVersion, SqliteEventStore, Synchronous};
use es_core::{Error, Metadata, NewEvent, Timestamp};
use tempfile::TempDir;
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn fresh() -> Result<(TempDir, SqliteEventStore), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteEventStore::open(dir.path().join("events.db")).await?;
    Ok((dir, store))
}

fn db(dir: &TempDir) -> PathBuf {
    dir.path().join("events.db")
}

fn events(count: usize) -> Vec<NewEvent> {
    (0..count)
        .map(|index| {
            NewEvent::new(
                "Happened",
                1,
                format!(r#"{{"index":{index}}}"#).into_bytes(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_version_matrix() -> TestResult {
    let expectations = [
        ExpectedVersion::Any,
        ExpectedVersion::NoStream,
        ExpectedVersion::StreamExists,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Exact(2),
        ExpectedVersion::Exact(3),
    ];
    let (_dir, store) = fresh().await?;
    for (case, expected) in expectations.into_iter().enumerate() {
        for start in [0_u64, 2] {
            let stream = format!("matrix-{case}-{start}");
            if start > 0 {
                store
                    .append(&stream, ExpectedVersion::NoStream, events(2))
                    .await?;
            }
            let head = *store.head().borrow();
            let outcome = store.append(&stream, expected, events(2)).await;
            if expected.matches(start) {
                let result = outcome?;
                assert_eq!(
                    (result.first_version, result.version),
                    (start + 1, start + 2)
                );
                assert_eq!(
                    (result.first_position, result.position),
                    (head + 1, head + 2)
                );
                assert_eq!(store.stream_version(&stream).await?, start + 2);
            } else {
                match outcome {
                    Err(Error::Conflict {
                        stream: named,
                        expected: said,
                        actual,
                    }) => {
                        assert_eq!(
                            (named.as_str(), said, actual),
                            (stream.as_str(), expected, start)
                        );
                    }
                    other => panic!("{expected} at {start}: expected a conflict, got {other:?}"),
                }
                assert_eq!(
                    store.stream_version(&stream).await?,
                    start,
                    "no partial write"
                );
                assert_eq!(*store.head().borrow(), head);
                assert_eq!(store.read_all(head, 10).await?.len(), 0);
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_appends_in_one_group_fail_alone() -> TestResult {
    let (_dir, store) = fresh().await?;
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                let other = store
                    .append(
                        &format!("bystander-{task}"),
                        ExpectedVersion::Any,
                        events(1),
                    )
                    .await;
                let race = store
                    .append("race", ExpectedVersion::Exact(0), events(2))
                    .await;
                (other, race)
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        let (other, race) = task.await?;
        other?;
        match race {
            Ok(result) => {
                winners += 1;
                assert_eq!((result.first_version, result.version), (1, 2));
            }
            Err(Error::Conflict {
                stream,
                expected,
                actual,
            }) => {
                assert_eq!(stream, "race");
                assert_eq!(expected, ExpectedVersion::Exact(0));
                assert_eq!(actual, 2);
            }
            Err(other) => return Err(other.into()),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(store.stream_version("race").await?, 2);
    assert_gapless(&store, 18).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_refused_mid_batch_does_not_poison_its_group() -> TestResult {
    let (_dir, store) = fresh().await?;
    let stored = events(1);
    let taken = stored[0].id;
    store.append("owner", ExpectedVersion::Any, stored).await?;
    // The second event's id is already stored: the first row is inserted, then refused.
    let mut poisoned = events(3);
    poisoned[1].id = taken;
    let (before, refused, after) = tokio::join!(
        store.append("before", ExpectedVersion::Any, events(2)),
        store.append("victim", ExpectedVersion::Any, poisoned),
        store.append("after", ExpectedVersion::Any, events(2)),
    );
    before?;
    after?;
    match refused {
        Err(Error::DuplicateEvent {
            stream,
            version,
            event_id,
        }) => assert_eq!((stream.as_str(), version, event_id), ("owner", 1, taken)),
        other => panic!("expected a duplicate event, got {other:?}"),
    }
    assert_eq!(store.stream_version("victim").await?, 0);
    assert!(store.read_stream("victim", 1, 10).await?.is_empty());
    // An id twice in one batch.
    let mut twice = events(2);
    twice[1].id = twice[0].id;
    let error = store.append("twice", ExpectedVersion::Any, twice).await;
    assert!(
        matches!(error, Err(Error::DuplicateEvent { .. })),
        "{error:?}"
    );
    assert_gapless(&store, 5).await
}

/// One-event appends are written without a savepoint of their own: a refused one must still
/// leave nothing, answer for itself alone, and keep the rest of its group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_one_event_appends_leave_nothing_in_their_group() -> TestResult {
    let (_dir, store) = fresh().await?;
    let stored = events(1);
    let taken = stored[0].id;
    let original = store
        .append("owner", ExpectedVersion::NoStream, stored.clone())
        .await?;
    let mut stolen = events(1);
    stolen[0].id = taken;
    let (before, duplicate, conflict, retry, after) = tokio::join!(
        store.append("before", ExpectedVersion::Any, events(1)),
        store.append("thief", ExpectedVersion::Any, stolen),
        store.append("owner", ExpectedVersion::Exact(5), events(1)),
        store.append("owner", ExpectedVersion::NoStream, stored),
        store.append("after", ExpectedVersion::Any, events(1)),
    );
    assert_eq!(before?.version, 1);
    assert_eq!(after?.version, 1);
    match duplicate {
        Err(Error::DuplicateEvent {
            stream,
            version,
            event_id,
        }) => assert_eq!((stream.as_str(), version, event_id), ("owner", 1, taken)),
        other => panic!("expected a duplicate event, got {other:?}"),
    }
    match conflict {
        Err(Error::Conflict { stream, actual, .. }) => {
            assert_eq!((stream.as_str(), actual), ("owner", 1));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(retry?, original);
    assert_eq!(store.stream_version("thief").await?, 0);
    assert_eq!(store.stream_version("owner").await?, 1);
    // The group goes on after its refusals: the next append takes the next position.
    let next = store
        .append("next", ExpectedVersion::Any, events(1))
        .await?;
    assert_eq!(next.position, 4);
    assert_gapless(&store, 4).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_with_the_same_ids_return_the_original_result() -> TestResult {
    let (_dir, store) = fresh().await?;
    let batch = events(2);
    let original = store
        .append("retry", ExpectedVersion::Exact(0), batch.clone())
        .await?;
    let again = store
        .append("retry", ExpectedVersion::Exact(0), batch.clone())
        .await?;
    assert_eq!(again, original);
    store
        .append("retry", ExpectedVersion::Exact(2), events(1))
        .await?;
    // A retry after the stream moved on still answers with the original result.
    for expected in [
        ExpectedVersion::Exact(0),
        ExpectedVersion::NoStream,
        ExpectedVersion::Any,
    ] {
        let replayed = store.append("retry", expected, batch.clone()).await?;
        assert_eq!(replayed, original, "{expected}");
    }
    // Replays inside one group transaction, next to new appends.
    let (first, second, fresh_append) = tokio::join!(
        store.append("retry", ExpectedVersion::Exact(0), batch.clone()),
        store.append("retry", ExpectedVersion::Exact(0), batch.clone()),
        store.append("retry", ExpectedVersion::Exact(3), events(1)),
    );
    assert_eq!(first?, original);
    assert_eq!(second?, original);
    assert_eq!(fresh_append?.version, 4);
    // The ids stored elsewhere, or mixed with new ones, are duplicates.
    let elsewhere = store
        .append("other", ExpectedVersion::Any, batch.clone())
        .await;
    assert!(
        matches!(elsewhere, Err(Error::DuplicateEvent { version: 1, .. })),
        "{elsewhere:?}"
    );
    let mut mixed = events(1);
    mixed.push(batch[0].clone());
    let mixed = store.append("retry", ExpectedVersion::Any, mixed).await;
    assert!(
        matches!(mixed, Err(Error::DuplicateEvent { .. })),
        "{mixed:?}"
    );
    // The right ids at the wrong place.
    let wrong_place = store
        .append("retry", ExpectedVersion::Exact(1), batch.clone())
        .await;
    assert!(
        matches!(wrong_place, Err(Error::DuplicateEvent { .. })),
        "{wrong_place:?}"
    );
    assert_eq!(store.stream_version("retry").await?, 4);
    assert_gapless(&store, 4).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_update_and_delete_of_events() -> TestResult {
    let (dir, store) = fresh().await?;
    store
        .append("facts", ExpectedVersion::Any, events(2))
        .await?;
    let raw = rusqlite::Connection::open(db(&dir))?;
    for statement in [
        "UPDATE events SET payload = x'00' WHERE version = 1",
        "UPDATE events SET stream = 'elsewhere'",
        "DELETE FROM events WHERE version = 2",
        "DELETE FROM events",
    ] {
        let error = raw
            .execute(statement, [])
            .expect_err("the trigger refuses it");
        assert!(
            error.to_string().contains("events are immutable"),
            "{statement}: {error}"
        );
    }
    assert_eq!(store.read_stream("facts", 1, 10).await?.len(), 2);
    let version: i64 = raw.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    assert_eq!(version, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_round_trips() -> TestResult {
    let (_dir, store) = fresh().await?;
    let payload: Vec<u8> = (0..=255_u8).cycle().take(1 << 20).collect();
    let event = NewEvent {
        id: Uuid::now_v7(),
        name: "Everything".into(),
        schema_version: u16::MAX,
        payload: payload.into(),
        metadata: Metadata {
            timestamp: Timestamp(-1_234_567),
            correlation_id: Some(Uuid::now_v7()),
            causation_id: Some(Uuid::now_v7()),
            extra: BTreeMap::from([
                ("tenant".to_owned(), "acme".to_owned()),
                ("quote".to_owned(), "it's \"quoted\"\n".to_owned()),
            ]),
        },
    };
    let plain = NewEvent::new("Plain", 0, Vec::new());
    store
        .append("other", ExpectedVersion::Any, events(1))
        .await?;
    let result = store
        .append(
            "round-trip",
            ExpectedVersion::NoStream,
            vec![event.clone(), plain.clone()],
        )
        .await?;
    assert_eq!(
        result,
        AppendResult {
            first_version: 1,
            version: 2,
            first_position: 2,
            position: 3
        }
    );
    let read = store.read_stream("round-trip", 1, 10).await?;
    assert_eq!(read, store.read_all(1, 10).await?);
    assert_eq!(read.len(), 2);
    for ((recorded, sent), (version, position)) in
        read.iter().zip([&event, &plain]).zip([(1, 2), (2, 3)])
    {
        assert_eq!(recorded.id, sent.id);
        assert_eq!(&*recorded.stream, "round-trip");
        assert_eq!((recorded.version, recorded.position), (version, position));
        assert_eq!(&*recorded.name, &*sent.name);
        assert_eq!(recorded.schema_version, sent.schema_version);
        assert_eq!(recorded.payload, sent.payload);
        assert_eq!(recorded.metadata, sent.metadata);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_reads_and_odd_arguments() -> TestResult {
    let (_dir, store) = fresh().await?;
    store
        .append("five", ExpectedVersion::Any, events(5))
        .await?;
    for (from, limit, expected) in [
        (1, 10, vec![1, 2, 3, 4, 5]),
        (3, 10, vec![3, 4, 5]),
        (5, 10, vec![5]),
        (6, 10, vec![]),
        (0, 2, vec![1, 2]),
        (3, 1, vec![3]),
        (1, 0, vec![]),
        (u64::MAX, 10, vec![]),
    ] {
        let versions: Vec<u64> = store
            .read_stream("five", from, limit)
            .await?
            .iter()
            .map(|event| event.version)
            .collect();
        assert_eq!(versions, expected, "from {from} limit {limit}");
    }
    assert!(store.read_stream("unknown", 1, 10).await?.is_empty());
    assert_eq!(store.stream_version("unknown").await?, 0);
    assert_eq!(store.read_all(3, 10).await?.len(), 2);
    assert!(store.read_all(u64::MAX, 10).await?.is_empty());
    assert!(store.read_all(0, 0).await?.is_empty());
    let far = store
        .append("five", ExpectedVersion::Exact(1 << 40), events(1))
        .await;
    assert!(
        matches!(far, Err(Error::Conflict { actual: 5, .. })),
        "{far:?}"
    );
    // An empty batch writes nothing and reports where the stream stands.
    let empty = store
        .append("five", ExpectedVersion::Exact(5), Vec::new())
        .await?;
    assert_eq!((empty.version, empty.position), (5, 5));
    assert_eq!(*store.head().borrow(), 5);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_names_are_checked_and_bound() -> TestResult {
    let (dir, store) = fresh().await?;
    for name in [String::new(), "x".repeat(256), "new\nline".to_owned()] {
        let error = store.append(&name, ExpectedVersion::Any, events(1)).await;
        assert!(
            matches!(error, Err(Error::InvalidStreamName { .. })),
            "{error:?}"
        );
        let error = store.read_stream(&name, 1, 1).await;
        assert!(
            matches!(error, Err(Error::InvalidStreamName { .. })),
            "{error:?}"
        );
    }
    let hostile = "x'); DROP TABLE events; --";
    store
        .append(hostile, ExpectedVersion::Any, events(1))
        .await?;
    store
        .append(&"é".repeat(127), ExpectedVersion::Any, events(1))
        .await?;
    assert_eq!(store.stream_version(hostile).await?, 1);
    drop(store);
    let store = SqliteEventStore::open(db(&dir)).await?;
    assert_eq!(store.read_all(0, 10).await?.len(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_everything_and_refuses_a_newer_schema() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = SqliteEventStore::builder(db(&dir))
        .synchronous(Synchronous::Normal)
        .readers(1)
        .max_group(2)
        .open()
        .await?;
    store
        .append("kept", ExpectedVersion::Any, events(3))
        .await?;
    drop(store);
    let store = SqliteEventStore::open(db(&dir)).await?;
    assert_eq!(*store.head().borrow(), 3);
    let next = store
        .append("kept", ExpectedVersion::Exact(3), events(1))
        .await?;
    assert_eq!((next.version, next.position), (4, 4));
    drop(store);
    let raw = rusqlite::Connection::open(db(&dir))?;
    raw.pragma_update(None, "user_version", 3)?;
    drop(raw);
    let error = SqliteEventStore::open(db(&dir))
        .await
        .expect_err("a newer schema is refused");
    assert!(matches!(error, Error::Backend(_)));
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert!(
        source.is_some_and(|text| text.contains("newer")),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_1_file_is_migrated_on_open() -> TestResult {
    let (dir, store) = fresh().await?;
    store.append("old", ExpectedVersion::Any, events(2)).await?;
    drop(store);
    // What version 1 wrote: the events table only.
    let raw = rusqlite::Connection::open(db(&dir))?;
    raw.execute_batch("DROP TABLE snapshots; DROP TABLE checkpoints; PRAGMA user_version = 1;")?;
    drop(raw);

    let store = SqliteEventStore::open(db(&dir)).await?;
    assert_eq!(store.read_stream("old", 1, 10).await?.len(), 2);
    store.save_checkpoint("balances", 2).await?;
    assert_eq!(store.load_checkpoint("balances").await?, 2);
    drop(store);
    let raw = rusqlite::Connection::open(db(&dir))?;
    let version: i64 = raw.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    assert_eq!(version, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_wakes_after_commit() -> TestResult {
    let (_dir, store) = fresh().await?;
    let mut head = store.head();
    assert_eq!(*head.borrow_and_update(), 0);
    let waiter = tokio::spawn(async move { head.changed().await.map(|()| *head.borrow()) });
    let appended = store
        .append("wake", ExpectedVersion::Any, events(3))
        .await?;
    assert_eq!(waiter.await??, appended.position);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_file_stay_consistent() -> TestResult {
    let (dir, first) = fresh().await?;
    let second = SqliteEventStore::open(db(&dir)).await?;
    let mut version = 0;
    for round in 0..20 {
        let (writer, other) = if round % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let result = writer
            .append("shared", ExpectedVersion::Exact(version), events(2))
            .await?;
        version = result.version;
        // The other instance saw it: its stale expectation conflicts.
        let stale = other
            .append("shared", ExpectedVersion::Exact(version - 2), events(1))
            .await;
        assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
        assert_eq!(other.stream_version("shared").await?, version);
    }
    assert_gapless(&first, 40).await?;
    assert_gapless(&second, 40).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_writers_lose_and_duplicate_nothing() -> TestResult {
    const TASKS: usize = 8;
    const APPENDS: usize = 1_000;
    let (_dir, store) = fresh().await?;
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                let stream = format!("writer-{task}");
                let mut ids = Vec::with_capacity(APPENDS);
                let mut version = 0;
                for append in 0..APPENDS {
                    let batch = events(1);
                    ids.push(batch[0].id);
                    // Every tenth append also goes to one stream all tasks share.
                    let (target, expected) = if append % 10 == 0 {
                        ("shared", ExpectedVersion::Any)
                    } else {
                        (stream.as_str(), ExpectedVersion::Exact(version))
                    };
                    let result = store.append(target, expected, batch).await?;
                    if target != "shared" {
                        version = result.version;
                    }
                }
                Ok::<_, Error>(ids)
            })
        })
        .collect();
    let mut sent = HashSet::new();
    for task in tasks {
        sent.extend(task.await??);
    }
    assert_eq!(sent.len(), TASKS * APPENDS);
    let stored = read_everything(&store).await?;
    let ids: HashSet<Uuid> = stored.iter().map(|event| event.id).collect();
    assert_eq!(ids.len(), stored.len(), "an event is stored twice");
    assert_eq!(ids, sent, "an event is lost or unexpected");
    for task in 0..TASKS {
        let versions: Vec<u64> = store
            .read_stream(&format!("writer-{task}"), 1, APPENDS)
            .await?
            .iter()
            .map(|event| event.version)
            .collect();
        assert_eq!(
            versions,
            (1..=(APPENDS - APPENDS / 10) as u64).collect::<Vec<_>>()
        );
    }
    assert_eq!(
        store.stream_version("shared").await?,
        (TASKS * APPENDS / 10) as u64
    );
    assert_gapless(&store, TASKS * APPENDS).await?;
    println!(
        "{TASKS} tasks x {APPENDS} appends: {} events stored, {} distinct ids, none lost or duplicated",
        stored.len(),
        ids.len()
    );
    Ok(())
}

async fn read_everything(store: &SqliteEventStore) -> Result<Vec<es_core::RecordedEvent>, Error> {
    let mut all = Vec::new();
    loop {
        let after = all
            .last()
            .map_or(0, |event: &es_core::RecordedEvent| event.position);
        let batch = store.read_all(after, 1000).await?;
        if batch.is_empty() {
            return Ok(all);
        }
        all.extend(batch);
    }
}

/// The global log holds exactly `count` events at positions 1..=count, each stream's versions
/// contiguous from 1.
async fn assert_gapless(store: &SqliteEventStore, count: usize) -> TestResult {
    let all = read_everything(store).await?;
    let positions: Vec<u64> = all.iter().map(|event| event.position).collect();
    assert_eq!(positions, (1..=count as u64).collect::<Vec<_>>());
    let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
    for event in &all {
        let last = versions.entry(&event.stream).or_default();
        assert_eq!(
            event.version,
            *last + 1,
            "stream {} has a gap",
            event.stream
        );
        *last = event.version;
    }
    Ok(())
}

/// Cases 13 and 14 on SQLite: a writer that holds the write lock with an uncommitted row (here
/// another connection, standing in for a stalled writer) never lets a reader skip it, and a
/// rolled-back reservation leaves no gap. The single write lock makes both true by construction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_writer_is_never_skipped_and_a_rollback_leaves_no_gap() -> TestResult {
    let (dir, store) = fresh().await?;
    store
        .append("before", ExpectedVersion::Any, events(1))
        .await?;
    let stall = |commit: bool, locked: tokio::sync::oneshot::Sender<()>| {
        let path = db(&dir);
        std::thread::spawn(move || -> rusqlite::Result<()> {
            let mut raw = rusqlite::Connection::open(path)?;
            raw.busy_timeout(std::time::Duration::from_secs(5))?;
            let tx = raw.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO events (position, stream, version, event_id, name, schema_version, \
                 payload, timestamp) VALUES ((SELECT MAX(position) + 1 FROM events), 'stalled', \
                 (SELECT COALESCE(MAX(version), 0) + 1 FROM events WHERE stream = 'stalled'), \
                 ?1, 'Stalled', 1, x'', 0)",
                [&Uuid::now_v7().as_bytes()[..]],
            )?;
            let _ = locked.send(());
            std::thread::sleep(std::time::Duration::from_millis(300));
            if commit { tx.commit() } else { tx.rollback() }
        })
    };
    for commit in [true, false] {
        let head = store.read_all(0, 100).await?.len() as u64;
        let (locked, is_locked) = tokio::sync::oneshot::channel();
        let writer = stall(commit, locked);
        is_locked.await?;
        // B: queued behind the stalled writer's lock; the reader sees neither yet.
        let appending = tokio::spawn({
            let store = store.clone();
            async move { store.append("after", ExpectedVersion::Any, events(1)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            store.read_all(head, 10).await?.is_empty(),
            "a reader saw past the stall"
        );
        writer.join().map_err(|_| "the stalled writer panicked")??;
        let appended = appending.await??;
        let after: Vec<(u64, String)> = store
            .read_all(head, 10)
            .await?
            .iter()
            .map(|event| (event.position, event.stream.to_string()))
            .collect();
        if commit {
            assert_eq!(
                after,
                [(head + 1, "stalled".into()), (head + 2, "after".into())]
            );
        } else {
            assert_eq!(after, [(head + 1, "after".into())]);
        }
        assert_eq!(appended.position, head + after.len() as u64);
    }
    Ok(())
}

/// Several processes opening one new file at the same moment all succeed: creating it, setting
/// WAL mode and applying the schema are safe from any number of processes.
#[test]
fn processes_opening_a_new_file_at_once_all_succeed() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for trial in 0..50 {
        let path = dir.path().join(format!("new-{trial}.db"));
        let children: Vec<_> = (0..4)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_sqlite_open"))
                    .arg(&path)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("start a child")
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().expect("the child ends");
            assert!(
                output.status.success(),
                "trial {trial}: opening a new file failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}
