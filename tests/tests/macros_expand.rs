//! The bank aggregate compiled as an ordinary test crate, so that the macros' output goes
//! through the workspace lints (clippy pedantic, `missing_docs`, `unreachable_pub`) under
//! `cargo clippy --all-targets -- -D warnings`, and its generated code runs.

use es_core::prelude::*;

/// An account was opened.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(name = "AccountOpened", version = 1)]
pub struct AccountOpened {
    /// Who owns it.
    pub owner: String,
}

/// Money came in.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MoneyDeposited {
    /// How much.
    pub amount: u64,
}

/// Money went out.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MoneyWithdrawn {
    /// How much.
    pub amount: u64,
}

/// Open an account.
#[derive(Command, Debug, Clone)]
pub struct OpenAccount {
    /// Which account.
    #[id]
    pub account: String,
    /// Who owns it.
    pub owner: String,
}

/// Deposit money.
#[derive(Command, Debug, Clone)]
pub struct Deposit {
    /// Which account.
    #[id]
    pub account: String,
    /// How much.
    pub amount: u64,
}

/// Withdraw money.
#[derive(Command, Debug, Clone)]
pub struct Withdraw(#[id] pub String, pub u64);

/// Why the bank refuses.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    /// Opened twice.
    #[error("account is already open")]
    AlreadyOpen,
    /// Not opened yet.
    #[error("account is not open")]
    NotOpen,
    /// Not enough money.
    #[error("insufficient funds: balance {balance}, requested {requested}")]
    InsufficientFunds {
        /// What there is.
        balance: u64,
        /// What was asked.
        requested: u64,
    },
}

/// Read-only services the handlers use.
#[derive(Debug, Default)]
pub struct Limits {
    /// The largest single deposit.
    pub max_deposit: u64,
}

/// A bank account.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    open: bool,
    balance: u64,
}

#[aggregate(error = BankError, services = Limits)]
impl BankAccount {
    #[handle]
    fn open(&self, cmd: OpenAccount) -> Result<AccountOpened, BankError> {
        if self.open {
            return Err(BankError::AlreadyOpen);
        }
        Ok(AccountOpened { owner: cmd.owner })
    }

    #[handle]
    async fn deposit(
        &self,
        cmd: Deposit,
        limits: &Limits,
    ) -> Result<Vec<MoneyDeposited>, BankError> {
        if !self.open {
            return Err(BankError::NotOpen);
        }
        tokio::task::yield_now().await;
        let mut left = cmd.amount;
        let mut events = Vec::new();
        while left > 0 {
            let amount = left.min(limits.max_deposit);
            events.push(MoneyDeposited { amount });
            left -= amount;
        }
        Ok(events)
    }

    #[handle]
    fn withdraw(&self, cmd: Withdraw) -> Result<Option<MoneyWithdrawn>, BankError> {
        if cmd.1 > self.balance {
            return Err(BankError::InsufficientFunds {
                balance: self.balance,
                requested: cmd.1,
            });
        }
        Ok((cmd.1 > 0).then_some(MoneyWithdrawn { amount: cmd.1 }))
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

fn app() -> App<InMemoryEventStore> {
    App::builder(InMemoryEventStore::new())
        .aggregate_with::<BankAccount>(Limits { max_deposit: 100 })
        .build()
        .expect("build the app")
}

#[tokio::test]
async fn generated_code_runs_the_bank() {
    let app = app();
    app.send(OpenAccount {
        account: "alice".into(),
        owner: "Alice".into(),
    })
    .await
    .unwrap();
    let committed = app
        .send(Deposit {
            account: "alice".into(),
            amount: 250,
        })
        .await
        .unwrap();
    assert_eq!(
        committed.events,
        vec![
            MoneyDeposited { amount: 100 }.into(),
            MoneyDeposited { amount: 100 }.into(),
            MoneyDeposited { amount: 50 }.into(),
        ]
    );
    assert_eq!(committed.stream, "bank-account-alice");
    assert_eq!(committed.version, 4);

    let committed = app.send(Withdraw("alice".into(), 0)).await.unwrap();
    assert!(committed.events.is_empty());
    let Err(error) = app.send(Withdraw("alice".into(), 300)).await else {
        panic!("an overdraft is refused");
    };
    assert_eq!(
        error.rejection(),
        Some(&BankError::InsufficientFunds {
            balance: 250,
            requested: 300
        })
    );
    let (state, version) = app.load::<BankAccount>("alice").await.unwrap();
    assert_eq!((state.balance, version), (250, 4));
}

#[tokio::test]
async fn generated_event_set_round_trips() {
    assert_eq!(
        <BankAccountEvent as EventSet>::NAMES,
        ["AccountOpened", "MoneyDeposited", "MoneyWithdrawn"]
    );
    let event = BankAccountEvent::from(MoneyWithdrawn { amount: 7 });
    assert_eq!((event.name(), event.version()), ("MoneyWithdrawn", 1));
    let payload = event.encode(&es_core::Json).unwrap();
    assert_eq!(payload, br#"{"amount":7}"#);
    let decoded = BankAccountEvent::decode(&es_core::Json, "MoneyWithdrawn", 1, &payload).unwrap();
    assert_eq!(decoded, event);
    let unknown = BankAccountEvent::decode(&es_core::Json, "Nope", 1, &payload).unwrap_err();
    assert!(unknown.to_string().contains("Nope"), "{unknown}");

    let account = BankAccount::default();
    let refused = account
        .handle(
            Deposit {
                account: "bob".into(),
                amount: 1,
            }
            .into(),
            &Limits::default(),
        )
        .await;
    assert_eq!(refused, Err(BankError::NotOpen));
}
