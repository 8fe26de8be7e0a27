//! The workload through cqrs-es 0.5 (in memory with its `MemStore`; the same commands serve its
//! PostgreSQL store), as its documentation shows.

use cqrs_es::event_sink::EventSink;
use cqrs_es::mem_store::MemStore;
use cqrs_es::{Aggregate, AggregateContext, CqrsFramework, DomainEvent, EventStore};
use serde::{Deserialize, Serialize};

use crate::{COMMANDS_PER_ACCOUNT, accounts, expected_balance, is_deposit, long};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum BankEvent {
    AccountOpened { owner: String },
    MoneyDeposited { amount: u64 },
    MoneyWithdrawn { amount: u64 },
}

impl DomainEvent for BankEvent {
    fn event_type(&self) -> String {
        match self {
            Self::AccountOpened { .. } => "AccountOpened",
            Self::MoneyDeposited { .. } => "MoneyDeposited",
            Self::MoneyWithdrawn { .. } => "MoneyWithdrawn",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

pub enum BankCommand {
    OpenAccount { owner: String },
    Deposit { amount: u64 },
    Withdraw { amount: u64 },
}

#[derive(Debug, thiserror::Error)]
#[error("insufficient funds")]
pub struct InsufficientFunds;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BankAccount {
    pub open: bool,
    pub balance: u64,
}

impl Aggregate for BankAccount {
    const TYPE: &'static str = "bank-account";
    type Command = BankCommand;
    type Event = BankEvent;
    type Error = InsufficientFunds;
    type Services = ();

    async fn handle(
        &mut self,
        command: BankCommand,
        (): &(),
        sink: &EventSink<Self>,
    ) -> Result<(), InsufficientFunds> {
        let event = match command {
            BankCommand::OpenAccount { owner } => BankEvent::AccountOpened { owner },
            BankCommand::Deposit { amount } => BankEvent::MoneyDeposited { amount },
            BankCommand::Withdraw { amount } => {
                if amount > self.balance {
                    return Err(InsufficientFunds);
                }
                BankEvent::MoneyWithdrawn { amount }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: BankEvent) {
        match event {
            BankEvent::AccountOpened { .. } => self.open = true,
            BankEvent::MoneyDeposited { amount } => self.balance += amount,
            BankEvent::MoneyWithdrawn { amount } => self.balance -= amount,
        }
    }
}

/// W1 through `CqrsFramework` over `MemStore`; checks the last account.
pub async fn w1() {
    let store = MemStore::<BankAccount>::default();
    let cqrs = CqrsFramework::new(store.clone(), vec![], ());
    execute_commands(&cqrs, 0..accounts()).await;
    check_accounts(&store, accounts() - 1..accounts()).await;
}

/// Panics unless each of `accounts`, loaded from `store`, is open with the workload's balance.
pub async fn check_accounts<ES: EventStore<BankAccount>>(
    store: &ES,
    accounts: std::ops::Range<u64>,
) {
    for account in accounts {
        let mut context = store
            .load_aggregate(&account.to_string())
            .await
            .expect("load");
        let account = context.aggregate();
        assert!(account.open);
        assert_eq!(account.balance, expected_balance());
    }
}

/// Each of `accounts`' commands, in order, as `ours::send_commands` sends them (W1 on any store,
/// and each task of W3c).
pub async fn execute_commands<ES: EventStore<BankAccount>>(
    cqrs: &CqrsFramework<BankAccount, ES>,
    accounts: std::ops::Range<u64>,
) {
    for account in accounts {
        let id = account.to_string();
        cqrs.execute(
            &id,
            BankCommand::OpenAccount {
                owner: "owner".into(),
            },
        )
        .await
        .expect("open");
        for n in 1..COMMANDS_PER_ACCOUNT {
            let command = if is_deposit(n) {
                BankCommand::Deposit { amount: 10 }
            } else {
                BankCommand::Withdraw { amount: 5 }
            };
            cqrs.execute(&id, command).await.expect("command");
        }
    }
}

/// W2's store: one account with 100,000 events, committed in one batch (through commands it
/// would take quadratic time: cqrs-es replays the stream for each).
pub async fn w2_store() -> MemStore<BankAccount> {
    let store = MemStore::<BankAccount>::default();
    // The 100,000th event is the one W2's command adds.
    let events = (0..long() - 1)
        .map(|n| match n {
            0 => BankEvent::AccountOpened {
                owner: "owner".into(),
            },
            _ => BankEvent::MoneyDeposited { amount: 10 },
        })
        .collect();
    let context = store.load_aggregate("long").await.expect("load");
    store
        .commit(events, context, std::collections::HashMap::new())
        .await
        .expect("seed");
    store
}

/// W2 for cqrs-es: it has no cache, so one command on the stream replays it (the 100,000th
/// event).
pub async fn w2(store: &MemStore<BankAccount>) {
    let cqrs = CqrsFramework::new(store.clone(), vec![], ());
    cqrs.execute("long", BankCommand::Deposit { amount: 10 })
        .await
        .expect("deposit");
}

/// W2pg's stream in postgres-es's tables: the open, then deposits, persisted 1,000 at a time.
pub async fn seed_long_postgres(repository: &postgres_es::PostgresEventRepository) {
    use cqrs_es::persist::{PersistedEventRepository, SerializedEvent};
    let mut start = 0;
    while start < long() {
        let end = (start + 1_000).min(long());
        let events: Vec<SerializedEvent> = (start..end)
            .map(|n| {
                let envelope = cqrs_es::EventEnvelope::<BankAccount> {
                    aggregate_id: "long".into(),
                    sequence: usize::try_from(n + 1).expect("a sequence"),
                    payload: match n {
                        0 => BankEvent::AccountOpened {
                            owner: "owner".into(),
                        },
                        _ => BankEvent::MoneyDeposited { amount: 10 },
                    },
                    metadata: std::collections::HashMap::new(),
                };
                SerializedEvent::try_from(&envelope).expect("serialize")
            })
            .collect();
        repository
            .persist::<BankAccount>(&events, None)
            .await
            .expect("seed postgres-es events");
        start = end;
    }
}

/// W2pg for postgres-es: `EventStore::load_aggregate` reads and folds the whole stream (what a
/// command on it does first); checks the balance.
pub async fn w2_postgres<ES: EventStore<BankAccount>>(store: &ES) {
    let mut context = store.load_aggregate("long").await.expect("load");
    let account = context.aggregate();
    assert!(account.open);
    assert_eq!(account.balance, crate::expected_long_balance());
}

/// A `MemStore` holding `events` bank events, 1,000 per account, committed in batches.
pub async fn filled_store(events: u64) -> MemStore<BankAccount> {
    let store = MemStore::<BankAccount>::default();
    for account in 0..events / 1_000 {
        let id = account.to_string();
        let batch = (0..1_000)
            .map(|n| match n {
                0 => BankEvent::AccountOpened {
                    owner: "owner".into(),
                },
                _ => BankEvent::MoneyDeposited { amount: 10 },
            })
            .collect();
        let context = store.load_aggregate(&id).await.expect("load");
        store
            .commit(batch, context, std::collections::HashMap::new())
            .await
            .expect("fill");
    }
    store
}

/// W5 for cqrs-es: `commands` deposits to `account`, opening it first when `open`.
pub async fn deposits(
    cqrs: &CqrsFramework<BankAccount, MemStore<BankAccount>>,
    account: &str,
    open: bool,
    commands: u64,
) {
    if open {
        let owner = "owner".into();
        cqrs.execute(account, BankCommand::OpenAccount { owner })
            .await
            .expect("open");
    }
    for _ in u64::from(open)..commands {
        cqrs.execute(account, BankCommand::Deposit { amount: 10 })
            .await
            .expect("deposit");
    }
}
