//! The workload through this framework, and the bound with no framework.

use es_core::prelude::*;
use es_core::{Json, NewEvent};

use crate::{COMMANDS_PER_ACCOUNT, accounts, expected_balance, is_deposit, long};

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AccountOpened {
    pub owner: String,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MoneyDeposited {
    pub amount: u64,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MoneyWithdrawn {
    pub amount: u64,
}

#[derive(Command, Debug, Clone)]
pub struct OpenAccount {
    #[id]
    pub account: String,
    pub owner: String,
}

#[derive(Command, Debug, Clone)]
pub struct Deposit {
    #[id]
    pub account: String,
    pub amount: u64,
}

#[derive(Command, Debug, Clone)]
pub struct Withdraw {
    #[id]
    pub account: String,
    pub amount: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("insufficient funds")]
    InsufficientFunds,
}

#[derive(Debug, Clone, Default)]
pub struct BankAccount {
    open: bool,
    balance: u64,
}

#[aggregate(name = "bank-account", error = BankError)]
impl BankAccount {
    #[handle]
    fn open(&self, cmd: OpenAccount) -> AccountOpened {
        AccountOpened { owner: cmd.owner }
    }

    #[handle]
    fn deposit(&self, cmd: Deposit) -> MoneyDeposited {
        MoneyDeposited { amount: cmd.amount }
    }

    #[handle]
    fn withdraw(&self, cmd: Withdraw) -> Result<MoneyWithdrawn, BankError> {
        if cmd.amount > self.balance {
            return Err(BankError::InsufficientFunds);
        }
        Ok(MoneyWithdrawn { amount: cmd.amount })
    }

    #[apply]
    fn opened(&mut self, _: &AccountOpened) {
        self.open = true;
    }

    #[apply]
    fn deposited(&mut self, e: &MoneyDeposited) {
        self.balance += e.amount;
    }

    #[apply]
    fn withdrawn(&mut self, e: &MoneyWithdrawn) {
        self.balance -= e.amount;
    }
}

/// W1 through `App` on the in-memory store.
pub async fn w1() {
    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<BankAccount>()
        .build()
        .expect("build the app");
    send_commands(&app, 0..accounts()).await;
    check_accounts(&app, accounts() - 1..accounts()).await;
}

/// Panics unless each of `accounts`, loaded through `app`, has its 100 events and the
/// workload's balance.
pub async fn check_accounts<S: EventStore>(app: &App<S>, accounts: std::ops::Range<u64>) {
    for account in accounts {
        let (state, version) = app
            .load::<BankAccount>(&account.to_string())
            .await
            .expect("load");
        assert_eq!(version, COMMANDS_PER_ACCOUNT);
        assert!(state.open);
        assert_eq!(state.balance, expected_balance());
    }
}

/// Each of `accounts`' commands, in order: one open, then `COMMANDS_PER_ACCOUNT - 1`
/// alternating deposits and withdrawals (W1 on any store, and each task of W3c).
pub async fn send_commands<S: EventStore>(app: &App<S>, accounts: std::ops::Range<u64>) {
    for account in accounts {
        let account = account.to_string();
        app.send(OpenAccount {
            account: account.clone(),
            owner: "owner".into(),
        })
        .await
        .expect("open");
        for n in 1..COMMANDS_PER_ACCOUNT {
            let account = account.clone();
            if is_deposit(n) {
                app.send(Deposit {
                    account,
                    amount: 10,
                })
                .await
                .expect("deposit");
            } else {
                app.send(Withdraw { account, amount: 5 })
                    .await
                    .expect("withdraw");
            }
        }
    }
}

/// W1's bound: the same decisions and folds on states held in memory, nothing stored.
pub fn w1_bound() {
    let mut states = std::collections::HashMap::new();
    for account in 0..accounts() {
        let state: &mut BankAccount = states.entry(account.to_string()).or_default();
        state.apply(
            &AccountOpened {
                owner: "owner".into(),
            }
            .into(),
        );
        for n in 1..COMMANDS_PER_ACCOUNT {
            let event: BankAccountEvent = if is_deposit(n) {
                MoneyDeposited { amount: 10 }.into()
            } else if state.balance >= 5 {
                MoneyWithdrawn { amount: 5 }.into()
            } else {
                panic!("a withdrawal the workload does not make")
            };
            state.apply(&event);
        }
    }
    std::hint::black_box(states);
}

/// W2's payloads: one account's 100,000 events, serialized.
pub fn w2_payloads() -> Vec<(&'static str, Vec<u8>)> {
    (0..long())
        .map(|n| {
            if n == 0 {
                (
                    "AccountOpened",
                    serde_json::to_vec(&AccountOpened {
                        owner: "owner".into(),
                    }),
                )
            } else {
                (
                    "MoneyDeposited",
                    serde_json::to_vec(&MoneyDeposited { amount: 10 }),
                )
            }
        })
        .map(|(name, payload)| (name, payload.expect("JSON")))
        .collect()
}

/// W2's bound: decode every payload and fold it, no store.
pub fn w2_bound(payloads: &[(&'static str, Vec<u8>)]) {
    let mut state = BankAccount::default();
    for (name, payload) in payloads {
        let event = BankAccountEvent::decode(&Json, name, 1, payload).expect("decode");
        state.apply(&event);
    }
    std::hint::black_box(state);
}

/// W2's store: the account's 100,000 events.
pub async fn w2_store() -> InMemoryEventStore {
    let store = InMemoryEventStore::new();
    seed_long(&store).await;
    store
}

/// Appends W2's stream (the account "long") to `store`, 1,000 events at a time.
pub async fn seed_long<S: EventStore>(store: &S) {
    let stream = BankAccount::stream_name("long");
    let payloads = w2_payloads();
    for chunk in payloads.chunks(1_000) {
        let events = chunk
            .iter()
            .map(|(name, payload)| NewEvent::new(*name, 1, payload.clone()))
            .collect();
        store
            .append(&stream, ExpectedVersion::Any, events)
            .await
            .expect("seed");
    }
}

/// W2 through a new `App` (no cache, no snapshot): hydrate the account from its events.
pub async fn w2<S: EventStore + Clone>(store: &S) {
    let app = App::builder(store.clone())
        .aggregate::<BankAccount>()
        .build()
        .expect("build the app");
    let (state, version) = app.load::<BankAccount>("long").await.expect("load");
    check_long(&state, version);
    std::hint::black_box(state);
}

/// Panics unless `state` and `version` are W2's stream's.
pub fn check_long(state: &BankAccount, version: u64) {
    assert_eq!(version, long());
    assert!(state.open);
    assert_eq!(state.balance, crate::expected_long_balance());
}

/// W5: `commands` deposits to `account` through `app`, opening the account first when `open`.
pub async fn deposits<S: EventStore>(app: &App<S>, account: &str, open: bool, commands: u64) {
    if open {
        app.send(OpenAccount {
            account: account.to_owned(),
            owner: "owner".into(),
        })
        .await
        .expect("open");
    }
    for _ in u64::from(open)..commands {
        app.send(Deposit {
            account: account.to_owned(),
            amount: 10,
        })
        .await
        .expect("deposit");
    }
}

/// The in-memory store holding `events` bank events, 1,000 per account, appended in batches.
pub async fn filled_store(events: u64) -> InMemoryEventStore {
    let store = InMemoryEventStore::new();
    let opened = serde_json::to_vec(&AccountOpened {
        owner: "owner".into(),
    })
    .expect("JSON");
    let deposited = serde_json::to_vec(&MoneyDeposited { amount: 10 }).expect("JSON");
    for account in 0..events / 1_000 {
        let batch = (0..1_000)
            .map(|n| match n {
                0 => NewEvent::new("AccountOpened", 1, opened.clone()),
                _ => NewEvent::new("MoneyDeposited", 1, deposited.clone()),
            })
            .collect();
        store
            .append(
                &BankAccount::stream_name(&account),
                ExpectedVersion::NoStream,
                batch,
            )
            .await
            .expect("fill");
    }
    store
}
