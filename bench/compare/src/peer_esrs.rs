//! The workload through esrs 0.18 (Prima's event_sourcing.rs) on PostgreSQL, as its README and
//! examples use it: an `Aggregate`, a `PgStore` built by `PgStoreBuilder` (which runs its
//! migrations), an `AggregateManager`, and per command `AggregateManager::load` (every event of the
//! aggregate, folded) then `AggregateManager::handle_command` (one transaction: an INSERT per event,
//! guarded by the unique (aggregate_id, sequence_number) index). Read models: an `EventHandler`,
//! rebuilt by its `PgRebuilder`.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use esrs::handler::{EventHandler, ReplayableEventHandler};
use esrs::manager::AggregateManager;
use esrs::rebuilder::{PgRebuilder, Rebuilder};
use esrs::store::StoreEvent;
use esrs::store::postgres::{PgStore, PgStoreBuilder};
use esrs::{Aggregate, AggregateState};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::postgres::Balances;
use crate::{COMMANDS_PER_ACCOUNT, expected_balance, expected_long_balance, is_deposit, long};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum BankEvent {
    AccountOpened { owner: String },
    MoneyDeposited { amount: u64 },
    MoneyWithdrawn { amount: u64 },
}

pub enum BankCommand {
    OpenAccount { owner: String },
    Deposit { amount: u64 },
    Withdraw { amount: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("insufficient funds")]
    InsufficientFunds,
}

#[derive(Debug, Default)]
pub struct Account {
    pub open: bool,
    pub balance: u64,
}

pub struct BankAccount;

impl Aggregate for BankAccount {
    // The store's table: `bank_account_events`.
    const NAME: &'static str = "bank_account";
    type State = Account;
    type Command = BankCommand;
    type Event = BankEvent;
    type Error = BankError;

    fn handle_command(state: &Account, command: BankCommand) -> Result<Vec<BankEvent>, BankError> {
        Ok(vec![match command {
            BankCommand::OpenAccount { owner } => BankEvent::AccountOpened { owner },
            BankCommand::Deposit { amount } => BankEvent::MoneyDeposited { amount },
            BankCommand::Withdraw { amount } if amount > state.balance => {
                return Err(BankError::InsufficientFunds);
            }
            BankCommand::Withdraw { amount } => BankEvent::MoneyWithdrawn { amount },
        }])
    }

    fn apply_event(mut state: Account, event: BankEvent) -> Account {
        match event {
            BankEvent::AccountOpened { .. } => state.open = true,
            BankEvent::MoneyDeposited { amount } => state.balance += amount,
            BankEvent::MoneyWithdrawn { amount } => state.balance -= amount,
        }
        state
    }
}

pub type Manager = AggregateManager<PgStore<BankAccount>>;

/// esrs identifies aggregates by UUID: account `n` is the UUID with value `n`.
pub fn account_id(account: u64) -> Uuid {
    Uuid::from_u64_pair(0, account)
}

/// A pool on `url` (as esrs's examples make it) and a store on it, built with its migrations.
pub async fn store(url: &str) -> (PgPool, PgStore<BankAccount>) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect(url)
        .await
        .expect("connect to ES_POSTGRES_URL");
    let store = PgStoreBuilder::new(pool.clone())
        .try_build()
        .await
        .expect("esrs store");
    (pool, store)
}

/// A manager over a new store in the schema of `url`.
pub async fn manager(url: &str) -> Arc<Manager> {
    Arc::new(AggregateManager::new(store(url).await.1))
}

/// Each of `accounts`' commands, in order, as `ours::send_commands` sends them.
pub async fn execute_commands(manager: &Manager, accounts: Range<u64>) {
    for account in accounts {
        let id = account_id(account);
        let owner = "owner".into();
        execute(manager, id, BankCommand::OpenAccount { owner }).await;
        for n in 1..COMMANDS_PER_ACCOUNT {
            let command = if is_deposit(n) {
                BankCommand::Deposit { amount: 10 }
            } else {
                BankCommand::Withdraw { amount: 5 }
            };
            execute(manager, id, command).await;
        }
    }
}

/// One command, optimistically (its locking example's `increment_optimistically`): load the
/// aggregate (a new one for an id without events), handle, persist.
async fn execute(manager: &Manager, id: Uuid, command: BankCommand) {
    let state = manager
        .load(id)
        .await
        .expect("load")
        .unwrap_or_else(|| AggregateState::with_id(id));
    manager
        .handle_command(state, command)
        .await
        .expect("persist")
        .expect("command");
}

/// Panics unless each of `accounts` has its 100 events and the workload's balance.
pub async fn check_accounts(manager: &Manager, accounts: Range<u64>) {
    for account in accounts {
        let state = manager
            .load(account_id(account))
            .await
            .expect("load")
            .expect("an account with events");
        assert_eq!(
            u64::try_from(*state.sequence_number()).expect("a sequence number"),
            COMMANDS_PER_ACCOUNT
        );
        let state = state.into_inner();
        assert!(state.open);
        assert_eq!(state.balance, expected_balance());
    }
}

/// Writes `events` of one aggregate into esrs's table as its `persist` writes them (a new v4 id,
/// the JSON payload, sequence numbers from `first`; `occurred_on` by its default), in one
/// multi-row INSERT: the seeding of W4 and W2pg, which through `persist` would be an INSERT round
/// trip per event.
pub async fn seed(pool: &PgPool, id: Uuid, first: i32, events: &[BankEvent]) {
    let mut insert = sqlx::QueryBuilder::new(
        "INSERT INTO bank_account_events (id, aggregate_id, payload, sequence_number) ",
    );
    insert.push_values(events.iter().zip(first..), |mut row, (event, sequence)| {
        row.push_bind(Uuid::new_v4())
            .push_bind(id)
            .push_bind(sqlx::types::Json(event))
            .push_bind(sequence);
    });
    insert
        .build()
        .execute(pool)
        .await
        .expect("seed esrs events");
}

/// Event `n` of an account, as the commands make them.
pub fn event(n: u64) -> BankEvent {
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

/// W2pg's stream ("long", the UUID `u64::MAX`): the open, then deposits, 1,000 rows an INSERT.
pub async fn seed_long(pool: &PgPool) {
    let mut start = 0;
    while start < long() {
        let end = (start + 1_000).min(long());
        let events: Vec<BankEvent> = (start..end)
            .map(|n| match n {
                0 => event(0),
                _ => BankEvent::MoneyDeposited { amount: 10 },
            })
            .collect();
        let first = i32::try_from(start + 1).expect("a sequence number");
        seed(pool, long_id(), first, &events).await;
        start = end;
    }
}

pub fn long_id() -> Uuid {
    account_id(u64::MAX)
}

/// W2pg: `AggregateManager::load` reads and folds the whole stream; checks it.
pub async fn w2(manager: &Manager) {
    let state = manager
        .load(long_id())
        .await
        .expect("load")
        .expect("the long stream");
    assert_eq!(
        u64::try_from(*state.sequence_number()).expect("a sequence number"),
        long()
    );
    assert_eq!(state.into_inner().balance, expected_long_balance());
}

/// W4's read model as an esrs event handler (`handle` takes `&self`, hence the lock). `delete`
/// forgets an account, as a rebuild asks before it replays the account's events.
#[derive(Clone)]
pub struct BalanceHandler(pub Arc<Mutex<Balances>>);

#[async_trait]
impl EventHandler<BankAccount> for BalanceHandler {
    async fn handle(&self, event: &StoreEvent<BankEvent>) {
        let account = event.aggregate_id.to_string();
        let mut balances = self.0.lock().expect("balances");
        match &event.payload {
            BankEvent::AccountOpened { .. } => balances.open(&account),
            BankEvent::MoneyDeposited { amount } => balances.deposit(&account, *amount),
            BankEvent::MoneyWithdrawn { amount } => balances.withdraw(&account, *amount),
        }
    }

    async fn delete(&self, aggregate_id: Uuid) {
        self.0
            .lock()
            .expect("balances")
            .forget(&aggregate_id.to_string());
    }
}

impl ReplayableEventHandler<BankAccount> for BalanceHandler {}

/// W4: `PgRebuilder::by_aggregate_id` replays every aggregate's events into the handler (its
/// `all_at_once` calls `delete` before each event, which suits an upsert but not a fold).
pub async fn w4(pool: &PgPool) {
    let balances = Arc::new(Mutex::new(Balances::default()));
    let rebuilder: PgRebuilder<BankAccount> = PgRebuilder::new()
        .with_event_handlers(vec![Box::new(BalanceHandler(Arc::clone(&balances)))]);
    rebuilder
        .by_aggregate_id(pool.clone())
        .await
        .expect("rebuild");
    balances.lock().expect("balances").check();
}
