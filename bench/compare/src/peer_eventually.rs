//! The workload through eventually 0.4, as its documentation and its example app
//! (`eventually-app-example`) use it: an `Aggregate`, an `AggregateRootBuilder`, a `Repository`
//! over its in-memory `EventStore`, and per command `Repository::get` (the state folded from the
//! stream), `AggregateRoot::handle` and `Repository::add` (an append guarded by the version read).
//! (eventually-postgres 0.2, its PostgreSQL store, cannot be built into this program: it needs
//! serde's private `serde::export`, gone since serde 1.0.119; bench/compare-eventually runs it.)

use eventually::inmemory::{EventStore as MemoryStore, EventStoreBuilder};
use eventually::store::{EventStore, Expected};
use eventually::{Aggregate, AggregateRootBuilder, Repository, Versioned};
use futures_util::future::{BoxFuture, FutureExt, ready};
use serde::{Deserialize, Serialize};

use crate::{
    COMMANDS_PER_ACCOUNT, accounts, expected_balance, expected_long_balance, is_deposit, long,
};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum BankEvent {
    AccountOpened { owner: String },
    MoneyDeposited { amount: u64 },
    MoneyWithdrawn { amount: u64 },
}

#[derive(Debug)]
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

#[derive(Debug, Clone, Default)]
pub struct Account {
    pub open: bool,
    pub balance: u64,
}

/// The aggregate: no services, as the example app's `OrderAggregate`.
#[derive(Debug, Clone, Copy)]
pub struct BankAccount;

impl Aggregate for BankAccount {
    type Id = String;
    type State = Account;
    type Event = BankEvent;
    type Command = BankCommand;
    type Error = BankError;

    fn apply(mut state: Account, event: BankEvent) -> Result<Account, BankError> {
        match event {
            BankEvent::AccountOpened { .. } => state.open = true,
            BankEvent::MoneyDeposited { amount } => state.balance += amount,
            BankEvent::MoneyWithdrawn { amount } => state.balance -= amount,
        }
        Ok(state)
    }

    fn handle<'a, 's: 'a>(
        &'a self,
        _id: &'s String,
        state: &'s Account,
        command: BankCommand,
    ) -> BoxFuture<'a, Result<Option<Vec<BankEvent>>, BankError>>
    where
        Self: Sized,
    {
        let event = match command {
            BankCommand::OpenAccount { owner } => Ok(BankEvent::AccountOpened { owner }),
            BankCommand::Deposit { amount } => Ok(BankEvent::MoneyDeposited { amount }),
            BankCommand::Withdraw { amount } if amount > state.balance => {
                Err(BankError::InsufficientFunds)
            }
            BankCommand::Withdraw { amount } => Ok(BankEvent::MoneyWithdrawn { amount }),
        };
        ready(event.map(|event| Some(vec![event]))).boxed()
    }
}

/// The repository over the in-memory store.
pub type MemoryRepository = Repository<BankAccount, MemoryStore<String, BankEvent>>;

/// A repository over a new in-memory store, as the example app builds it.
pub fn memory_repository() -> MemoryRepository {
    let aggregate = BankAccount;
    let store = EventStoreBuilder::for_aggregate(&aggregate);
    Repository::new(AggregateRootBuilder::from(aggregate), store)
}

/// W1: every account's commands through a repository over the in-memory store; checks the last
/// account's balance and version. Returns the repository (the peak-memory child keeps it).
pub async fn w1() -> MemoryRepository {
    let mut repository = memory_repository();
    execute_commands(&mut repository, 0..accounts()).await;
    check_account(&repository, accounts() - 1).await;
    repository
}

/// Each of `accounts`' commands, in order, as `ours::send_commands` sends them.
pub async fn execute_commands<S>(
    repository: &mut Repository<BankAccount, S>,
    accounts: std::ops::Range<u64>,
) where
    S: EventStore<SourceId = String, Event = BankEvent>,
    S::Error: std::error::Error + 'static,
{
    for account in accounts {
        let id = account.to_string();
        let owner = "owner".into();
        execute(repository, &id, BankCommand::OpenAccount { owner }).await;
        for n in 1..COMMANDS_PER_ACCOUNT {
            let command = if is_deposit(n) {
                BankCommand::Deposit { amount: 10 }
            } else {
                BankCommand::Withdraw { amount: 5 }
            };
            execute(repository, &id, command).await;
        }
    }
}

/// One command, as the example app's handlers run it: get the root, handle, add.
async fn execute<S>(repository: &mut Repository<BankAccount, S>, id: &str, command: BankCommand)
where
    S: EventStore<SourceId = String, Event = BankEvent>,
    S::Error: std::error::Error + 'static,
{
    let mut root = repository.get(id.to_owned()).await.expect("get");
    root.handle(command).await.expect("command");
    repository.add(root).await.expect("add");
}

/// Panics unless `account` is open with the workload's balance after its 100 commands.
pub async fn check_account(repository: &MemoryRepository, account: u64) {
    let root = repository.get(account.to_string()).await.expect("get");
    assert_eq!(u64::from(root.version()), COMMANDS_PER_ACCOUNT);
    assert!(root.state().open);
    assert_eq!(root.state().balance, expected_balance());
}

/// The events of W2's stream: the open, then deposits.
fn long_events(range: std::ops::Range<u64>) -> Vec<BankEvent> {
    range
        .map(|n| match n {
            0 => BankEvent::AccountOpened {
                owner: "owner".into(),
            },
            _ => BankEvent::MoneyDeposited { amount: 10 },
        })
        .collect()
}

/// W2's store: one account ("long") with the 100,000 events, appended 1,000 at a time.
pub async fn w2_repository() -> MemoryRepository {
    let aggregate = BankAccount;
    let mut store = EventStoreBuilder::for_aggregate(&aggregate);
    seed_long(&mut store).await;
    Repository::new(AggregateRootBuilder::from(aggregate), store)
}

/// Appends W2's stream to `store`, 1,000 events at a time.
pub async fn seed_long<S>(store: &mut S)
where
    S: EventStore<SourceId = String, Event = BankEvent>,
    S::Error: std::fmt::Debug,
{
    let mut start = 0;
    while start < long() {
        let end = (start + 1_000).min(long());
        store
            .append("long".into(), Expected::Any, long_events(start..end))
            .await
            .expect("seed");
        start = end;
    }
}

/// W2: `Repository::get` folds the whole stream; checks its version and balance.
pub async fn w2<S>(repository: &Repository<BankAccount, S>)
where
    S: EventStore<SourceId = String, Event = BankEvent>,
    S::Error: std::error::Error + 'static,
{
    let root = repository.get("long".into()).await.expect("get");
    assert_eq!(u64::from(root.version()), long());
    assert_eq!(root.state().balance, expected_long_balance());
}
