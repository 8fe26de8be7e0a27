//! The PostgreSQL workloads: W3 (commands one after another), W3c (commands from 8 tasks), W4
//! (a read model rebuilt from the log) and W2pg (one long stream replayed), each through the raw
//! driver (the baseline), this framework, postgres-es 0.5 (cqrs-es's PostgreSQL store), esrs 0.18
//! and disintegrate 4 (eventually-postgres's W2pg is bench/compare-eventually's).
//!
//! Each timed round of W3 and W3c writes into a schema of its own (`es_compare_es_0` ..),
//! created with its tables, connections and framework before any round is timed: every round
//! starts from the same state, empty tables, and none times its setup (the rows' rounds are
//! interleaved, as `medians` does for every workload). After the timing, every round's accounts
//! are loaded back through the peer that wrote them and checked. W4 reads one schema
//! (`es_compare_w4`), W2pg one per peer, seeded once. The schemas stay in the database until the
//! next run drops them.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use cqrs_es::EventEnvelope;
use cqrs_es::persist::{
    PersistedEventRepository, PersistedEventStore, QueryReplay, SerializedEvent,
};
use disintegrate::NoSnapshot;
use es_core::prelude::*;
use es_core::{Json, NewEvent};
use esrs::manager::AggregateManager;
use futures_util::TryStreamExt;
use postgres_es::{PostgresCqrs, PostgresEventRepository, default_postgress_pool, postgres_cqrs};
use tokio::runtime::Runtime;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::ours::{self, AccountOpened, BankAccountEvent, MoneyDeposited, MoneyWithdrawn};
use crate::peer::{self, BankEvent};
use crate::{
    COMMANDS_PER_ACCOUNT, Run, TASKS, accounts, at_rate_of, is_deposit, long, medians,
    peer_disintegrate, peer_esrs, rounds, row, run, run_then, size, task_accounts, w3_accounts,
};

/// W4's log: `accounts()` accounts of `COMMANDS_PER_ACCOUNT` events.
fn w4_events() -> u64 {
    accounts() * COMMANDS_PER_ACCOUNT
}

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

/// W3 for the peers whose every command reads its account's events (esrs, disintegrate): 20
/// accounts x 100 commands a round, a fifth of the others', to keep the run short. A row's ratio
/// is against the raw baseline's rate.
fn w3_peer_accounts() -> u64 {
    size(20)
}

/// W3c for those peers: each task's 5 accounts, a fifth of the others'.
fn task_peer_accounts() -> u64 {
    size(5)
}

/// Each round's state of every run of W3 and W3c, in a schema of its own, set up before any
/// round is timed.
struct Rounds {
    raw: Vec<Vec<Arc<Raw>>>,
    es: Vec<App<PostgresEventStore>>,
    cqrs: Vec<Cqrs>,
    esrs: Vec<Arc<peer_esrs::Manager>>,
    disintegrate: Vec<Disintegrate>,
}

/// postgres-es's framework, and its pool (for the checks).
#[derive(Clone)]
struct Cqrs {
    cqrs: Arc<PostgresCqrs<peer::BankAccount>>,
    pool: sqlx::PgPool,
}

/// disintegrate's decision maker, and its store (for the checks).
#[derive(Clone)]
struct Disintegrate {
    maker: Arc<peer_disintegrate::Maker>,
    store: peer_disintegrate::Store,
}

impl Rounds {
    /// `connections` raw connections a round.
    fn setup(runtime: &Runtime, url: &str, connections: u64) -> Self {
        Self {
            raw: per_round(runtime, url, "raw", |url| async move {
                Raw::setup(&url, connections).await
            }),
            es: per_round(
                runtime,
                url,
                "es",
                |url| async move { ours_app(&url).await },
            ),
            cqrs: per_round(runtime, url, "cqrs", |url| async move { cqrs(&url).await }),
            esrs: per_round(runtime, url, "esrs", |url| async move {
                peer_esrs::manager(&url).await
            }),
            disintegrate: per_round(runtime, url, "disintegrate", |url| async move {
                let (_, store) = peer_disintegrate::store(&url).await;
                let maker = disintegrate_postgres::decision_maker(store.clone(), NoSnapshot);
                Disintegrate {
                    maker: Arc::new(maker),
                    store,
                }
            }),
        }
    }

    /// The runs: each round sends every command of `accounts(task)` from each of `tasks` tasks
    /// (esrs and disintegrate: of `peer_accounts(task)`); after its clock stops it loads every
    /// account back through the peer that wrote it, checks it, and closes its connections.
    fn runs<'a>(
        self,
        tasks: u64,
        accounts: fn(u64) -> Range<u64>,
        peer_accounts: fn(u64) -> Range<u64>,
    ) -> Vec<Run<'a>> {
        let all = move |accounts: fn(u64) -> Range<u64>| accounts(0).start..accounts(tasks - 1).end;
        vec![
            each(
                self.raw,
                move |raw| {
                    in_tasks(tasks, move |task| {
                        let raw = Arc::clone(&raw[usize::try_from(task).expect("a task index")]);
                        async move { raw.insert_events(accounts(task)).await }
                    })
                },
                |_| async {},
            ),
            each(
                self.es,
                move |app| {
                    in_tasks(tasks, move |task| {
                        let app = app.clone();
                        async move { ours::send_commands(&app, accounts(task)).await }
                    })
                },
                move |app| async move { ours::check_accounts(&app, all(accounts)).await },
            ),
            each(
                self.cqrs,
                move |cqrs| {
                    in_tasks(tasks, move |task| {
                        let cqrs = Arc::clone(&cqrs.cqrs);
                        async move { peer::execute_commands(&cqrs, accounts(task)).await }
                    })
                },
                move |cqrs| async move {
                    let store = PersistedEventStore::<_, peer::BankAccount>::new_event_store(
                        PostgresEventRepository::new(cqrs.pool.clone()),
                    );
                    peer::check_accounts(&store, all(accounts)).await;
                    cqrs.pool.close().await;
                },
            ),
            each(
                self.esrs,
                move |manager| {
                    in_tasks(tasks, move |task| {
                        let manager = Arc::clone(&manager);
                        async move { peer_esrs::execute_commands(&manager, peer_accounts(task)).await }
                    })
                },
                move |manager| async move {
                    peer_esrs::check_accounts(&manager, all(peer_accounts)).await;
                },
            ),
            each(
                self.disintegrate,
                move |disintegrate| {
                    in_tasks(tasks, move |task| {
                        let maker = Arc::clone(&disintegrate.maker);
                        async move {
                            peer_disintegrate::execute_commands(&maker, peer_accounts(task)).await;
                        }
                    })
                },
                move |disintegrate| async move {
                    peer_disintegrate::check_accounts(&disintegrate.store, all(peer_accounts))
                        .await;
                },
            ),
        ]
    }
}

/// W3: 100 accounts x 100 commands, one after another (esrs and disintegrate: 20 accounts).
pub fn w3(runtime: &Runtime) {
    const W: &str = "W3 commands, PostgreSQL, sequential";
    let url = url();
    let commands = w3_accounts() * COMMANDS_PER_ACCOUNT;
    let peer_commands = w3_peer_accounts() * COMMANDS_PER_ACCOUNT;
    let runs =
        Rounds::setup(runtime, &url, 1).runs(1, |_| 0..w3_accounts(), |_| 0..w3_peer_accounts());
    let [raw, framework, cqrs, esrs, disintegrate] = medians(runtime, runs)[..] else {
        unreachable!("five runs")
    };
    let raw_rate = |items| at_rate_of(raw, commands, items);
    row(
        W,
        "raw tokio-postgres: one INSERT per command (baseline)",
        commands,
        raw,
        raw,
    );
    row(W, "es (this framework)", commands, framework, raw);
    row(W, "postgres-es 0.5 (cqrs-es)", commands, cqrs, raw);
    row(
        W,
        "esrs 0.18: AggregateManager (load + handle_command)",
        peer_commands,
        esrs,
        raw_rate(peer_commands),
    );
    row(
        W,
        &format!(
            "disintegrate 4: DecisionMaker::make, no snapshots ({})",
            take_retries()
        ),
        peer_commands,
        disintegrate,
        raw_rate(peer_commands),
    );
}

/// The decisions of disintegrate that the harness made again since the last call: after a
/// conflict, and after a refusal on a stale state.
fn take_retries() -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let conflicts = peer_disintegrate::RETRIES.swap(0, Relaxed);
    let stale = peer_disintegrate::STALE.swap(0, Relaxed);
    format!("retried: {conflicts} conflicts, {stale} stale refusals")
}

/// W3c: 8 tasks at once, each with its own 25 accounts x 100 commands (esrs and disintegrate:
/// 5 accounts).
pub fn w3c(runtime: &Runtime) {
    const W: &str = "W3c commands, PostgreSQL, 8 tasks";
    let url = url();
    let commands = TASKS * task_accounts() * COMMANDS_PER_ACCOUNT;
    let peer_commands = TASKS * task_peer_accounts() * COMMANDS_PER_ACCOUNT;
    let runs = Rounds::setup(runtime, &url, TASKS).runs(
        TASKS,
        |task| task_range(task, task_accounts()),
        |task| task_range(task, task_peer_accounts()),
    );
    take_retries();
    let [raw, framework, cqrs, esrs, disintegrate] = medians(runtime, runs)[..] else {
        unreachable!("five runs")
    };
    let raw_rate = |items| at_rate_of(raw, commands, items);
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
    row(
        W,
        "esrs 0.18: one shared AggregateManager",
        peer_commands,
        esrs,
        raw_rate(peer_commands),
    );
    row(
        W,
        &format!(
            "disintegrate 4: one shared DecisionMaker ({})",
            take_retries()
        ),
        peer_commands,
        disintegrate,
        raw_rate(peer_commands),
    );
}

/// W4 from PostgreSQL: the balance of each account, from a log of 100,000 events of 1,000
/// accounts, from nothing to caught up.
pub fn w4_postgres(runtime: &Runtime) {
    const W: &str = "W4 projection from PostgreSQL, 100k events";
    let url = url();
    let seeded = runtime.block_on(w4_seed(&url));
    let (client, select) = &seeded.raw;
    let listener_rounds = std::cell::Cell::new(0);
    let [raw, framework, cqrs, esrs, disintegrate] = medians(
        runtime,
        vec![
            raw_fold(client, select, [0, 1, 2]),
            run(|| async {
                let position = seeded
                    .app
                    .rebuild(Balances::default(), |_| {})
                    .await
                    .expect("rebuild");
                assert_eq!(position, w4_events());
                let total = seeded.app.query(Total).await.expect("query");
                assert_eq!(total, Balances::expected_total());
            }),
            run(|| async {
                let balances = Arc::new(Mutex::new(Balances::default()));
                let mut replay = QueryReplay::new(
                    PostgresEventRepository::new(seeded.cqrs_pool.clone()),
                    BalanceQuery(Arc::clone(&balances)),
                );
                // Without a handler, cqrs-es drops events that fail to load.
                replay.use_error_handler(Box::new(|error| panic!("replay: {error}")));
                replay.replay_all().await.expect("replay");
                balances.lock().expect("balances").check();
            }),
            run(|| peer_esrs::w4(&seeded.esrs_pool)),
            run(|| {
                listener_rounds.set(listener_rounds.get() + 1);
                peer_disintegrate::w4(&seeded.disintegrate, listener_rounds.get(), w4_events())
            }),
        ],
    )[..] else {
        unreachable!("five runs")
    };
    row(
        W,
        "raw: one SELECT, serde_json + fold (baseline)",
        w4_events(),
        raw,
        raw,
    );
    row(
        W,
        "es (this framework): rebuild",
        w4_events(),
        framework,
        raw,
    );
    row(
        W,
        "postgres-es 0.5: QueryReplay::replay_all",
        w4_events(),
        cqrs,
        raw,
    );
    row(
        W,
        "esrs 0.18: PgRebuilder::by_aggregate_id into an EventHandler",
        w4_events(),
        esrs,
        raw,
    );
    row(
        W,
        "disintegrate 4: PgEventListener, a new listener catching up",
        w4_events(),
        disintegrate,
        raw,
    );
}

/// W2 from PostgreSQL: one account's 100,000-event stream read and folded into its state, by a
/// process that has not seen it (no cache, no snapshot). Each peer's stream is in a schema of
/// its own.
pub fn w2_postgres(runtime: &Runtime) {
    const W: &str = "W2pg replay a 100k-event stream from PostgreSQL";
    let url = url();
    let seeded = runtime.block_on(w2_seed(&url));
    let (client, select) = &seeded.raw;
    let [raw, framework, cqrs, esrs, disintegrate] = medians(
        runtime,
        vec![
            run(|| async {
                let stream = ours::BankAccount::stream_name("long");
                let rows = client.query_raw(select, [&stream]).await.expect("select");
                let mut rows = std::pin::pin!(rows);
                let mut state = ours::BankAccount::default();
                let mut version = 0;
                while let Some(row) = rows.try_next().await.expect("a row") {
                    let event =
                        BankAccountEvent::decode(&Json, row.get(0), 1, row.get(1)).expect("decode");
                    state.apply(&event);
                    version += 1;
                }
                ours::check_long(&state, version);
            }),
            run(|| ours::w2(&seeded.es)),
            run(|| async {
                let store = PersistedEventStore::<_, peer::BankAccount>::new_event_store(
                    PostgresEventRepository::new(seeded.cqrs.clone()),
                );
                peer::w2_postgres(&store).await;
            }),
            run(|| async {
                let manager = AggregateManager::new(seeded.esrs.clone());
                peer_esrs::w2(&manager).await;
            }),
            run(|| peer_disintegrate::w2(&seeded.disintegrate)),
        ],
    )[..] else {
        unreachable!("five runs")
    };
    row(
        W,
        "raw: one SELECT, serde_json + fold (baseline)",
        long(),
        raw,
        raw,
    );
    row(
        W,
        "es (this framework): App::load, new app",
        long(),
        framework,
        raw,
    );
    row(
        W,
        "postgres-es 0.5: EventStore::load_aggregate",
        long(),
        cqrs,
        raw,
    );
    row(W, "esrs 0.18: AggregateManager::load", long(), esrs, raw);
    row(
        W,
        "disintegrate 4: the state query's load (what a decision reads)",
        long(),
        disintegrate,
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
fn per_round<T, F: Future<Output = T>>(
    runtime: &Runtime,
    url: &str,
    kind: &str,
    setup: impl Fn(String) -> F,
) -> Vec<T> {
    (0..rounds())
        .map(|round| {
            runtime.block_on(async {
                setup(fresh_schema(url, &format!("es_compare_{kind}_{round}")).await).await
            })
        })
        .collect()
}

/// A run whose rounds each take the next of `states`: the round runs `run_one` on it, timed,
/// then `after` on it, untimed (its checks), and drops it (its connections close, so that the
/// rounds' pools never add up to more than the server takes).
// The round's future yields its untimed part, a future, on purpose.
#[allow(clippy::async_yields_async)]
fn each<'a, T, F, A>(
    states: Vec<T>,
    run_one: impl Fn(T) -> F + 'a,
    after: impl Fn(T) -> A + 'a,
) -> Run<'a>
where
    T: Clone + 'a,
    F: Future<Output = ()> + 'a,
    A: Future<Output = ()> + 'a,
{
    let mut states = states.into_iter();
    run_then(move || {
        let state = states.next().expect("a state per round");
        let round = run_one(state.clone());
        // A future does nothing until awaited: the checks run after the clock stops.
        let after = after(state);
        async move {
            round.await;
            after
        }
    })
}

/// The accounts W3c's task `task` owns, `per_task` of them.
fn task_range(task: u64, per_task: u64) -> Range<u64> {
    task * per_task..(task + 1) * per_task
}

/// Runs `task(0)` .. `task(tasks - 1)` as concurrent tokio tasks, to the end of all; one task
/// runs where it is awaited.
async fn in_tasks<F>(tasks: u64, task: impl Fn(u64) -> F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if tasks == 1 {
        return task(0).await;
    }
    let handles: Vec<_> = (0..tasks).map(|t| tokio::spawn(task(t))).collect();
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
async fn cqrs(url: &str) -> Cqrs {
    connect(url)
        .await
        .batch_execute(CQRS_TABLES)
        .await
        .expect("postgres-es tables");
    let pool = default_postgress_pool(url).await;
    Cqrs {
        cqrs: Arc::new(postgres_cqrs(pool.clone(), vec![], ())),
        pool,
    }
}

/// What W4 reads: the same log in each peer's tables of one schema (`es_compare_w4`).
struct W4Seeded {
    /// A raw connection with the baseline's SELECT prepared.
    raw: (tokio_postgres::Client, tokio_postgres::Statement),
    /// This framework's app with the projection.
    app: App<PostgresEventStore>,
    cqrs_pool: sqlx::PgPool,
    esrs_pool: sqlx::PgPool,
    disintegrate: peer_disintegrate::Store,
}

/// W4's schema: the same log in `es_events` (appended by the store, one append per account),
/// in postgres-es's `events` (persisted by its repository, one transaction per account), in
/// esrs's `bank_account_events` and in disintegrate's `event` (one multi-row INSERT per
/// account each), written from `TASKS` tasks so that commits overlap.
async fn w4_seed(url: &str) -> W4Seeded {
    let url = fresh_schema(url, "es_compare_w4").await;
    let store = PostgresEventStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let client = connect(&url).await;
    client
        .batch_execute(CQRS_TABLES)
        .await
        .expect("postgres-es tables");
    let cqrs_pool = default_postgress_pool(&url).await;
    let (esrs_pool, _) = peer_esrs::store(&url).await;
    let (_, disintegrate) = peer_disintegrate::store(&url).await;
    peer_disintegrate::init_listener(&disintegrate).await;
    let logs = Logs {
        store: store.clone(),
        cqrs: cqrs_pool.clone(),
        esrs: esrs_pool.clone(),
        disintegrate: disintegrate.clone(),
    };
    seed(&logs, 0..accounts()).await;
    let select = client
        .prepare("SELECT stream, name, payload FROM es_events ORDER BY position")
        .await
        .expect("prepare");
    let app = App::builder(store)
        .projection(Balances::default())
        .build()
        .expect("build the app");
    W4Seeded {
        raw: (client, select),
        app,
        cqrs_pool,
        esrs_pool,
        disintegrate,
    }
}

/// The logs W4 writes to.
#[derive(Clone)]
struct Logs {
    store: PostgresEventStore,
    cqrs: sqlx::PgPool,
    esrs: sqlx::PgPool,
    disintegrate: peer_disintegrate::Store,
}

/// Writes the events of `accounts` to every log, from `TASKS` tasks.
async fn seed(logs: &Logs, accounts: Range<u64>) {
    let per_task = (accounts.end - accounts.start).div_ceil(TASKS);
    in_tasks(TASKS, |task| {
        let logs = logs.clone();
        let start = accounts.start + task * per_task;
        let mine = start..(start + per_task).min(accounts.end);
        async move {
            for account in mine {
                seed_account(&logs, account).await;
            }
        }
    })
    .await;
}

/// Writes account `account`'s `COMMANDS_PER_ACCOUNT` events to every log.
async fn seed_account(logs: &Logs, account: u64) {
    let events = (0..COMMANDS_PER_ACCOUNT)
        .map(|n| {
            let (name, payload) = event(n);
            NewEvent::new(name, 1, payload)
        })
        .collect();
    logs.store
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
    PostgresEventRepository::new(logs.cqrs.clone())
        .persist::<peer::BankAccount>(&events, None)
        .await
        .expect("seed postgres-es events");
    let events: Vec<_> = (0..COMMANDS_PER_ACCOUNT).map(peer_esrs::event).collect();
    peer_esrs::seed(&logs.esrs, peer_esrs::account_id(account), 1, &events).await;
    let id = peer_disintegrate::AccountId::try_from(account).expect("an account id");
    let events = (0..COMMANDS_PER_ACCOUNT)
        .map(|n| peer_disintegrate::event(id, n))
        .collect();
    peer_disintegrate::seed(&logs.disintegrate, events).await;
}

/// What W2pg reads: W2's stream in each peer's store, each in a schema of its own.
struct W2Seeded {
    /// A raw connection with the baseline's SELECT (of `es_events`) prepared.
    raw: (tokio_postgres::Client, tokio_postgres::Statement),
    es: PostgresEventStore,
    cqrs: sqlx::PgPool,
    esrs: esrs::store::postgres::PgStore<peer_esrs::BankAccount>,
    disintegrate: peer_disintegrate::Store,
}

/// W2pg's schemas (`es_compare_w2pg_{peer}`), each with the stream appended through the peer's
/// own store, 1,000 events at a time (esrs: one INSERT of 1,000 rows at a time).
async fn w2_seed(url: &str) -> W2Seeded {
    let es_url = fresh_schema(url, "es_compare_w2pg_es").await;
    let es = PostgresEventStore::connect(&es_url).await.expect("connect");
    es.migrate().await.expect("migrate");
    ours::seed_long(&es).await;
    let client = connect(&es_url).await;
    let select = client
        .prepare("SELECT name, payload FROM es_events WHERE stream = $1 ORDER BY version")
        .await
        .expect("prepare");

    let cqrs_url = fresh_schema(url, "es_compare_w2pg_cqrs").await;
    connect(&cqrs_url)
        .await
        .batch_execute(CQRS_TABLES)
        .await
        .expect("postgres-es tables");
    let cqrs = default_postgress_pool(&cqrs_url).await;
    peer::seed_long_postgres(&PostgresEventRepository::new(cqrs.clone())).await;

    let esrs_url = fresh_schema(url, "es_compare_w2pg_esrs").await;
    let (esrs_pool, esrs) = peer_esrs::store(&esrs_url).await;
    peer_esrs::seed_long(&esrs_pool).await;

    let disintegrate_url = fresh_schema(url, "es_compare_w2pg_disintegrate").await;
    let (_, disintegrate) = peer_disintegrate::store(&disintegrate_url).await;
    peer_disintegrate::seed_long(&disintegrate).await;

    W2Seeded {
        raw: (client, select),
        es,
        cqrs,
        esrs,
        disintegrate,
    }
}

/// W4's read model: each account's balance, by stream (or aggregate id). Every row folds into
/// it with the same calls.
#[derive(Debug, Default)]
pub struct Balances {
    by_account: HashMap<String, i64>,
}

/// The sum of all balances, to check a rebuild through the query bus.
struct Total;

impl Balances {
    pub fn open(&mut self, account: &str) {
        self.by_account.insert(account.to_owned(), 0);
    }

    pub fn deposit(&mut self, account: &str, amount: u64) {
        *self.balance(account) += i64::try_from(amount).expect("an amount");
    }

    pub fn withdraw(&mut self, account: &str, amount: u64) {
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
        per_account * i64::try_from(accounts()).expect("an account count")
    }

    /// Forgets `account` (esrs's rebuild deletes an aggregate's read model first).
    pub fn forget(&mut self, account: &str) {
        self.by_account.remove(account);
    }

    /// Panics unless every account was folded, all of its events.
    pub fn check(&self) {
        assert_eq!(self.by_account.len() as u64, accounts());
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

/// W4's time split (`compare w4pg-splits`, not part of a full run): where a rebuild's time goes
/// between the rows the server sends and the framework's fold. Each row is timed as W4's are,
/// with the same baseline. The store's global read selects the 11 columns of an event's
/// envelope (its `READ_ALL`); the baseline selects 3.
pub fn w4_splits(runtime: &Runtime) {
    const W: &str = "W4 split, 100k events";
    const ENVELOPE: &str = "SELECT position, stream, version, id, name, schema_version, payload, \
         timestamp_us, correlation_id, causation_id, extra::text FROM es_events ORDER BY position";
    const BATCH: usize = 4096;
    let url = url();
    let seeded = runtime.block_on(w4_seed(&url));
    let (client, select) = &seeded.raw;
    let envelope = runtime.block_on(client.prepare(ENVELOPE)).expect("prepare");
    let store = seeded.app.store();
    let times = medians(
        runtime,
        vec![
            raw_fold(client, select, [0, 1, 2]),
            count_rows(client, select),
            count_rows(client, &envelope),
            raw_fold(client, &envelope, [1, 4, 6]),
            run(|| async {
                let mut balances = Balances::default();
                store
                    .fold_all(0, usize::MAX, &mut |event| {
                        let decoded = BankAccountEvent::decode(&Json, event.name, 1, event.payload)
                            .expect("decode");
                        balances.fold(event.stream, &decoded);
                        Ok(())
                    })
                    .await
                    .expect("fold_all");
                balances.check();
            }),
            run(|| async {
                let mut balances = Balances::default();
                let mut after = 0;
                loop {
                    let folded = store
                        .fold_all(after, BATCH, &mut |event| {
                            let decoded =
                                BankAccountEvent::decode(&Json, event.name, 1, event.payload)
                                    .expect("decode");
                            balances.fold(event.stream, &decoded);
                            after = event.position;
                            Ok(())
                        })
                        .await
                        .expect("fold_all");
                    if folded < BATCH {
                        break;
                    }
                }
                balances.check();
            }),
            run(|| async {
                let position = seeded
                    .app
                    .rebuild(Balances::default(), |_| {})
                    .await
                    .expect("rebuild");
                assert_eq!(position, w4_events());
            }),
        ],
    );
    let runs = [
        "raw: one SELECT, serde_json + fold (baseline)",
        "raw: the same 3 columns, rows only",
        "raw: the envelope's 11 columns, rows only",
        "raw: the envelope's 11 columns, serde_json + fold",
        "es: fold_all, one call, serde_json + fold",
        "es: fold_all, calls of 4,096 events, serde_json + fold",
        "es (this framework): rebuild",
    ];
    for (name, time) in runs.iter().zip(&times) {
        row(W, name, w4_events(), *time, times[0]);
    }
}

/// W4's raw baseline on `statement`: streams its rows, decodes each event and folds the
/// balances; `columns` are where the stream, the event name and the payload are.
// Streaming the rows of one SELECT measured faster than collecting them all first (58 / 76 ms)
// and than reading by position in chunks of 1,024 (94 ms) or more.
fn raw_fold<'a>(
    client: &'a tokio_postgres::Client,
    statement: &'a tokio_postgres::Statement,
    [stream, name, payload]: [usize; 3],
) -> Run<'a> {
    run(move || async move {
        let rows = client
            .query_raw(statement, std::iter::empty::<i64>())
            .await
            .expect("select");
        let mut rows = std::pin::pin!(rows);
        let mut balances = Balances::default();
        while let Some(row) = rows.try_next().await.expect("a row") {
            let event = BankAccountEvent::decode(&Json, row.get(name), 1, row.get(payload))
                .expect("decode");
            balances.fold(row.get(stream), &event);
        }
        balances.check();
    })
}

/// A run that reads every row of `statement` and decodes nothing.
fn count_rows<'a>(
    client: &'a tokio_postgres::Client,
    statement: &'a tokio_postgres::Statement,
) -> Run<'a> {
    run(move || async move {
        let rows = client
            .query_raw(statement, std::iter::empty::<i64>())
            .await
            .expect("select");
        let mut rows = std::pin::pin!(rows);
        let mut count = 0;
        while rows.try_next().await.expect("a row").is_some() {
            count += 1;
        }
        assert_eq!(count, w4_events());
    })
}
