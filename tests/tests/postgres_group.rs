//! The PostgreSQL group commit: the appends queued while the writer is busy go to the server as
//! one `es_append_group` call, and each comes back exactly as it would alone, in order: a
//! refused append leaves its neighbours committed, appends to one stream see each other, a
//! retried group returns the stored results. Also the upgrade of a schema version 4 database.
//! Needs `ES_POSTGRES_URL` (`scripts/postgres start`).

mod postgres_support;

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use es_core::store::{AppendResult, EventStore, ExpectedVersion, PostgresEventStore, StreamAppend};
use es_core::{Error, NewEvent};
use postgres_support::{fresh_schema, raw, url, url_in, wait_until_blocked};

fn event(payload: &str) -> NewEvent {
    NewEvent::new("Happened", 1, payload.as_bytes().to_vec())
}

/// One append of a group, as the store answers it (a one-stream append as one result).
type Append = Pin<Box<dyn Future<Output = Result<Vec<AppendResult>, Error>> + Send>>;

fn one(
    store: &PostgresEventStore,
    stream: &str,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) -> Append {
    let (store, stream) = (store.clone(), stream.to_owned());
    Box::pin(async move {
        store
            .append(&stream, expected, events)
            .await
            .map(|result| vec![result])
    })
}

fn many(store: &PostgresEventStore, parts: Vec<StreamAppend>) -> Append {
    let store = store.clone();
    Box::pin(async move { store.append_streams(parts).await })
}

/// A store in a fresh schema whose connections name themselves, so a test can see them wait.
async fn group_store(test: &str) -> Option<(PostgresEventStore, String, String)> {
    let url = url(test)?;
    let schema = fresh_schema(&url, test).await;
    let named = format!("{}&application_name=es_group_{test}", url_in(&url, &schema));
    let store = PostgresEventStore::connect(&named)
        .await
        .expect("connect the store");
    store.migrate().await.expect("migrate");
    Some((store, url, schema))
}

/// Runs `appends` as one group: a raw transaction holds the append lock while a first append
/// takes the writer and waits for it, the appends queue behind it in order (one poll each),
/// then the lock is released. Returns their results and how many transactions wrote the
/// events of `streams` (1 when the group committed as one).
async fn in_one_group(
    store: &PostgresEventStore,
    url: &str,
    schema: &str,
    test: &str,
    appends: Vec<Append>,
    streams: &[&str],
) -> (Vec<Result<Vec<AppendResult>, Error>>, i64) {
    let holder = raw(url, schema).await;
    holder
        .batch_execute("BEGIN; SELECT FROM es_append_lock WHERE id = 1 FOR UPDATE")
        .await
        .unwrap();
    let blocker = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .append("blocker", ExpectedVersion::Any, vec![event("b")])
                .await
        }
    });
    wait_until_blocked(&raw(url, schema).await, &format!("es_group_{test}")).await;
    let mut appends = appends;
    let mut outputs: Vec<Option<Result<Vec<AppendResult>, Error>>> =
        appends.iter().map(|_| None).collect();
    // The first poll of each sends its request to the writer's queue, in this order.
    poll_fn(|cx| {
        for (append, output) in appends.iter_mut().zip(outputs.iter_mut()) {
            if let Poll::Ready(result) = append.as_mut().poll(cx) {
                *output = Some(result);
            }
        }
        Poll::Ready(())
    })
    .await;
    holder.batch_execute("ROLLBACK").await.unwrap();
    blocker.await.unwrap().expect("the blocking append commits");
    let mut results = Vec::with_capacity(appends.len());
    for (append, output) in appends.into_iter().zip(outputs) {
        results.push(match output {
            Some(result) => result,
            None => append.await,
        });
    }
    let streams: Vec<String> = streams.iter().map(|&s| s.to_owned()).collect();
    let transactions: i64 = raw(url, schema)
        .await
        .query_one(
            "SELECT count(DISTINCT xmin::text) FROM es_events WHERE stream = ANY($1)",
            &[&streams],
        )
        .await
        .unwrap()
        .get(0);
    (results, transactions)
}

fn landed(first_version: u64, version: u64, first_position: u64, position: u64) -> AppendResult {
    AppendResult {
        first_version,
        version,
        first_position,
        position,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_append_leaves_its_group_neighbours_committed() {
    let test = "refused_in_group";
    let Some((store, url, schema)) = group_store(test).await else {
        return;
    };
    let appends = vec![
        one(&store, "g-1", ExpectedVersion::NoStream, vec![event("1")]),
        one(&store, "g-2", ExpectedVersion::Exact(5), vec![event("x")]),
        one(
            &store,
            "g-3",
            ExpectedVersion::NoStream,
            vec![event("3a"), event("3b")],
        ),
        // A multi-stream append whose guard fails writes none of its parts.
        many(
            &store,
            vec![
                StreamAppend::new("g-4", ExpectedVersion::NoStream, vec![event("x")]),
                StreamAppend::new("g-2", ExpectedVersion::Exact(3), Vec::new()),
            ],
        ),
        many(
            &store,
            vec![
                StreamAppend::new("g-5", ExpectedVersion::NoStream, vec![event("5")]),
                StreamAppend::new("g-1", ExpectedVersion::Exact(1), Vec::new()),
            ],
        ),
    ];
    let streams = ["g-1", "g-2", "g-3", "g-4", "g-5"];
    let (results, transactions) =
        in_one_group(&store, &url, &schema, test, appends, &streams).await;
    assert_eq!(transactions, 1, "the group committed in one transaction");
    let mut results = results.into_iter();
    // The blocker took position 1.
    assert_eq!(results.next().unwrap().unwrap(), [landed(1, 1, 2, 2)]);
    assert!(
        matches!(results.next().unwrap(), Err(Error::Conflict { stream, actual: 0, .. }) if stream == "g-2")
    );
    assert_eq!(results.next().unwrap().unwrap(), [landed(1, 2, 3, 4)]);
    assert!(
        matches!(results.next().unwrap(), Err(Error::Conflict { stream, actual: 0, .. }) if stream == "g-2")
    );
    assert_eq!(
        results.next().unwrap().unwrap(),
        [landed(1, 1, 5, 5), landed(2, 1, 6, 5)]
    );
    let all: Vec<(String, u64, u64)> = store
        .read_all(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.stream.to_string(), e.version, e.position))
        .collect();
    let expected = [
        ("blocker", 1, 1),
        ("g-1", 1, 2),
        ("g-3", 1, 3),
        ("g-3", 2, 4),
        ("g-5", 1, 5),
    ];
    assert_eq!(
        all,
        expected.map(|(s, v, p)| (s.to_owned(), v, p)),
        "positions stay gapless around the refused appends"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_to_one_stream_in_one_group_see_each_other() {
    let test = "one_stream_in_group";
    let Some((store, url, schema)) = group_store(test).await else {
        return;
    };
    let first = vec![event("1")];
    let appends = vec![
        one(&store, "s", ExpectedVersion::NoStream, first.clone()),
        one(
            &store,
            "s",
            ExpectedVersion::Exact(1),
            vec![event("2"), event("3")],
        ),
        one(&store, "s", ExpectedVersion::NoStream, vec![event("x")]),
        // The first append again: its ids are stored by this group, so it is a retry.
        one(&store, "s", ExpectedVersion::NoStream, first),
        one(&store, "s", ExpectedVersion::Exact(3), vec![event("4")]),
        many(
            &store,
            vec![
                StreamAppend::new("t", ExpectedVersion::NoStream, vec![event("t")]),
                StreamAppend::new("s", ExpectedVersion::Exact(4), Vec::new()),
            ],
        ),
    ];
    let (results, transactions) =
        in_one_group(&store, &url, &schema, test, appends, &["s", "t"]).await;
    assert_eq!(transactions, 1, "the group committed in one transaction");
    let mut results = results.into_iter();
    assert_eq!(results.next().unwrap().unwrap(), [landed(1, 1, 2, 2)]);
    assert_eq!(results.next().unwrap().unwrap(), [landed(2, 3, 3, 4)]);
    assert!(
        matches!(results.next().unwrap(), Err(Error::Conflict { stream, actual: 3, .. }) if stream == "s")
    );
    assert_eq!(
        results.next().unwrap().unwrap(),
        [landed(1, 1, 2, 2)],
        "the retry returns the stored result"
    );
    assert_eq!(results.next().unwrap().unwrap(), [landed(4, 4, 5, 5)]);
    assert_eq!(
        results.next().unwrap().unwrap(),
        [landed(1, 1, 6, 6), landed(5, 4, 7, 6)]
    );
    assert_eq!(store.stream_version("s").await.unwrap(), 4);
    assert_eq!(store.read_all(0, 100).await.unwrap().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_group_returns_the_stored_results() {
    let test = "retried_group";
    let Some((store, url, schema)) = group_store(test).await else {
        return;
    };
    let (a, b, c) = (
        vec![event("a")],
        vec![event("b1"), event("b2")],
        vec![event("c")],
    );
    let parts = vec![
        StreamAppend::new("r-c", ExpectedVersion::NoStream, c.clone()),
        StreamAppend::new("r-a", ExpectedVersion::Exact(1), Vec::new()),
    ];
    let group = |store: &PostgresEventStore| {
        vec![
            one(store, "r-a", ExpectedVersion::NoStream, a.clone()),
            one(store, "r-b", ExpectedVersion::Any, b.clone()),
            many(store, parts.clone()),
        ]
    };
    let streams = ["r-a", "r-b", "r-c"];
    let (first, _) = in_one_group(&store, &url, &schema, test, group(&store), &streams).await;
    let first: Vec<Vec<AppendResult>> = first.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        first,
        [
            vec![landed(1, 1, 2, 2)],
            vec![landed(1, 2, 3, 4)],
            vec![landed(1, 1, 5, 5), landed(2, 1, 6, 5)]
        ]
    );
    let (again, transactions) =
        in_one_group(&store, &url, &schema, test, group(&store), &streams).await;
    let again: Vec<Vec<AppendResult>> = again.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        again, first,
        "each append of the retried group returns its stored result"
    );
    assert_eq!(transactions, 1, "the retry wrote nothing to its streams");
    // A stored id with a new one is a duplicate, and refuses only its own append.
    let mixed = vec![a[0].clone(), event("new")];
    let appends = vec![
        one(&store, "r-a", ExpectedVersion::NoStream, mixed),
        one(&store, "r-d", ExpectedVersion::NoStream, vec![event("d")]),
    ];
    let (results, _) = in_one_group(&store, &url, &schema, test, appends, &["r-d"]).await;
    let mut results = results.into_iter();
    assert!(matches!(
        results.next().unwrap(),
        Err(Error::DuplicateEvent { stream, version: 1, event_id, .. }) if stream == "r-a" && event_id == a[0].id
    ));
    // The three blockers took positions 1, 6 and 7.
    assert_eq!(results.next().unwrap().unwrap(), [landed(1, 1, 8, 8)]);
}

/// A database at schema version 4 (written by the per-append functions) migrates to version 5,
/// and what it stored before is retried and appended to through the group function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_4_database_migrates_to_the_group_function() {
    let Some(url) = url("migrate_from_4") else {
        return;
    };
    let schema = fresh_schema(&url, "migrate_from_4").await;
    let client = raw(&url, &schema).await;
    client
        .batch_execute(
            "CREATE TABLE es_schema_version (version integer NOT NULL PRIMARY KEY, \
             applied_at timestamptz NOT NULL DEFAULT now()); \
             INSERT INTO es_schema_version (version) VALUES (1), (2), (3), (4)",
        )
        .await
        .unwrap();
    for sql in [
        include_str!("../../es-core/src/store/postgres/schema.sql"),
        include_str!("../../es-core/src/store/postgres/schema_2.sql"),
        include_str!("../../es-core/src/store/postgres/schema_3.sql"),
        include_str!("../../es-core/src/store/postgres/schema_4.sql"),
    ] {
        client.batch_execute(sql).await.unwrap();
    }
    let stored = event("old");
    client
        .execute(
            "SELECT FROM es_append('old', 1::smallint, 0, ARRAY[$1::uuid], ARRAY['Happened'], \
             ARRAY[1], ARRAY['\\x41'::bytea], ARRAY[0::bigint], ARRAY[NULL::uuid], \
             ARRAY[NULL::uuid], ARRAY[NULL::text])",
            &[&stored.id],
        )
        .await
        .unwrap();

    let store = PostgresEventStore::connect(&url_in(&url, &schema))
        .await
        .unwrap();
    store.migrate().await.expect("migrate from version 4");
    let version: i32 = client
        .query_one("SELECT max(version) FROM es_schema_version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 5);
    // A call to several streams' function is a group even alone (a lone one-stream append
    // goes through `es_append`).
    let retried = store
        .append_streams(vec![StreamAppend::new(
            "old",
            ExpectedVersion::NoStream,
            vec![stored],
        )])
        .await
        .expect("the retry of an event stored under version 4");
    assert_eq!(retried, [landed(1, 1, 1, 1)]);
    let next = store
        .append_streams(vec![StreamAppend::new(
            "old",
            ExpectedVersion::Exact(1),
            vec![event("new")],
        )])
        .await
        .unwrap();
    assert_eq!(next, [landed(2, 2, 2, 2)]);
    let lone = store
        .append("old", ExpectedVersion::Exact(2), vec![event("lone")])
        .await
        .unwrap();
    assert_eq!(lone, landed(3, 3, 3, 3));
}

/// `es_append_group` plans with indexes only, on a session whose first calls meet an empty
/// table (see schema version 3): counted within one transaction, where this session's
/// statistics are exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_calls_from_an_empty_table_use_indexes() {
    let Some(url) = url("group_plans_on_empty") else {
        return;
    };
    let schema = fresh_schema(&url, "group_plans_on_empty").await;
    let store = PostgresEventStore::connect(&url_in(&url, &schema))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let client = raw(&url, &schema).await;
    client.batch_execute("BEGIN").await.unwrap();
    for n in 0..50 {
        let stream = format!("s-{n}");
        let id = NewEvent::new("Happened", 1, b"A".to_vec()).id;
        client
            .execute(
                "SELECT FROM es_append_group(ARRAY[1, 2], ARRAY[$1, 'guarded'], \
                 ARRAY[0, 0]::smallint[], ARRAY[0, 0]::bigint[], ARRAY[1, 0], ARRAY[$2::uuid], \
                 ARRAY['Happened'], ARRAY[1], ARRAY['\\x41'::bytea], ARRAY[0::bigint], \
                 ARRAY[NULL::uuid], ARRAY[NULL::uuid], ARRAY[NULL::text])",
                &[&stream, &id],
            )
            .await
            .unwrap();
        // A retry: the lookup of stored ids runs too.
        client
            .execute(
                "SELECT FROM es_append_group(ARRAY[1], ARRAY[$1], ARRAY[0::smallint], \
                 ARRAY[0::bigint], ARRAY[1], ARRAY[$2::uuid], ARRAY['Happened'], ARRAY[1], \
                 ARRAY['\\x41'::bytea], ARRAY[0::bigint], ARRAY[NULL::uuid], \
                 ARRAY[NULL::uuid], ARRAY[NULL::text])",
                &[&stream, &id],
            )
            .await
            .unwrap();
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
        "100 group calls scanned es_events {seq_scans} times"
    );
    assert!(
        index_scans >= 100,
        "only {index_scans} index scans for 100 group calls"
    );
}

/// Random groups decide each append exactly as `es_append_streams` does one append at a time:
/// the same rows, the same table (`postgres_group_random.sql`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_groups_match_appends_one_by_one() {
    let Some((_store, url, schema)) = postgres_support::store("group_random").await else {
        return;
    };
    let client = raw(&url, &schema).await;
    client.batch_execute("BEGIN").await.unwrap();
    client
        .batch_execute(include_str!("postgres_group_random.sql"))
        .await
        .unwrap();
    let mut groups = 0;
    for seed in 1..=300 {
        client.batch_execute("SAVEPOINT run").await.unwrap();
        let outcome: String = client
            .query_one(
                "SELECT pg_temp.group_against_parts(60, $1::float8 / 1000)",
                &[&f64::from(seed)],
            )
            .await
            .unwrap()
            .get(0);
        client
            .batch_execute("ROLLBACK TO SAVEPOINT run")
            .await
            .unwrap();
        let (ran, rest) = outcome
            .split_once(" groups, ")
            .expect("the count of groups");
        assert!(rest.starts_with("0 mismatches"), "seed {seed}: {outcome}");
        groups += ran.parse::<u32>().unwrap();
    }
    client.batch_execute("ROLLBACK").await.unwrap();
    assert!(groups > 1_000, "only {groups} groups ran");
}
