//! The PostgreSQL workloads: W3 (commands one after another), W3c (commands from 8 tasks) and W4
//! (a read model rebuilt from the log), each through the raw driver (the baseline), this
//! framework and postgres-es 0.5 (cqrs-es's PostgreSQL store).
//!
//! Each timed round of W3 and W3c writes into a schema of its own (`es_compare_es_0` ..),
//! created with its tables, connections and framework before any round is timed: every round
//! starts from the same state, empty tables, and none times its setup (the rows' rounds are
//! interleaved, as `medians` does for every workload). W4 reads one schema (`es_compare_w4`),
//! seeded once. The schemas stay in the database until the next run drops them.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use cqrs_es::EventEnvelope;
use cqrs_es::persist::{PersistedEventRepository, QueryReplay, SerializedEvent};
use es_core::prelude::*;
use es_core::{Json, NewEvent};
use futures_util::TryStreamExt;
use postgres_es::{PostgresCqrs, PostgresEventRepository, default_postgress_pool, postgres_cqrs};
use tokio::runtime::Runtime;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::ours::{self, AccountOpened, BankAccountEvent, MoneyDeposited, MoneyWithdrawn};
use crate::peer::{self, BankEvent};
use crate::{
    ACCOUNTS, COMMANDS_PER_ACCOUNT, ROUNDS, Run, TASK_ACCOUNTS, TASKS, W3_ACCOUNTS, is_deposit,
    medians, row, run,
};

/// W4's log: `ACCOUNTS` accounts of `COMMANDS_PER_ACCOUNT` events.
const W4_EVENTS: u64 = ACCOUNTS * COMMANDS_PER_ACCOUNT;

/// The raw baseline's table: an event's columns as `es_events` types them (payload `bytea`),
/// with the same uniqueness of (stream, version) and of the id.
const RAW_TABLE: &str = "CREATE TABLE raw_events (id uuid PRIMARY KEY, stream text NOT NULL, \
     version bigint NOT NULL, name text NOT NULL, payload bytea NOT NULL, \
     UNIQUE (stream, version))";
const RAW_INSERT: &str =
    "INSERT INTO raw_events (id, stream, version, name, payload) VALUES ($1, $2, $3, $4, $5)";

/// postgres-es's tables, as its `db/init.sql` creates them (without its sample view, row and
/// user).
const CQRS_TABLES: &str = "CREATE TABLE events ( \
         aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
         sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, \
         event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL, \
         PRIMARY KEY (aggregate_type, aggregate_id, sequence)); \
     CREATE TABLE snapshots ( \
         aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
         last_sequence bigint CHECK (last_sequence >= 0) NOT NULL, \
         current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL, \
         payload json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))";

/// W3: 100 accounts x 100 commands, one after another.
pub fn w3(runtime: &Runtime) {
    const W: &str = "W3 commands, PostgreSQL, sequential";
    let url = url();
    let commands = W3_ACCOUNTS * COMMANDS_PER_ACCOUNT;
    let raw = rounds(runtime, &url, "raw", |url| async move {
        Raw::setup(&url, 1).await
    });
    let apps = rounds(
        runtime,
        &url,
        "es",
        |url| async move { ours_app(&url).await },
    );
    let cqrs = rounds(runtime, &url, "cqrs", |url| async move { cqrs(&url).await });
    let [raw, framework, cqrs] = medians(
        runtime,
        vec![
            each(&raw, |raw| raw[0].insert_events(0..W3_ACCOUNTS)),
            each(&apps, |app| ours::send_commands(app, 0..W3_ACCOUNTS)),
            each(&cqrs, |cqrs| peer::execute_commands(cqrs, 0..W3_ACCOUNTS)),
        ],
    )[..] else {
        unreachable!("three runs")
    };
    row(
        W,
        "raw tokio-postgres: one INSERT per command (baseline)",
        commands,
        raw,
        raw,
    );
    row(W, "es (this framework)", commands, framework, raw);
    row(W, "postgres-es 0.5 (cqrs-es)", commands, cqrs, raw);
}

/// W3c: 8 tasks at once, each with its own 25 accounts x 100 commands.
pub fn w3c(runtime: &Runtime) {
    const W: &str = "W3c commands, PostgreSQL, 8 tasks";
    let url = url();
    let commands = TASKS * TASK_ACCOUNTS * COMMANDS_PER_ACCOUNT;
    let raw = rounds(runtime, &url, "raw", |url| async move {
        Raw::setup(&url, TASKS).await
    });
    let apps = rounds(
        runtime,
        &url,
        "es",
        |url| async move { ours_app(&url).await },
    );
    let cqrs = rounds(runtime, &url, "cqrs", |url| async move {
        Arc::new(cqrs(&url).await)
    });
    let [raw, framework, cqrs] = medians(
        runtime,
        vec![
            each(&raw, |raw| {
                in_tasks(|task| {
                    let raw = Arc::clone(&raw[usize::try_from(task).expect("a task index")]);
                    async move { raw.insert_events(task_accounts(task)).await }
                })
            }),
            each(&apps, |app| {
                in_tasks(|task| {
                    let app = app.clone();
                    async move { ours::send_commands(&app, task_accounts(task)).await }
                })
            }),
            each(&cqrs, |cqrs| {
                in_tasks(|task| {
                    let cqrs = Arc::clone(cqrs);
                    async move { peer::execute_commands(&cqrs, task_accounts(task)).await }
                })
            }),
        ],
    )[..] else {
        unreachable!("three runs")
    };
    row(
        W,
        "raw tokio-postgres: 8 connections (baseline)",
        commands,
        raw,
        raw,
    );
    row(
        W,
        "es (this framework): one shared App",
        commands,
        framework,
        raw,
    );
    row(
        W,
        "postgres-es 0.5 (cqrs-es): one shared framework",
        commands,
        cqrs,
        raw,
    );
}

/// W4 from PostgreSQL: the balance of each account, from a log of 100,000 events of 1,000
/// accounts, from nothing to caught up.
pub fn w4_postgres(runtime: &Runtime) {
    const W: &str = "W4 projection from PostgreSQL, 100k events";
    let url = url();
    let ((client, select), app, pool) = runtime.block_on(w4_seed(&url));
    let [raw, framework, cqrs] = medians(
        runtime,
        vec![
            // Streaming the rows of one SELECT measured faster than collecting them all first
            // (58 / 76 ms) and than reading by position in chunks of 1,024 (94 ms) or more.
            run(|| async {
                let rows = client
                    .query_raw(&select, std::iter::empty::<i64>())
                    .await
                    .expect("select");
                let mut rows = std::pin::pin!(rows);
                let mut balances = Balances::default();
                while let Some(row) = rows.try_next().await.expect("a row") {
                    let event =
                        BankAccountEvent::decode(&Json, row.get(1), 1, row.get(2)).expect("decode");
                    balances.fold(row.get(0), &event);
                }
                balances.check();
            }),
            run(|| async {
                let position = app
                    .rebuild(Balances::default(), |_| {})
                    .await
                    .expect("rebuild");
                assert_eq!(position, W4_EVENTS);
                let total = app.query(Total).await.expect("query");
                assert_eq!(total, Balances::expected_total());
            }),
            run(|| async {
                let balances = Arc::new(Mutex::new(Balances::default()));
                let mut replay = QueryReplay::new(
                    PostgresEventRepository::new(pool.clone()),
                    BalanceQuery(Arc::clone(&balances)),
                );
                // Without a handler, cqrs-es drops events that fail to load.
                replay.use_error_handler(Box::new(|error| panic!("replay: {error}")));
                replay.replay_all().await.expect("replay");
                balances.lock().expect("balances").check();
            }),
        ],
    )[..] else {
        unreachable!("three runs")
    };
    row(
        W,
        "raw: one SELECT, serde_json + fold (baseline)",
        W4_EVENTS,
        raw,
        raw,
    );
    row(W, "es (this framework): rebuild", W4_EVENTS, framework, raw);
    row(
        W,
        "postgres-es 0.5: QueryReplay::replay_all",
        W4_EVENTS,
        cqrs,
        raw,
    );
}

/// `ES_POSTGRES_URL`, required by every workload here.
fn url() -> String {
    std::env::var("ES_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .expect("ES_POSTGRES_URL is not set: run `eval \"$(scripts/postgres env)\"` first")
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to ES_POSTGRES_URL");
    tokio::spawn(connection);
    client
}

/// Drops and recreates schema `name`; returns the URL whose connections work in it.
async fn fresh_schema(url: &str, name: &str) -> String {
    connect(url)
        .await
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .await
        .expect("a fresh schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-csearch_path%3D{name}")
}

/// One state per timed round, each set up by `setup` in a fresh schema of its own
/// (`es_compare_{kind}_{round}`: the runs' rounds are interleaved, so all exist at once).
fn rounds<T, F: Future<Output = T>>(
    runtime: &Runtime,
    url: &str,
    kind: &str,
    setup: impl Fn(String) -> F,
) -> Vec<T> {
    (0..ROUNDS)
        .map(|round| {
            runtime.block_on(async {
                setup(fresh_schema(url, &format!("es_compare_{kind}_{round}")).await).await
            })
        })
        .collect()
}

/// A run whose rounds each take the next of `states`.
fn each<'a, T, F: Future<Output = ()> + 'a>(
    states: &'a [T],
    run_one: impl Fn(&'a T) -> F + 'a,
) -> Run<'a> {
    let mut states = states.iter();
    run(move || run_one(states.next().expect("a state per round")))
}

/// The accounts W3c's task `task` owns.
fn task_accounts(task: u64) -> Range<u64> {
    task * TASK_ACCOUNTS..(task + 1) * TASK_ACCOUNTS
}

/// Runs `task(0)` .. `task(TASKS - 1)` as concurrent tokio tasks, to the end of all.
async fn in_tasks<F>(task: impl Fn(u64) -> F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let handles: Vec<_> = (0..TASKS).map(|t| tokio::spawn(task(t))).collect();
    for handle in handles {
        handle.await.expect("a task");
    }
}

/// Event `n` of an account (0: the open, then deposits and withdrawals as the commands make
/// them), as its name and its JSON payload.
fn event(n: u64) -> (&'static str, Vec<u8>) {
    let event: BankAccountEvent = if n == 0 {
        AccountOpened {
            owner: "owner".into(),
        }
        .into()
    } else if is_deposit(n) {
        MoneyDeposited { amount: 10 }.into()
    } else {
        MoneyWithdrawn { amount: 5 }.into()
    };
    (event.name(), event.encode(&Json).expect("JSON"))
}

/// Event `n` of an account, as cqrs-es's event.
fn peer_event(n: u64) -> BankEvent {
    if n == 0 {
        BankEvent::AccountOpened {
            owner: "owner".into(),
        }
    } else if is_deposit(n) {
        BankEvent::MoneyDeposited { amount: 10 }
    } else {
        BankEvent::MoneyWithdrawn { amount: 5 }
    }
}

/// A connection of the raw baseline, with its INSERT prepared.
struct Raw {
    client: tokio_postgres::Client,
    insert: tokio_postgres::Statement,
}

impl Raw {
    /// The raw table in the schema of `url`, and `connections` connections to it.
    async fn setup(url: &str, connections: u64) -> Vec<Arc<Self>> {
        connect(url)
            .await
            .batch_execute(RAW_TABLE)
            .await
            .expect("raw table");
        let mut raw = Vec::new();
        for _ in 0..connections {
            let client = connect(url).await;
            let insert = client.prepare(RAW_INSERT).await.expect("prepare");
            raw.push(Arc::new(Self { client, insert }));
        }
        raw
    }

    /// The events the commands of `accounts` record, one autocommit INSERT (one round trip)
    /// each.
    async fn insert_events(&self, accounts: Range<u64>) {
        for account in accounts {
            let stream = ours::BankAccount::stream_name(&account);
            for (version, n) in (1_i64..).zip(0..COMMANDS_PER_ACCOUNT) {
                let (name, payload) = event(n);
                self.client
                    .execute(
                        &self.insert,
                        &[&Uuid::now_v7(), &stream, &version, &name, &payload],
                    )
                    .await
                    .expect("insert");
            }
        }
    }
}

/// This framework on the store in the schema of `url`, as its documentation sets it up.
async fn ours_app(url: &str) -> App<PostgresEventStore> {
    let store = PostgresEventStore::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    App::builder(store)
        .aggregate::<ours::BankAccount>()
        .build()
        .expect("build the app")
}

/// postgres-es on its tables in the schema of `url`, as its documentation sets it up.
async fn cqrs(url: &str) -> PostgresCqrs<peer::BankAccount> {
    connect(url)
        .await
        .batch_execute(CQRS_TABLES)
        .await
        .expect("postgres-es tables");
    postgres_cqrs(default_postgress_pool(url).await, vec![], ())
}

/// W4's schema: the same log in `es_events` (appended by the store, one append per account)
/// and in postgres-es's `events` (persisted by its repository, one transaction per account),
/// written from `TASKS` tasks so that commits overlap. Returns a raw connection
/// with the baseline's SELECT prepared, this framework's app with the projection, and
/// postgres-es's pool.
async fn w4_seed(
    url: &str,
) -> (
    (tokio_postgres::Client, tokio_postgres::Statement),
    App<PostgresEventStore>,
    sqlx::PgPool,
) {
    let url = fresh_schema(url, "es_compare_w4").await;
    let store = PostgresEventStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let client = connect(&url).await;
    client
        .batch_execute(CQRS_TABLES)
        .await
        .expect("postgres-es tables");
    let pool = default_postgress_pool(&url).await;
    seed(&store, &pool, 0..ACCOUNTS).await;
    let select = client
        .prepare("SELECT stream, name, payload FROM es_events ORDER BY position")
        .await
        .expect("prepare");
    let app = App::builder(store)
        .projection(Balances::default())
        .build()
        .expect("build the app");
    ((client, select), app, pool)
}

/// Writes the events of `accounts` to both logs, from `TASKS` tasks.
async fn seed(store: &PostgresEventStore, pool: &sqlx::PgPool, accounts: Range<u64>) {
    let per_task = (accounts.end - accounts.start).div_ceil(TASKS);
    in_tasks(|task| {
        let store = store.clone();
        let repository = PostgresEventRepository::new(pool.clone());
        let start = accounts.start + task * per_task;
        let mine = start..(start + per_task).min(accounts.end);
        async move {
            for account in mine {
                seed_account(&store, &repository, account).await;
            }
        }
    })
    .await;
}

/// Writes account `account`'s `COMMANDS_PER_ACCOUNT` events to both logs.
async fn seed_account(
    store: &PostgresEventStore,
    repository: &PostgresEventRepository,
    account: u64,
) {
    let events = (0..COMMANDS_PER_ACCOUNT)
        .map(|n| {
            let (name, payload) = event(n);
            NewEvent::new(name, 1, payload)
        })
        .collect();
    store
        .append(
            &ours::BankAccount::stream_name(&account),
            ExpectedVersion::NoStream,
            events,
        )
        .await
        .expect("seed es_events");
    let events: Vec<SerializedEvent> = (0..COMMANDS_PER_ACCOUNT)
        .map(|n| {
            let envelope = EventEnvelope::<peer::BankAccount> {
                aggregate_id: account.to_string(),
                sequence: usize::try_from(n + 1).expect("a sequence"),
                payload: peer_event(n),
                metadata: HashMap::new(),
            };
            SerializedEvent::try_from(&envelope).expect("serialize")
        })
        .collect();
    repository
        .persist::<peer::BankAccount>(&events, None)
        .await
        .expect("seed postgres-es events");
}

/// W4's read model: each account's balance, by stream (or aggregate id). Every row folds into
/// it with the same calls.
#[derive(Debug, Default)]
struct Balances {
    by_account: HashMap<String, i64>,
}

/// The sum of all balances, to check a rebuild through the query bus.
struct Total;

impl Balances {
    fn open(&mut self, account: &str) {
        self.by_account.insert(account.to_owned(), 0);
    }

    fn deposit(&mut self, account: &str, amount: u64) {
        *self.balance(account) += i64::try_from(amount).expect("an amount");
    }

    fn withdraw(&mut self, account: &str, amount: u64) {
        *self.balance(account) -= i64::try_from(amount).expect("an amount");
    }

    /// Folds one of this framework's events, for the raw row (the projection's `#[on]`
    /// handlers get each event as its own type).
    fn fold(&mut self, account: &str, event: &BankAccountEvent) {
        match event {
            BankAccountEvent::AccountOpened(_) => self.open(account),
            BankAccountEvent::MoneyDeposited(e) => self.deposit(account, e.amount),
            BankAccountEvent::MoneyWithdrawn(e) => self.withdraw(account, e.amount),
        }
    }

    fn balance(&mut self, account: &str) -> &mut i64 {
        self.by_account.get_mut(account).expect("an open account")
    }

    /// What the workload's events add up to over every account.
    fn expected_total() -> i64 {
        let per_account: i64 = (1..COMMANDS_PER_ACCOUNT)
            .map(|n| if is_deposit(n) { 10 } else { -5 })
            .sum();
        per_account * i64::try_from(ACCOUNTS).expect("an account count")
    }

    /// Panics unless every account was folded, all of its events.
    fn check(&self) {
        assert_eq!(self.by_account.len() as u64, ACCOUNTS);
        assert_eq!(
            self.by_account.values().sum::<i64>(),
            Self::expected_total()
        );
    }
}

#[projection(name = "compare-balances")]
impl Balances {
    #[on]
    fn opened(&mut self, _: &AccountOpened, meta: &EventMeta) {
        self.open(meta.stream());
    }

    #[on]
    fn deposited(&mut self, event: &MoneyDeposited, meta: &EventMeta) {
        self.deposit(meta.stream(), event.amount);
    }

    #[on]
    fn withdrawn(&mut self, event: &MoneyWithdrawn, meta: &EventMeta) {
        self.withdraw(meta.stream(), event.amount);
    }

    #[query]
    fn total(&self, _: Total) -> i64 {
        self.by_account.values().sum()
    }
}

/// W4's read model as a cqrs-es query (`dispatch` takes `&self`, hence the lock).
struct BalanceQuery(Arc<Mutex<Balances>>);

#[async_trait::async_trait]
impl cqrs_es::Query<peer::BankAccount> for BalanceQuery {
    async fn dispatch(&self, aggregate_id: &str, events: &[EventEnvelope<peer::BankAccount>]) {
        let mut balances = self.0.lock().expect("balances");
        for event in events {
            match &event.payload {
                BankEvent::AccountOpened { .. } => balances.open(aggregate_id),
                BankEvent::MoneyDeposited { amount } => balances.deposit(aggregate_id, *amount),
                BankEvent::MoneyWithdrawn { amount } => balances.withdraw(aggregate_id, *amount),
            }
        }
    }
}
