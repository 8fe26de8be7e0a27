//! The workload through disintegrate 4 and disintegrate-postgres, as its README and its banking
//! example use them: events with `#[id]` domain identifiers split into streams, state queries
//! (`AccountState`, `AccountBalance`) with `StateMutate`, one `Decision` per command (a withdrawal
//! validated only against the events that can invalidate it: not deposits), a `PgEventStore`
//! (on a schema made as its migrator makes it: see `init_schema`) and a decision maker without
//! snapshots (the README's `NoSnapshot`). `DecisionMaker::make` reads the decision's events with one query, decides, and
//! appends in a SERIALIZABLE transaction that first checks that no event matching the validation
//! query came after the ones it read. Read models: an `EventListener` run by `PgEventListener`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use disintegrate::serde::json::Json;
use disintegrate::{
    Decision, DecisionError, Event, EventListener, EventSourcedStateStore, EventStore as _,
    LoadState, NoSnapshot, PersistedEvent, StateMutate, StateQuery, StreamQuery, event_types,
    query, union,
};
use disintegrate_postgres::{
    Migrator, PgDecisionMaker, PgEventId, PgEventListener, PgEventListenerConfig, PgEventStore,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::postgres::Balances;
use crate::{COMMANDS_PER_ACCOUNT, expected_balance, expected_long_balance, is_deposit, long};

pub type AccountId = i64;

#[derive(Debug, Clone, PartialEq, Eq, Event, Serialize, Deserialize)]
#[stream(AccountStateEvent, [AccountOpened])]
#[stream(AccountBalanceEvent, [MoneyDeposited, MoneyWithdrawn])]
pub enum DomainEvent {
    AccountOpened {
        #[id]
        account_id: AccountId,
        owner: String,
    },
    MoneyDeposited {
        #[id]
        account_id: AccountId,
        amount: u64,
    },
    MoneyWithdrawn {
        #[id]
        account_id: AccountId,
        amount: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("account already opened")]
    AccountAlreadyOpened,
    #[error("account not found")]
    AccountNotFound,
    #[error("insufficient funds")]
    InsufficientFunds,
}

#[derive(Default, StateQuery, Clone, Debug, Serialize, Deserialize)]
#[state_query(AccountStateEvent)]
pub struct AccountState {
    #[id]
    account_id: AccountId,
    opened: bool,
}

impl AccountState {
    pub fn new(account_id: AccountId) -> Self {
        Self {
            account_id,
            opened: false,
        }
    }
}

impl StateMutate for AccountState {
    fn mutate(&mut self, event: Self::Event) {
        match event {
            AccountStateEvent::AccountOpened { .. } => self.opened = true,
        }
    }
}

#[derive(Default, StateQuery, Clone, Debug, Serialize, Deserialize)]
#[state_query(AccountBalanceEvent)]
pub struct AccountBalance {
    #[id]
    account_id: AccountId,
    balance: u64,
}

impl AccountBalance {
    pub fn new(account_id: AccountId) -> Self {
        Self {
            account_id,
            balance: 0,
        }
    }
}

impl StateMutate for AccountBalance {
    fn mutate(&mut self, event: Self::Event) {
        match event {
            AccountBalanceEvent::MoneyDeposited { amount, .. } => self.balance += amount,
            AccountBalanceEvent::MoneyWithdrawn { amount, .. } => self.balance -= amount,
        }
    }
}

pub struct OpenAccount {
    id: AccountId,
    owner: String,
}

impl Decision for OpenAccount {
    type Event = DomainEvent;
    type StateQuery = AccountState;
    type Error = BankError;

    fn state_query(&self) -> AccountState {
        AccountState::new(self.id)
    }

    fn process(&self, state: &AccountState) -> Result<Vec<DomainEvent>, BankError> {
        if state.opened {
            return Err(BankError::AccountAlreadyOpened);
        }
        Ok(vec![DomainEvent::AccountOpened {
            account_id: self.id,
            owner: self.owner.clone(),
        }])
    }
}

pub struct DepositAmount {
    id: AccountId,
    amount: u64,
}

impl Decision for DepositAmount {
    type Event = DomainEvent;
    type StateQuery = (AccountState, AccountBalance);
    type Error = BankError;

    fn state_query(&self) -> Self::StateQuery {
        (AccountState::new(self.id), AccountBalance::new(self.id))
    }

    fn process(&self, (state, _): &Self::StateQuery) -> Result<Vec<DomainEvent>, BankError> {
        if !state.opened {
            return Err(BankError::AccountNotFound);
        }
        Ok(vec![DomainEvent::MoneyDeposited {
            account_id: self.id,
            amount: self.amount,
        }])
    }
}

pub struct WithdrawAmount {
    id: AccountId,
    amount: u64,
}

impl Decision for WithdrawAmount {
    type Event = DomainEvent;
    type StateQuery = (AccountState, AccountBalance);
    type Error = BankError;

    fn state_query(&self) -> Self::StateQuery {
        (AccountState::new(self.id), AccountBalance::new(self.id))
    }

    fn validation_query<ID: disintegrate::EventId>(&self) -> Option<StreamQuery<ID, DomainEvent>> {
        let (state, balance) = self.state_query();
        Some(union!(
            &state,
            balance.exclude_events(event_types!(DomainEvent, [MoneyDeposited]))
        ))
    }

    fn process(&self, (state, balance): &Self::StateQuery) -> Result<Vec<DomainEvent>, BankError> {
        if !state.opened {
            return Err(BankError::AccountNotFound);
        }
        if balance.balance < self.amount {
            return Err(BankError::InsufficientFunds);
        }
        Ok(vec![DomainEvent::MoneyWithdrawn {
            account_id: self.id,
            amount: self.amount,
        }])
    }
}

pub type Store = PgEventStore<DomainEvent, Json<DomainEvent>>;
pub type Maker = PgDecisionMaker<DomainEvent, Json<DomainEvent>, NoSnapshot>;

/// Decisions that failed on a conflict and were made again by the harness (disintegrate returns
/// the error; retrying is the caller's).
pub static RETRIES: AtomicU64 = AtomicU64::new(0);

/// Decisions refused on a stale state and made again by the harness. A read returns the events
/// up to the lowest position that an append still in flight may take (so that no reader skips
/// an event that commits later): while other tasks append, a decision can miss its own account's
/// latest committed event, and the account is "not found" or its balance short.
pub static STALE: AtomicU64 = AtomicU64::new(0);

/// A pool on `url` and an event store on it, its schema created by `init_schema`.
pub async fn store(url: &str) -> (PgPool, Store) {
    let pool = PgPool::connect(url)
        .await
        .expect("connect to ES_POSTGRES_URL");
    init_schema(&pool).await;
    let store = PgEventStore::new_uninitialized(pool.clone(), Json::<DomainEvent>::default());
    (pool, store)
}

/// The event store's schema as disintegrate-postgres 4.0.1's `Migrator::init_event_store` creates
/// it (its `event_store/sql/*.sql`, then a column and an index per domain id), but for one
/// literal: its `event_store_begin_epoch` masks with `0xFFFFFFFF`, a hexadecimal integer literal
/// that PostgreSQL accepts from version 16 on; the PostgreSQL 15 here gets it in decimal. What
/// `PgEventStore::new_uninitialized` documents for a schema made by hand.
async fn init_schema(pool: &PgPool) {
    const SCHEMA: [&str; 7] = [
        "CREATE SEQUENCE IF NOT EXISTS seq_event_event_id",
        "CREATE TABLE IF NOT EXISTS event (
            event_id BIGINT PRIMARY KEY DEFAULT nextval('seq_event_event_id'),
            event_type VARCHAR(255),
            payload BYTEA,
            inserted_at TIMESTAMP DEFAULT now()
        )",
        "CREATE INDEX IF NOT EXISTS idx_event_type_btree ON event(event_type)",
        "CREATE OR REPLACE FUNCTION event_store_current_epoch()
        RETURNS BIGINT AS $$
        DECLARE
            persisted_event_id BIGINT;
            pending_event_id BIGINT;
            db_id INT;
        BEGIN
            SELECT COALESCE(MAX(event_id), 0) INTO persisted_event_id FROM event;
            SELECT oid INTO db_id FROM pg_database WHERE datname = current_database();

            SELECT MIN((l3.objid::bigint << 32) + l2.objid::bigint)
            INTO pending_event_id
            FROM pg_locks l1
            INNER JOIN pg_locks l2 ON l1.pid = l2.pid
            INNER JOIN pg_locks l3 ON l1.pid = l3.pid
            WHERE
                l1.classid = db_id
                AND l2.classid = 1
                AND l3.classid = 2
                AND l1.locktype = 'advisory';

            RETURN LEAST(COALESCE(pending_event_id, persisted_event_id), persisted_event_id);
        END;
        $$ LANGUAGE plpgsql",
        "CREATE OR REPLACE FUNCTION event_store_begin_epoch()
        RETURNS void AS $$
        DECLARE
            id BIGINT;
            db_id INT;
        BEGIN
            SELECT last_value INTO id FROM seq_event_event_id;
            SELECT oid INTO db_id FROM pg_database WHERE datname = current_database();

            PERFORM pg_try_advisory_xact_lock_shared(db_id, 0);
            PERFORM pg_try_advisory_xact_lock_shared(1, (id & 4294967295)::bit(32)::integer);
            PERFORM pg_try_advisory_xact_lock_shared(2, (id >> 32)::bit(32)::integer);
        END;
        $$ LANGUAGE plpgsql",
        // `DomainEvent`'s one domain id, `account_id` (an i64).
        "ALTER TABLE event ADD COLUMN IF NOT EXISTS account_id BIGINT",
        "CREATE INDEX IF NOT EXISTS idx_event_account_id ON event (account_id) \
         WHERE account_id IS NOT NULL",
    ];
    assert_eq!(
        DomainEvent::SCHEMA
            .domain_ids
            .iter()
            .map(|id| id.ident.to_string())
            .collect::<Vec<_>>(),
        ["account_id"],
        "the schema above has one column per domain id"
    );
    for statement in SCHEMA {
        sqlx::query(statement)
            .execute(pool)
            .await
            .expect("disintegrate's schema");
    }
}

/// Each of `accounts`' commands, in order, as `ours::send_commands` sends them.
pub async fn execute_commands(maker: &Maker, accounts: std::ops::Range<u64>) {
    for account in accounts {
        let id = AccountId::try_from(account).expect("an account id");
        make(maker, || OpenAccount {
            id,
            owner: "owner".into(),
        })
        .await;
        for n in 1..COMMANDS_PER_ACCOUNT {
            if is_deposit(n) {
                make(maker, || DepositAmount { id, amount: 10 }).await;
            } else {
                make(maker, || WithdrawAmount { id, amount: 5 }).await;
            }
        }
    }
}

/// Makes the decision `decision()`, again after a concurrency conflict (counted in `RETRIES`).
async fn make<D>(maker: &Maker, decision: impl Fn() -> D)
where
    D: Decision<Event = DomainEvent, Error = BankError>,
    D::StateQuery: Serialize
        + serde::de::DeserializeOwned
        + disintegrate::IntoStatePart<PgEventId, D::StateQuery>
        + 'static,
    <D::StateQuery as disintegrate::IntoStatePart<PgEventId, D::StateQuery>>::Target:
        Send
            + Sync
            + Serialize
            + serde::de::DeserializeOwned
            + disintegrate::IntoState<D::StateQuery>
            + disintegrate::MultiState<PgEventId, DomainEvent>,
{
    for _ in 0..MAX_TRIES {
        match maker.make(decision()).await {
            Ok(_) => return,
            Err(DecisionError::StateStore(error)) if is_conflict(&*error) => {
                RETRIES.fetch_add(1, Ordering::Relaxed);
            }
            // The workload makes no decision that its account's events refuse: a refusal read
            // a state without the account's latest events (see `STALE`).
            Err(DecisionError::Domain(
                BankError::AccountNotFound | BankError::InsufficientFunds,
            )) => {
                STALE.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
            Err(error) => panic!("decision: {error}"),
        }
    }
    panic!("a decision failed {MAX_TRIES} times");
}

/// Tries of one decision before the run fails.
const MAX_TRIES: u32 = 100_000;

/// Whether the append failed on a conflict: disintegrate's `Concurrency` (newer events match
/// the validation query, or the commit failed to serialize), or a statement of its SERIALIZABLE
/// transaction failing to serialize (SQLSTATE 40001, which it returns as a database error).
fn is_conflict(error: &(dyn std::error::Error + 'static)) -> bool {
    match error.downcast_ref::<disintegrate_postgres::Error>() {
        Some(disintegrate_postgres::Error::Concurrency) => true,
        Some(disintegrate_postgres::Error::Database(sqlx::Error::Database(error))) => {
            error.code().as_deref() == Some("40001")
        }
        _ => false,
    }
}

/// The state the decisions see for `account`: loaded through the state store the decision maker
/// uses.
async fn load(store: &Store, account: AccountId) -> (AccountState, AccountBalance) {
    EventSourcedStateStore::new(store.clone(), NoSnapshot)
        .load((AccountState::new(account), AccountBalance::new(account)))
        .await
        .expect("load")
        .state()
        .clone()
}

/// Panics unless each of `accounts` is open with the workload's balance.
pub async fn check_accounts(store: &Store, accounts: std::ops::Range<u64>) {
    for account in accounts {
        let (state, balance) = load(store, AccountId::try_from(account).expect("an id")).await;
        assert!(state.opened);
        assert_eq!(balance.balance, expected_balance());
    }
}

/// Event `n` of account `id`, as the decisions make them.
pub fn event(id: AccountId, n: u64) -> DomainEvent {
    if n == 0 {
        DomainEvent::AccountOpened {
            account_id: id,
            owner: "owner".into(),
        }
    } else if is_deposit(n) {
        DomainEvent::MoneyDeposited {
            account_id: id,
            amount: 10,
        }
    } else {
        DomainEvent::MoneyWithdrawn {
            account_id: id,
            amount: 5,
        }
    }
}

/// Appends `events` without a validation query, in one statement (the seeding of W4 and W2pg).
pub async fn seed(store: &Store, events: Vec<DomainEvent>) {
    store
        .append_without_validation(events)
        .await
        .expect("seed disintegrate events");
}

/// W2pg's account (id -1): the open, then deposits, 1,000 events an append.
pub async fn seed_long(store: &Store) {
    let mut start = 0;
    while start < long() {
        let end = (start + 1_000).min(long());
        let events = (start..end)
            .map(|n| match n {
                0 => event(LONG_ID, 0),
                _ => event(LONG_ID, 1),
            })
            .collect();
        seed(store, events).await;
        start = end;
    }
}

pub const LONG_ID: AccountId = -1;

/// W2pg: the state query of W2's account, loaded from its 100,000 events; checks it.
pub async fn w2(store: &Store) {
    let (state, balance) = load(store, LONG_ID).await;
    assert!(state.opened);
    assert_eq!(balance.balance, expected_long_balance());
}

/// W4's read model as a disintegrate event listener over every event; it reports when it has
/// handled `expected` events.
struct BalanceListener {
    id: &'static str,
    query: StreamQuery<PgEventId, DomainEvent>,
    balances: Arc<Mutex<Balances>>,
    handled: AtomicU64,
    expected: u64,
    caught_up: tokio::sync::Notify,
}

#[async_trait]
impl EventListener<PgEventId, DomainEvent> for Arc<BalanceListener> {
    type Error = std::convert::Infallible;

    fn id(&self) -> &'static str {
        self.id
    }

    fn query(&self) -> &StreamQuery<PgEventId, DomainEvent> {
        &self.query
    }

    async fn handle(
        &self,
        event: PersistedEvent<PgEventId, DomainEvent>,
    ) -> Result<(), Self::Error> {
        {
            let mut balances = self.balances.lock().expect("balances");
            match event.into_inner() {
                DomainEvent::AccountOpened { account_id, .. } => {
                    balances.open(&account_id.to_string());
                }
                DomainEvent::MoneyDeposited { account_id, amount } => {
                    balances.deposit(&account_id.to_string(), amount);
                }
                DomainEvent::MoneyWithdrawn { account_id, amount } => {
                    balances.withdraw(&account_id.to_string(), amount);
                }
            }
        }
        if self.handled.fetch_add(1, Ordering::Relaxed) + 1 == self.expected {
            self.caught_up.notify_one();
        }
        Ok(())
    }
}

/// The listener's table and trigger, made once before the timed rounds (`PgEventListener`
/// would make them at each start otherwise).
pub async fn init_listener(store: &Store) {
    Migrator::new(store.clone())
        .init_listener()
        .await
        .expect("listener tables");
}

/// W4: a new listener (a new id: it starts from the first event) under `PgEventListener`,
/// polling, from its start until it has handled every event; checks the balances.
pub async fn w4(store: &Store, round: u64, events: u64) {
    let listener = Arc::new(BalanceListener {
        // One id per round, so that each starts from nothing (an id must be 'static).
        id: String::leak(format!("compare-balances-{round}")),
        query: query!(DomainEvent),
        balances: Arc::new(Mutex::new(Balances::default())),
        handled: AtomicU64::new(0),
        expected: events,
        caught_up: tokio::sync::Notify::new(),
    });
    let done = Arc::clone(&listener);
    PgEventListener::builder(store.clone())
        .uninitialized()
        .register_listener(
            Arc::clone(&listener),
            PgEventListenerConfig::poller(Duration::from_secs(5)),
        )
        .start_with_shutdown(async move { done.caught_up.notified().await })
        .await
        .expect("listener");
    assert_eq!(listener.handled.load(Ordering::Relaxed), events);
    listener.balances.lock().expect("balances").check();
}
