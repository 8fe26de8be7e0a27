//! W2pg for eventually 0.4: a 100,000-event stream in eventually-postgres 0.2's tables, replayed
//! by `Repository::get` (the stream's rows, each JSON event decoded and applied), next to the
//! baseline: raw tokio-postgres 0.5 reading the same events from a table shaped like
//! `es_events` (name and JSON payload, as bench/compare's W2pg baseline reads them), decoding
//! and folding them. Rounds interleave; the table shows medians and the ratio to the baseline
//! measured in the same run. `COMPARE_QUICK=1`: one round at a tenth of the size.

// The timing and the sizes are bench/compare's, and so is the eventually aggregate, shared as
// source; this program uses only part of them.
#[allow(dead_code)]
#[path = "../../compare/src/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../../compare/src/peer_eventually.rs"]
mod peer_eventually;

use std::sync::Arc;

use eventually::postgres::{EventStore as PgStore, EventStoreBuilder};
use eventually::{AggregateRootBuilder, Repository};
use futures_util::TryStreamExt;
pub use harness::*;
use peer_eventually::{Account, BankAccount, BankEvent};
use serde::{Deserialize, Serialize};
use tokio_postgres::{Client, NoTls, Statement};

/// The schema this program writes (dropped and made again at each run).
const SCHEMA: &str = "es_compare_w2pg_eventually";

/// The baseline's table: the columns of `es_events` that a replay reads.
const RAW_TABLE: &str = "CREATE TABLE raw_events (stream text NOT NULL, version bigint NOT NULL, \
     name text NOT NULL, payload bytea NOT NULL, PRIMARY KEY (stream, version))";

fn main() {
    let runtime = runtime();
    let url = std::env::var("ES_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .expect("ES_POSTGRES_URL is not set: run `eval \"$(scripts/postgres env)\"` first");
    let postgres = runtime.block_on(Postgres::setup(&url));
    const W: &str = "W2pg replay a 100k-event stream from PostgreSQL (eventually-postgres, apart)";
    if quick() {
        eprintln!("QUICK MODE (COMPARE_QUICK): not a measurement");
    }
    eprintln!("| workload | run | median | per second | ratio |");
    eprintln!("|---|---|---:|---:|---:|");
    let [raw, eventually] = medians(
        &runtime,
        vec![
            run(|| postgres.raw_replay()),
            run(|| peer_eventually::w2(&postgres.repository)),
        ],
    )[..] else {
        unreachable!("two runs")
    };
    row(
        W,
        "raw tokio-postgres 0.5: one SELECT, serde_json + fold (baseline)",
        long(),
        raw,
        raw,
    );
    row(
        W,
        "eventually 0.4 (eventually-postgres 0.2): Repository::get",
        long(),
        eventually,
        raw,
    );
}

/// The stream in both tables, eventually's repository, and the baseline's connection.
struct Postgres {
    repository: Repository<BankAccount, PgStore<String, BankEvent>>,
    raw: Client,
    select: Statement,
    /// Drives every connection (tokio-postgres 0.5 needs a tokio 0.2 reactor); the clients
    /// send it their requests over channels, from the harness's runtime.
    _runtime: tokio02::runtime::Runtime,
}

impl Postgres {
    async fn setup(url: &str) -> Self {
        let runtime = tokio02::runtime::Builder::new()
            .threaded_scheduler()
            .core_threads(1)
            .enable_all()
            .build()
            .expect("a tokio 0.2 runtime");
        let admin = connect(&runtime, url).await;
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}"
            ))
            .await
            .expect("a fresh schema");
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{separator}options=-csearch_path%3D{SCHEMA}");

        // eventually-postgres as its documentation sets it up: its migrations, a builder, a
        // store per aggregate type.
        let mut client = connect(&runtime, &url).await;
        let builder = EventStoreBuilder::migrate_database(&mut client)
            .await
            .expect("eventually-postgres migrations")
            .builder(Arc::new(client));
        let mut store = builder
            .build::<String, BankEvent>("bank-account")
            .await
            .expect("the store");
        peer_eventually::seed_long(&mut store).await;
        let repository = Repository::new(AggregateRootBuilder::from(BankAccount), store);

        let raw = connect(&runtime, &url).await;
        raw.batch_execute(RAW_TABLE).await.expect("raw table");
        seed_raw(&raw).await;
        let select = raw
            .prepare("SELECT name, payload FROM raw_events WHERE stream = $1 ORDER BY version")
            .await
            .expect("prepare");
        Self {
            repository,
            raw,
            select,
            _runtime: runtime,
        }
    }

    /// The baseline: one SELECT of the stream's rows, each payload decoded by its name and
    /// folded; checks the result.
    async fn raw_replay(&self) {
        let rows = self
            .raw
            .query_raw(
                &self.select,
                [&LONG_STREAM as &dyn tokio_postgres::types::ToSql],
            )
            .await
            .expect("select");
        let mut rows = std::pin::pin!(rows);
        let mut state = Account::default();
        let mut version = 0;
        while let Some(row) = rows.try_next().await.expect("a row") {
            match row.get::<_, &str>(0) {
                "AccountOpened" => {
                    let _: AccountOpened = serde_json::from_slice(row.get(1)).expect("decode");
                    state.open = true;
                }
                "MoneyDeposited" => {
                    let event: MoneyDeposited = serde_json::from_slice(row.get(1)).expect("decode");
                    state.balance += event.amount;
                }
                name => panic!("unknown event {name}"),
            }
            version += 1;
        }
        assert_eq!(version, long());
        assert!(state.open);
        assert_eq!(state.balance, expected_long_balance());
    }
}

/// The baseline's stream, named as this framework names it.
const LONG_STREAM: &str = "bank-account-long";

/// The payloads as this framework encodes its events (JSON of the event struct).
#[derive(Serialize, Deserialize)]
struct AccountOpened {
    owner: String,
}

#[derive(Serialize, Deserialize)]
struct MoneyDeposited {
    amount: u64,
}

/// W2's stream in the baseline's table, 1,000 rows a statement.
async fn seed_raw(client: &Client) {
    let insert = client
        .prepare(
            "INSERT INTO raw_events (stream, version, name, payload) \
             SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::bytea[])",
        )
        .await
        .expect("prepare");
    let mut start = 0;
    while start < long() {
        let end = (start + 1_000).min(long());
        let mut versions = Vec::new();
        let mut names = Vec::new();
        let mut payloads = Vec::new();
        for n in start..end {
            versions.push(i64::try_from(n + 1).expect("a version"));
            let (name, payload) = match n {
                0 => (
                    "AccountOpened",
                    serde_json::to_vec(&AccountOpened {
                        owner: "owner".into(),
                    }),
                ),
                _ => (
                    "MoneyDeposited",
                    serde_json::to_vec(&MoneyDeposited { amount: 10 }),
                ),
            };
            names.push(name.to_owned());
            payloads.push(payload.expect("JSON"));
        }
        client
            .execute(&insert, &[&LONG_STREAM, &versions, &names, &payloads])
            .await
            .expect("seed the raw table");
        start = end;
    }
}

/// A client whose connection runs on `runtime`.
async fn connect(runtime: &tokio02::runtime::Runtime, url: &str) -> Client {
    let url = url.to_owned();
    let (client, connection) = runtime
        .spawn(async move { tokio_postgres::connect(&url, NoTls).await })
        .await
        .expect("the connect task")
        .expect("connect to ES_POSTGRES_URL");
    runtime.spawn(connection);
    client
}
