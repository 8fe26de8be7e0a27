//! The store conformance suite on [`PostgresEventStore`], directly and behind
//! `AnyEventStore`, plus the cases that need a second connection or SQL.
//! Needs `ES_POSTGRES_URL` (`scripts/test`, or `eval "$(scripts/postgres env)"`); without it
//! every test says so and passes, except under CI.

mod postgres_support;

use es_core::testing::conformance::{self, StalledAppend};
use es_core::{AnyEventStore, AppendResult, Error, NewEvent, PostgresEventStore};
use postgres_support::{raw, url, url_in};
use uuid::Uuid;

/// The schema every generated case of this process shares (each case names its own streams).
fn schema() -> String {
    format!("es_t_conformance_{}", std::process::id())
}

/// Creates this process's schema once (replacing those of earlier runs) and migrates it.
async fn shared_store() -> Option<PostgresEventStore> {
    let url = url("conformance")?;
    let schema = schema();
    let client = raw(&url, "public").await;
    client
        .batch_execute(&format!(
            "SELECT pg_advisory_lock(hashtext('es_t_conformance')); \
             DO $$ DECLARE s text; BEGIN \
                 IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = '{schema}') THEN \
                     FOR s IN SELECT nspname FROM pg_namespace \
                              WHERE nspname ~ '^es_t_conformance_[0-9]+$' LOOP \
                         EXECUTE format('DROP SCHEMA %I CASCADE', s); \
                     END LOOP; \
                     CREATE SCHEMA {schema}; \
                 END IF; \
             END $$; \
             SELECT pg_advisory_unlock(hashtext('es_t_conformance'))"
        ))
        .await
        .expect("create the conformance schema");
    let store = second_instance(&url).await;
    store.migrate().await.expect("migrate");
    Some(store)
}

/// Another store instance (its own pool and listener) on the shared schema.
async fn second_instance(url: &str) -> PostgresEventStore {
    PostgresEventStore::connect(&url_in(url, &schema()))
        .await
        .expect("connect the store")
}

es_core::conformance_tests!(
    postgres,
    optional shared_store(),
    |_first: &PostgresEventStore| async {
        second_instance(&std::env::var("ES_POSTGRES_URL").expect("set for the first")).await
    },
);

/// Writer A of cases 13 and 14: a raw connection inside a transaction that has run `es_append`
/// (so it holds the append lock and has taken its positions) and not committed.
struct RawStall {
    client: tokio_postgres::Client,
    result: AppendResult,
}

impl StalledAppend for RawStall {
    async fn commit(self) -> Result<AppendResult, Error> {
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(Error::backend)?;
        Ok(self.result)
    }

    async fn roll_back(self) -> Result<(), Error> {
        self.client
            .batch_execute("ROLLBACK")
            .await
            .map_err(Error::backend)
    }
}

/// Starts writer A: `events` as a new stream, held open before its commit.
async fn stall(url: String, schema: String, stream: String, events: Vec<NewEvent>) -> RawStall {
    let client = raw(&url, &schema).await;
    client.batch_execute("BEGIN").await.unwrap();
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let names: Vec<&str> = events.iter().map(|e| &*e.name).collect();
    let schema_versions: Vec<i32> = events.iter().map(|e| i32::from(e.schema_version)).collect();
    let payloads: Vec<&[u8]> = events.iter().map(|e| &e.payload[..]).collect();
    let timestamps: Vec<i64> = events.iter().map(|e| e.metadata.timestamp.0).collect();
    let correlation: Vec<Option<Uuid>> = events.iter().map(|e| e.metadata.correlation_id).collect();
    let causation: Vec<Option<Uuid>> = events.iter().map(|e| e.metadata.causation_id).collect();
    let extras: Vec<Option<String>> = events
        .iter()
        .map(|e| {
            (!e.metadata.extra.is_empty())
                .then(|| serde_json::to_string(&e.metadata.extra).unwrap())
        })
        .collect();
    let row = client
        .query_one(
            "SELECT o_status, o_first_version, o_version, o_first_position, o_position \
             FROM es_append($1, 1::smallint, 0, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &stream,
                &ids,
                &names,
                &schema_versions,
                &payloads,
                &timestamps,
                &correlation,
                &causation,
                &extras,
            ],
        )
        .await
        .expect("the stalled append runs");
    assert_eq!(row.get::<_, i16>(0), 0, "the stalled append is accepted");
    let field = |index: usize| u64::try_from(row.get::<_, i64>(index)).unwrap();
    let result = AppendResult {
        first_version: field(1),
        version: field(2),
        first_position: field(3),
        position: field(4),
    };
    RawStall { client, result }
}

/// A fresh schema and store of its own, for the cases with hooks.
async fn own_store(test: &str) -> Option<(PostgresEventStore, String, String)> {
    postgres_support::store(test).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gap_race() {
    let Some((store, url, schema)) = own_store("conf_gap_race").await else {
        return;
    };
    let hook = |url: &str, schema: &str| {
        let (url, schema) = (url.to_owned(), schema.to_owned());
        move |stream, events| stall(url, schema, stream, events)
    };
    conformance::gap_race(&store, hook(&url, &schema)).await;
    let shared = AnyEventStore::new(store);
    conformance::gap_race(&shared, hook(&url, &schema)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_append() {
    let Some((store, url, schema)) = own_store("conf_rollback").await else {
        return;
    };
    let hook = |url: &str, schema: &str| {
        let (url, schema) = (url.to_owned(), schema.to_owned());
        move |stream, events| stall(url, schema, stream, events)
    };
    conformance::rolled_back_append(&store, hook(&url, &schema)).await;
    let shared = AnyEventStore::new(store);
    conformance::rolled_back_append(&shared, hook(&url, &schema)).await;
}

/// Case 6: a stream put at a version past 2^32 by one row inserted with SQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_past_2_31() {
    let Some((store, url, schema)) = own_store("conf_high").await else {
        return;
    };
    let client = raw(&url, &schema).await;
    conformance::versions_past_2_31(&store, |stream, version| async move {
        let version = i64::try_from(version).unwrap();
        client
            .batch_execute("BEGIN; SELECT FROM es_append_lock WHERE id = 1 FOR UPDATE")
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO es_events (position, stream, version, id, name, schema_version, \
                                        payload, timestamp_us) \
                 SELECT coalesce(max(position), 0) + 1, $1, $2, $3, 'Seed', 1, ''::bytea, 0 \
                 FROM es_events",
                &[&stream, &version, &Uuid::now_v7()],
            )
            .await
            .expect("seed a stream at a high version");
        client.batch_execute("COMMIT").await.unwrap();
    })
    .await;
}
