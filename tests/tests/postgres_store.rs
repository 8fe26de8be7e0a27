//! The PostgreSQL store: round trips, concurrency, the global order under races (cases 13, 14),
//! and corrupt rows through the typed layer. Needs `ES_POSTGRES_URL` (`scripts/postgres start`).

mod postgres_support;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use es_core::store::{EventStore, ExpectedVersion, PostgresEventStore, Subscription};
use es_core::{Error, Metadata, NewEvent, Timestamp};
use postgres_support::{raw, store, url_in, wait_until_blocked};
use uuid::Uuid;

fn event(payload: &str) -> NewEvent {
    NewEvent::new("Happened", 1, payload.as_bytes().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_versions_and_idempotent_retry() {
    let Some((store, _url, _schema)) = store("round_trip").await else {
        return;
    };
    store.migrate().await.expect("migrate twice is a no-op");
    assert_eq!(store.stream_version("s-1").await.unwrap(), 0);
    assert!(store.read_stream("s-1", 1, 10).await.unwrap().is_empty());

    let mut first = event("one");
    first.metadata = Metadata {
        timestamp: Timestamp(1_700_000_000_123_456),
        correlation_id: Some(Uuid::now_v7()),
        causation_id: Some(Uuid::now_v7()),
        extra: BTreeMap::from([("tenant".into(), "t-1".into()), ("user".into(), "ü".into())]),
    };
    first.schema_version = u16::MAX;
    let batch = vec![first.clone(), event("two")];
    let appended = store
        .append("s-1", ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    assert_eq!((appended.first_version, appended.version), (1, 2));
    assert_eq!((appended.first_position, appended.position), (1, 2));

    // A retry of the same batch is a no-op returning the original result.
    let again = store
        .append("s-1", ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    assert_eq!(again, appended);
    // The same ids elsewhere are a duplicate, naming where they are stored.
    let error = store
        .append("s-2", ExpectedVersion::Any, vec![batch[1].clone()])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::DuplicateEvent { stream, version: 2, event_id } if stream == "s-1" && *event_id == batch[1].id),
        "{error:?}"
    );

    let read = store.read_stream("s-1", 1, 10).await.unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].id, first.id);
    assert_eq!(&*read[0].name, "Happened");
    assert_eq!(read[0].schema_version, u16::MAX);
    assert_eq!(&read[0].payload[..], b"one");
    assert_eq!(read[0].metadata, first.metadata);
    assert_eq!(
        (&*read[1].stream, read[1].version, read[1].position),
        ("s-1", 2, 2)
    );

    // Expected-version mismatches name stream, expectation and actual version.
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(1),
        ExpectedVersion::Exact(u64::MAX),
    ] {
        let error = store
            .append("s-1", expected, vec![event("x")])
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Conflict { stream, expected: e, actual: 2 } if stream == "s-1" && *e == expected),
            "{error:?}"
        );
    }
    let error = store
        .append("s-3", ExpectedVersion::StreamExists, vec![event("x")])
        .await
        .unwrap_err();
    assert!(error.is_conflict());
    // An empty batch writes nothing and reports the current version.
    let empty = store
        .append("s-1", ExpectedVersion::Exact(2), Vec::new())
        .await
        .unwrap();
    assert_eq!((empty.version, empty.position), (2, 2));
    // Names are data: a quote is just a character; a control character is refused.
    store
        .append(
            "s-'; DROP TABLE es_events; --",
            ExpectedVersion::Any,
            vec![event("q")],
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .append("s-\n", ExpectedVersion::Any, vec![event("x")])
            .await,
        Err(Error::InvalidStreamName { .. })
    ));
    let all = store.read_all(0, 100).await.unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, [1, 2, 3]);
    assert_eq!(store.read_all(2, 100).await.unwrap().len(), 1);
    assert!(store.read_all(0, 0).await.unwrap().is_empty());
    assert_eq!(*store.head().borrow(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_append_a_thousand_each() {
    const TASKS: usize = 8;
    const APPENDS: usize = 1000;
    let Some((store, _url, _schema)) = store("eight_tasks").await else {
        return;
    };
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let own = format!("own-{task}");
            let mut ids = Vec::with_capacity(APPENDS);
            for n in 0..APPENDS {
                let event = event(&format!("{task}-{n}"));
                ids.push(event.id);
                // Half to the task's own stream with the exact version, half to one shared stream.
                let (stream, expected) = if n % 2 == 0 {
                    (own.as_str(), ExpectedVersion::Exact((n / 2) as u64))
                } else {
                    ("shared", ExpectedVersion::Any)
                };
                store
                    .append(stream, expected, vec![event])
                    .await
                    .expect("append");
            }
            ids
        }));
    }
    let mut appended = HashSet::new();
    for task in tasks {
        appended.extend(task.await.unwrap());
    }
    assert_eq!(appended.len(), TASKS * APPENDS);

    let mut seen = HashSet::new();
    let mut read = 0_usize;
    let mut after = 0;
    loop {
        let batch = store.read_all(after, 1000).await.unwrap();
        let Some(last) = batch.last() else { break };
        read += batch.len();
        for event in &batch {
            assert_eq!(
                event.position,
                after + 1,
                "positions are gapless and in order"
            );
            after = event.position;
            seen.insert(event.id);
        }
        after = last.position;
    }
    assert_eq!(
        seen, appended,
        "every acknowledged append is in the global log once"
    );
    let shared = store.read_stream("shared", 1, usize::MAX).await.unwrap();
    assert_eq!(shared.len(), TASKS * APPENDS / 2);
    assert!(
        shared
            .iter()
            .enumerate()
            .all(|(i, e)| e.version == i as u64 + 1)
    );
    eprintln!(
        "{TASKS} tasks x {APPENDS} appends: {} acknowledged, {read} in the global log, {} \
         duplicates, {} lost",
        appended.len(),
        read - seen.len(),
        appended.difference(&seen).count()
    );
}

/// A raw `es_append` of one event, as a writer that stalls before commit would issue it.
async fn raw_append(client: &tokio_postgres::Client, stream: &str, id: Uuid) -> i64 {
    let row = client
        .query_one(
            "SELECT o_position FROM es_append($1, 0::smallint, 0, ARRAY[$2::uuid], \
             ARRAY['Happened'], ARRAY[1], ARRAY['\\x41'::bytea], ARRAY[0::bigint], \
             ARRAY[NULL::uuid], ARRAY[NULL::uuid], ARRAY[NULL::text])",
            &[&stream, &id],
        )
        .await
        .unwrap();
    row.get(0)
}

/// Case 13: writer A takes a position and stalls before commit; writer B queues behind A (it
/// cannot take a later position and commit first); a catch-up reader sees nothing past what is
/// committed; A commits; the reader gets A, then B, once each, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gap_race_writer_b_queues_behind_open_writer_a() {
    let Some((store, url, schema)) = store("gap_race").await else {
        return;
    };
    store
        .append("before", ExpectedVersion::Any, vec![event("0")])
        .await
        .unwrap();
    let b_url = format!("{}&application_name=es_gap_race_b", url_in(&url, &schema));
    let writer_b = PostgresEventStore::connect(&b_url).await.unwrap();
    let observer = raw(&url, &schema).await;

    let a = raw(&url, &schema).await;
    a.batch_execute("BEGIN").await.unwrap();
    let a_id = Uuid::now_v7();
    assert_eq!(
        raw_append(&a, "writer-a", a_id).await,
        2,
        "A took position 2"
    );

    let b = tokio::spawn(async move {
        writer_b
            .append("writer-b", ExpectedVersion::Any, vec![event("b")])
            .await
    });
    wait_until_blocked(&observer, "es_gap_race_b").await;
    assert!(!b.is_finished(), "B waits for the append lock A holds");

    // The catch-up reader does not wait on writers and sees only what is committed.
    let mut subscription =
        Subscription::new(store.clone(), 0).poll_interval(Duration::from_millis(20));
    assert_eq!(subscription.next().await.unwrap().position, 1);
    let read = store.read_all(1, 100).await.unwrap();
    assert!(
        read.is_empty(),
        "nothing past position 1 is visible while A is open: {read:?}"
    );
    let pending = tokio::time::timeout(Duration::from_millis(200), subscription.next()).await;
    assert!(
        pending.is_err(),
        "the subscriber must not move past A while A is open"
    );
    assert_eq!(subscription.position(), 1);

    a.batch_execute("COMMIT").await.unwrap();
    let b = b.await.unwrap().unwrap();
    assert_eq!(b.position, 3, "B took the position after A's");
    let next = subscription.next().await.unwrap();
    assert_eq!((next.id, next.position), (a_id, 2));
    let next = subscription.next().await.unwrap();
    assert_eq!((&*next.stream, next.position), ("writer-b", 3));
    let all: Vec<u64> = store
        .read_all(0, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(all, [1, 2, 3]);
}

/// Case 14: a transaction that reserved positions and rolls back (or whose client dies)
/// consumes nothing; readers never waited on it; the next writer takes the same positions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_reservation_leaves_no_gap_and_stalls_no_reader() {
    let Some((store, url, schema)) = store("rollback").await else {
        return;
    };
    let a = raw(&url, &schema).await;
    a.batch_execute("BEGIN").await.unwrap();
    assert_eq!(raw_append(&a, "rolled-back", Uuid::now_v7()).await, 1);
    // Readers answer at once while the reservation is open.
    assert!(store.read_all(0, 10).await.unwrap().is_empty());
    assert_eq!(store.stream_version("rolled-back").await.unwrap(), 0);
    a.batch_execute("ROLLBACK").await.unwrap();
    let appended = store
        .append("after", ExpectedVersion::Any, vec![event("x")])
        .await
        .unwrap();
    assert_eq!(
        appended.position, 1,
        "the rolled-back position is reused: no gap"
    );

    // A client that dies holding the append lock: its transaction ends with its connection.
    let dying = raw(&url, &schema).await;
    dying.batch_execute("BEGIN").await.unwrap();
    assert_eq!(raw_append(&dying, "died", Uuid::now_v7()).await, 2);
    drop(dying);
    let appended = store
        .append("after", ExpectedVersion::Any, vec![event("y")])
        .await
        .unwrap();
    assert_eq!(appended.position, 2);
    let all = store.read_all(0, 10).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), [1, 2]);
    assert!(all.iter().all(|e| &*e.stream == "after"));
}

/// Case 19: stored events are immutable in the database itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_update_and_delete_are_refused() {
    let Some((store, url, schema)) = store("immutable").await else {
        return;
    };
    store
        .append("s", ExpectedVersion::Any, vec![event("x")])
        .await
        .unwrap();
    let client = raw(&url, &schema).await;
    for sql in [
        "UPDATE es_events SET payload = '\\x00'",
        "DELETE FROM es_events",
        "TRUNCATE es_events",
    ] {
        let error = client.batch_execute(sql).await.expect_err(sql);
        assert!(
            error.to_string().contains("append-only")
                || format!("{error:?}").contains("append-only"),
            "{sql}: {error:?}"
        );
    }
    assert_eq!(store.read_all(0, 10).await.unwrap().len(), 1);
}

/// A second store instance on the same schema wakes on the first one's appends (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_is_woken_by_notify() {
    let Some((store, url, schema)) = store("notify").await else {
        return;
    };
    let other = PostgresEventStore::connect(&url_in(&url, &schema))
        .await
        .unwrap();
    let mut head = other.head();
    // Long poll interval: only the notification can deliver in time.
    let mut subscription =
        Subscription::new(other.clone(), 0).poll_interval(Duration::from_secs(3600));
    let reader = tokio::spawn(async move { subscription.next().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let appended = store
        .append("s", ExpectedVersion::Any, vec![event("x")])
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        head.wait_for(|&p| p >= appended.position),
    )
    .await
    .expect("the other instance's head moves on NOTIFY")
    .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got.position, appended.position);
}

mod typed {
    //! A corrupt payload or an unknown event name, inserted with raw SQL, is an error through the
    //! typed layer that names the stream and the version: never a panic.

    use es_core::codec::Codec;
    use es_core::{Aggregate, AggregateCommand, App, Command, CommandError, Error, EventSet};
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    use super::postgres_support::{raw, store};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Added {
        n: u64,
    }

    #[derive(Debug, Clone, PartialEq)]
    enum CounterEvent {
        Added(Added),
    }

    impl EventSet for CounterEvent {
        const NAMES: &'static [&'static str] = &["Added"];

        fn name(&self) -> &'static str {
            "Added"
        }

        fn version(&self) -> u16 {
            1
        }

        fn encode<C: Codec>(&self, codec: &C) -> Result<Vec<u8>, Error> {
            let Self::Added(added) = self;
            codec.encode(added).map_err(|source| Error::Encode {
                event: "Added".into(),
                source,
            })
        }

        fn decode<C: Codec>(
            codec: &C,
            name: &str,
            _schema_version: u16,
            payload: &[u8],
        ) -> Result<Self, Error> {
            match name {
                "Added" => codec
                    .decode(payload)
                    .map(Self::Added)
                    .map_err(|source| Error::Decode {
                        stream: String::new(),
                        version: 0,
                        event: name.into(),
                        source,
                    }),
                _ => Err(Error::UnknownEvent {
                    stream: String::new(),
                    version: 0,
                    event: name.into(),
                    known: Self::NAMES,
                }),
            }
        }
    }

    #[derive(Debug, Clone, Default)]
    struct Counter {
        total: u64,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    struct Never;

    #[derive(Debug, Clone)]
    struct Add {
        id: String,
        n: u64,
    }

    impl Command for Add {
        type Id = String;
        fn aggregate_id(&self) -> &String {
            &self.id
        }
    }

    impl AggregateCommand for Add {
        type Aggregate = Counter;
        fn into_command(self) -> Add {
            self
        }
    }

    impl Aggregate for Counter {
        const NAME: &'static str = "counter";
        type Event = CounterEvent;
        type Command = Add;
        type Error = Never;
        type Services = ();

        fn apply(&mut self, event: &CounterEvent) {
            let CounterEvent::Added(added) = event;
            self.total += added.n;
        }

        fn handle(
            &self,
            command: Add,
            _services: &(),
        ) -> impl std::future::Future<Output = Result<Vec<CounterEvent>, Never>> + Send {
            std::future::ready(Ok(vec![CounterEvent::Added(Added { n: command.n })]))
        }
    }

    /// Inserts one event row as a foreign writer would, under the append lock.
    async fn insert_raw(
        client: &tokio_postgres::Client,
        stream: &str,
        version: i64,
        name: &str,
        payload: &[u8],
    ) {
        client
            .batch_execute("BEGIN; SELECT FROM es_append_lock WHERE id = 1 FOR UPDATE")
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO es_events (position, stream, version, id, name, schema_version, \
                                        payload, timestamp_us) \
                 SELECT coalesce(max(position), 0) + 1, $1, $2, $3, $4, 1, $5, 0 FROM es_events",
                &[&stream, &version, &Uuid::now_v7(), &name, &payload],
            )
            .await
            .expect("raw insert");
        client.batch_execute("COMMIT").await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn corrupt_rows_are_errors_naming_stream_and_version() {
        let Some((store, url, schema)) = store("typed").await else {
            return;
        };
        let app = App::builder(store.clone())
            .aggregate::<Counter>()
            .build()
            .expect("build the app");
        app.send(Add {
            id: "c1".into(),
            n: 2,
        })
        .await
        .unwrap();
        let client = raw(&url, &schema).await;
        insert_raw(&client, "counter-c1", 2, "Added", b"{not json").await;
        insert_raw(&client, "counter-c2", 1, "Vanished", b"{}").await;

        // Through send: the cached state is stale, the append conflicts, the catch-up decodes.
        let error = app
            .send(Add {
                id: "c1".into(),
                n: 1,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&error, CommandError::Store(Error::Decode { stream, version: 2, event, .. })
                if stream == "counter-c1" && event == "Added"),
            "{error:?}"
        );
        eprintln!("send: {error}");
        // Through load, by a fresh app.
        let fresh = App::builder(store.clone())
            .aggregate::<Counter>()
            .build()
            .expect("build the app");
        let error = fresh.load::<Counter>("c1").await.unwrap_err();
        assert!(
            error.to_string().contains("counter-c1") && error.to_string().contains("version 2"),
            "{error}"
        );
        let error = fresh.load::<Counter>("c2").await.unwrap_err();
        assert!(
            matches!(&error, CommandError::Store(Error::UnknownEvent { stream, version: 1, event, .. })
                if stream == "counter-c2" && event == "Vanished"),
            "{error:?}"
        );
        eprintln!("load: {error}");
        let (state, version) = fresh.load::<Counter>("c3").await.unwrap();
        assert_eq!((state.total, version), (0, 0));
    }
}

/// A store of this test's own with a pool of one connection (so a connection a stopped fold
/// left behind is the one the next read gets), holding the 5,000 events of stream `long`.
async fn one_connection_with_a_long_stream(
    test: &str,
) -> Option<(PostgresEventStore, Vec<NewEvent>)> {
    let (_store, url, schema) = store(test).await?;
    let store = PostgresEventStore::builder(url_in(&url, &schema))
        .pool_size(1)
        .connect()
        .await
        .expect("connect with one connection");
    let events: Vec<NewEvent> = (0..5_000)
        .map(|n| event(&format!("{{\"n\":{n}}}")))
        .collect();
    store
        .append("long", ExpectedVersion::NoStream, events.clone())
        .await
        .unwrap();
    Some((store, events))
}

/// A replay folds the rows as they arrive: a fold stopped by its callback's error part way
/// through a long stream leaves the connection (the pool's only one) fit for the next read,
/// and a fold sees the payloads byte for byte, in version order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fold_stopped_mid_stream_leaves_its_connection_usable() {
    let Some((store, events)) = one_connection_with_a_long_stream("fold_stop").await else {
        return;
    };
    let mut seen = 0;
    let stopped = store
        .fold_stream("long", 1, usize::MAX, &mut |_| {
            seen += 1;
            if seen == 10 {
                return Err(Error::backend("stop here"));
            }
            Ok(())
        })
        .await;
    assert!(
        seen == 10 && matches!(stopped, Err(Error::Backend(_))),
        "{seen} calls, {stopped:?}"
    );
    let mut folded = Vec::new();
    let count = store
        .fold_stream("long", 4_001, usize::MAX, &mut |replayed| {
            assert_eq!(replayed.stream, "long");
            folded.push((replayed.version, replayed.payload.to_vec()));
            Ok(())
        })
        .await
        .expect("a fold after the stopped one");
    let want: Vec<(u64, Vec<u8>)> = (4_001..=5_000)
        .zip(&events[4_000..])
        .map(|(version, event)| (version, event.payload.to_vec()))
        .collect();
    assert_eq!(count, 1_000);
    assert_eq!(folded, want);
    assert_eq!(
        store
            .read_stream("long", 1, usize::MAX)
            .await
            .unwrap()
            .len(),
        5_000
    );
}

/// A projection's fold of the global log stopped by its callback mid-stream (the rows after it
/// still coming) returns the connection to the pool in a state the next read can use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fold_of_the_log_stopped_mid_stream_leaves_its_connection_usable() {
    let Some((store, events)) = one_connection_with_a_long_stream("fold_all_stop").await else {
        return;
    };
    let mut seen = 0;
    let stopped = store
        .fold_all(0, usize::MAX, &mut |_| {
            seen += 1;
            if seen == 10 {
                return Err(Error::backend("stop here"));
            }
            Ok(())
        })
        .await;
    assert!(
        seen == 10 && matches!(stopped, Err(Error::Backend(_))),
        "{seen} calls, {stopped:?}"
    );
    let mut folded = Vec::new();
    let count = store
        .fold_all(4_000, usize::MAX, &mut |event| {
            folded.push((event.position, event.payload.to_vec()));
            Ok(())
        })
        .await
        .expect("a fold after the stopped one");
    let want: Vec<(u64, Vec<u8>)> = (4_001..=5_000)
        .zip(&events[4_000..])
        .map(|(position, event)| (position, event.payload.to_vec()))
        .collect();
    assert_eq!(count, 1_000);
    assert_eq!(folded, want);
    assert_eq!(store.read_all(0, usize::MAX).await.unwrap().len(), 5_000);
}

/// A session whose first appends meet an empty table keeps using indexes: PL/pgSQL caches its
/// plans (a generic plan from the sixth call), and one made on an empty `es_events` would scan
/// the whole table on every later append. Counted within one transaction, where this session's
/// statistics are exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_from_an_empty_table_use_indexes() {
    let Some((_store, url, schema)) = store("plans_on_empty").await else {
        return;
    };
    let client = raw(&url, &schema).await;
    client.batch_execute("BEGIN").await.unwrap();
    for n in 0..50 {
        raw_append(&client, &format!("s-{n}"), Uuid::now_v7()).await;
    }
    let row = client
        .query_one(
            "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables \
             WHERE relname = 'es_events' AND schemaname = current_schema()",
            &[],
        )
        .await
        .unwrap();
    let (seq_scans, index_scans): (i64, i64) = (row.get(0), row.get(1));
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        seq_scans, 0,
        "50 appends scanned es_events {seq_scans} times"
    );
    assert!(
        index_scans >= 50,
        "only {index_scans} index scans for 50 appends"
    );
}

#[tokio::test]
async fn a_missing_or_malformed_schema_is_a_clear_error() {
    let Some(url) = postgres_support::url("missing_schema") else {
        return;
    };
    let missing = PostgresEventStore::connect(&postgres_support::url_in(&url, "es_no_such_schema"))
        .await
        .expect_err("no schema of the search_path exists");
    let chain = error_chain(&missing);
    assert!(
        chain.contains("no schema of the connection's search_path exists"),
        "{chain}"
    );
    let missing = PostgresEventStore::builder(url.clone())
        .schema("es_no_such_schema")
        .connect()
        .await
        .expect_err("the schema does not exist");
    assert!(error_chain(&missing).contains("search_path"), "{missing:?}");
    let malformed = PostgresEventStore::builder(url)
        .schema("x; DROP TABLE es_events")
        .connect()
        .await
        .expect_err("not a plain schema name");
    let chain = error_chain(&malformed);
    assert!(chain.contains("is not a plain schema name"), "{chain}");
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_schema_keeps_its_case() {
    let Some(url) = postgres_support::url("schema_case") else {
        return;
    };
    let admin = postgres_support::raw(&url, "public").await;
    admin
        .batch_execute(
            r#"DROP SCHEMA IF EXISTS "EsMixedCase" CASCADE; CREATE SCHEMA "EsMixedCase""#,
        )
        .await
        .expect("create the schema");
    let store = PostgresEventStore::builder(url)
        .schema("EsMixedCase")
        .connect()
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let tables: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'EsMixedCase' AND tablename = 'es_events'",
            &[],
        )
        .await
        .expect("query")
        .get(0);
    assert_eq!(tables, 1, "the tables are in the schema as written");
}

#[tokio::test]
async fn the_connect_timeout_covers_a_server_that_never_answers() {
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let connecting =
        PostgresEventStore::builder(format!("postgres://nobody@127.0.0.1:{port}/none"))
            .connect_timeout(Duration::from_millis(300))
            .connect();
    // The bound only keeps a broken timeout from hanging the suite.
    let outcome = tokio::time::timeout(Duration::from_secs(30), connecting)
        .await
        .expect("the connect timeout ended the attempt");
    assert!(outcome.is_err(), "a silent server cannot be connected to");
    silent.abort();
}
