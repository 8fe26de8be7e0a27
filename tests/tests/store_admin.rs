//! [`StoreAdmin`] on every backend: listing streams by prefix and page, totals, checkpoints and
//! snapshots, and importing a log into another store with ids, versions, positions and
//! metadata kept, all or nothing.

mod postgres_support;

use es_core::store::{StoreAdmin, StoredSnapshot};
use es_core::{
    Error, EventStore, ExpectedVersion, InMemoryEventStore, NewEvent, RecordedEvent, Snapshot,
    SqliteEventStore,
};
use uuid::Uuid;

/// An event whose payload names it, with metadata of every kind.
fn event(name: &str, n: u64) -> NewEvent {
    let mut event = NewEvent::new(name.to_owned(), 1, format!(r#"{{"n":{n}}}"#));
    event.metadata.correlation_id = Some(Uuid::now_v7());
    event
        .metadata
        .extra
        .insert("tenant".into(), format!("t{n}"));
    event
}

/// Fills `store`: streams `a-1` (3 events), `a-2` (1), `a%x` (1), `b-1` (2), two snapshots,
/// two checkpoints.
async fn fill(store: &impl EventStore) {
    let appends: [(&str, &[&str]); 4] = [
        ("a-1", &["Opened", "Deposited"]),
        ("b-1", &["Opened", "Deposited"]),
        ("a-2", &["Opened"]),
        ("a%x", &["Opened"]),
    ];
    for (n, (stream, names)) in (0_u64..).zip(appends) {
        let events = names.iter().map(|name| event(name, n)).collect();
        store
            .append(stream, ExpectedVersion::Any, events)
            .await
            .unwrap();
    }
    store
        .append(
            "a-1",
            ExpectedVersion::Exact(2),
            vec![event("Withdrawn", 9)],
        )
        .await
        .unwrap();
    for (stream, version) in [("a-1", 2), ("b-1", 1)] {
        let snapshot = Snapshot {
            version,
            schema_version: 3,
            payload: format!("state of {stream}").into(),
        };
        store.save_snapshot(stream, snapshot).await.unwrap();
    }
    store.save_checkpoint("projection-z", 5).await.unwrap();
    store.save_checkpoint("projection-a", 7).await.unwrap();
}

async fn lists_and_counts(store: &(impl StoreAdmin + EventStore)) {
    let names = |streams: Vec<es_core::store::StreamSummary>| {
        streams
            .into_iter()
            .map(|s| (s.stream, s.version, s.last_position))
            .collect::<Vec<_>>()
    };
    let all = store.streams("", "", usize::MAX).await.unwrap();
    assert_eq!(
        names(all),
        [
            ("a%x".into(), 1, 6),
            ("a-1".into(), 3, 7),
            ("a-2".into(), 1, 5),
            ("b-1".into(), 2, 4)
        ]
    );
    // The prefix is text, not a pattern: `%` and `_` match only themselves.
    let prefixed = store.streams("a-", "", usize::MAX).await.unwrap();
    assert_eq!(
        names(prefixed),
        [("a-1".into(), 3, 7), ("a-2".into(), 1, 5)]
    );
    assert_eq!(
        names(store.streams("a%", "", 10).await.unwrap()),
        [("a%x".into(), 1, 6)]
    );
    assert!(store.streams("a_", "", 10).await.unwrap().is_empty());
    // Pages: after a name, up to a limit.
    let page = store.streams("", "a-1", 1).await.unwrap();
    assert_eq!(names(page), [("a-2".into(), 1, 5)]);

    assert_eq!(store.last_position().await.unwrap(), 7);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.events, stats.head, stats.streams), (7, 7, 4));
    assert_eq!((stats.snapshots, stats.checkpoints), (2, 2));
    let mut counted = stats.names.clone();
    counted.sort();
    assert_eq!(
        counted,
        [
            ("Deposited".into(), 2),
            ("Opened".into(), 4),
            ("Withdrawn".into(), 1)
        ]
    );
    let payloads: u64 = read_log(store)
        .await
        .iter()
        .map(|e| e.payload.len() as u64)
        .sum();
    assert_eq!(stats.payload_bytes, payloads);
    assert!(stats.first_timestamp <= stats.last_timestamp && stats.first_timestamp.is_some());

    assert_eq!(
        store.checkpoints().await.unwrap(),
        [("projection-a".into(), 7), ("projection-z".into(), 5)]
    );
    let snapshots = store.snapshots(None, usize::MAX).await.unwrap();
    let keys: Vec<_> = snapshots
        .iter()
        .map(|s| (s.stream.as_str(), s.snapshot.version))
        .collect();
    assert_eq!(keys, [("a-1", 2), ("b-1", 1)]);
    assert_eq!(&snapshots[0].snapshot.payload[..], b"state of a-1");
    let rest = store.snapshots(Some(("a-1", 2)), 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|s| s.stream.as_str()).collect::<Vec<_>>(),
        ["b-1"]
    );
}

async fn read_log(store: &impl EventStore) -> Vec<RecordedEvent> {
    store.read_all(0, usize::MAX).await.unwrap()
}

/// Imports `source`'s log into the empty `target` in pieces, refusing what does not fit.
async fn imports(source: &impl EventStore, target: &(impl StoreAdmin + EventStore)) {
    let log = read_log(source).await;
    let mut head = target.head();
    // Not the next position: refused, nothing written.
    let refused = target.import(log[1..3].to_vec()).await.unwrap_err();
    assert!(
        matches!(refused, Error::Import { position: 2, ref reason } if reason.contains("next position is 1")),
        "{refused}"
    );
    target.import(log[..3].to_vec()).await.unwrap();
    // A version that skips one: refused whole, the good events before it included.
    let mut skipping = log[3..5].to_vec();
    skipping[1].version += 1;
    let refused = target.import(skipping).await.unwrap_err();
    assert!(
        matches!(refused, Error::Import { position: 5, .. }),
        "{refused}"
    );
    // An id stored already.
    let mut repeated = log[3..5].to_vec();
    repeated[1].id = log[0].id;
    let refused = target.import(repeated).await.unwrap_err();
    assert!(matches!(refused, Error::DuplicateEvent { event_id, .. } if event_id == log[0].id));
    assert_eq!(target.import(log[3..].to_vec()).await.unwrap(), 7);
    assert_eq!(target.import(Vec::new()).await.unwrap(), 7);
    assert_eq!(
        read_log(target).await,
        log,
        "ids, versions, positions and metadata kept"
    );
    head.changed().await.unwrap();
    assert_eq!(
        *head.borrow_and_update(),
        7,
        "listeners see the import as an append"
    );
    // The application goes on where the imported log ends.
    let more = vec![event("Deposited", 10)];
    let appended = target
        .append("a-1", ExpectedVersion::Exact(3), more)
        .await
        .unwrap();
    assert_eq!((appended.version, appended.position), (4, 8));
    let refused = target.import(log[..1].to_vec()).await.unwrap_err();
    assert!(matches!(refused, Error::Import { position: 1, .. }));
}

async fn contract(source: impl StoreAdmin + EventStore, target: impl StoreAdmin + EventStore) {
    fill(&source).await;
    lists_and_counts(&source).await;
    imports(&source, &target).await;
    let empty: Vec<StoredSnapshot> = target.snapshots(None, 10).await.unwrap();
    assert!(empty.is_empty());
}

#[tokio::test]
async fn admin_in_memory() {
    contract(InMemoryEventStore::new(), InMemoryEventStore::new()).await;
}

#[tokio::test]
async fn admin_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let source = SqliteEventStore::open(dir.path().join("source.db"))
        .await
        .unwrap();
    let target = SqliteEventStore::open(dir.path().join("target.db"))
        .await
        .unwrap();
    contract(source, target).await;
}

#[tokio::test]
async fn admin_postgres() {
    let Some((source, ..)) = postgres_support::store("admin_source").await else {
        return;
    };
    let Some((target, ..)) = postgres_support::store("admin_target").await else {
        return;
    };
    contract(source, target).await;
}
