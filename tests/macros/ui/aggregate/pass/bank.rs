//! The bank domain: open, deposit, withdraw, close, with a typed error.

use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(name = "AccountOpened", version = 1)]
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

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AccountClosed;

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

#[derive(Command, Debug, Clone)]
pub struct CloseAccount(#[id] pub String);

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum BankError {
    #[error("account is already open")]
    AlreadyOpen,
    #[error("account is not open")]
    NotOpen,
    #[error("insufficient funds: balance {balance}, requested {requested}")]
    InsufficientFunds { balance: u64, requested: u64 },
    #[error("account still holds {0}")]
    NotEmpty(u64),
}

#[derive(Default, Debug, Clone, PartialEq)]
pub struct BankAccount {
    open: bool,
    balance: u64,
}

#[aggregate(name = "bank-account", error = BankError)]
impl BankAccount {
    #[handle]
    fn open(&self, cmd: OpenAccount) -> Result<AccountOpened, BankError> {
        if self.open {
            return Err(BankError::AlreadyOpen);
        }
        Ok(AccountOpened { owner: cmd.owner })
    }

    #[handle]
    fn deposit(&self, cmd: Deposit) -> Result<MoneyDeposited, BankError> {
        if !self.open {
            return Err(BankError::NotOpen);
        }
        Ok(MoneyDeposited { amount: cmd.amount })
    }

    #[handle]
    fn withdraw(&self, cmd: Withdraw) -> Result<MoneyWithdrawn, BankError> {
        if !self.open {
            return Err(BankError::NotOpen);
        }
        if cmd.amount > self.balance {
            return Err(BankError::InsufficientFunds {
                balance: self.balance,
                requested: cmd.amount,
            });
        }
        Ok(MoneyWithdrawn { amount: cmd.amount })
    }

    #[handle]
    fn close(&self, _cmd: CloseAccount) -> Result<AccountClosed, BankError> {
        if !self.open {
            return Err(BankError::NotOpen);
        }
        if self.balance > 0 {
            return Err(BankError::NotEmpty(self.balance));
        }
        Ok(AccountClosed)
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

    #[apply]
    fn closed(&mut self, _: &AccountClosed) {
        self.open = false;
    }

    /// Not marked: left alone.
    fn balance(&self) -> u64 {
        self.balance
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(<BankAccount as Aggregate>::NAME, "bank-account");
    assert_eq!(
        <BankAccountEvent as EventSet>::NAMES,
        ["AccountOpened", "MoneyDeposited", "MoneyWithdrawn", "AccountClosed"]
    );

    // The generated code, called directly.
    let mut account = BankAccount::default();
    let events = account
        .handle(OpenAccount { account: "a".into(), owner: "Ann".into() }.into(), &())
        .await
        .unwrap();
    assert_eq!(events, vec![BankAccountEvent::AccountOpened(AccountOpened { owner: "Ann".into() })]);
    for event in &events {
        account.apply(event);
    }
    let rejected = account.handle(Withdraw { account: "a".into(), amount: 1 }.into(), &()).await;
    assert_eq!(rejected, Err(BankError::InsufficientFunds { balance: 0, requested: 1 }));

    // Through the app and the in-memory store.
    let app = App::builder(InMemoryEventStore::new()).aggregate::<BankAccount>().build().expect("build the app");
    app.send(OpenAccount { account: "alice".into(), owner: "Alice".into() }).await.unwrap();
    app.send(Deposit { account: "alice".into(), amount: 50 }).await.unwrap();
    let committed = app.send(Withdraw { account: "alice".into(), amount: 20 }).await.unwrap();
    assert_eq!(committed.stream, "bank-account-alice");
    assert_eq!(committed.version, 3);
    assert_eq!(committed.events, vec![MoneyWithdrawn { amount: 20 }.into()]);

    let Err(error) = app.send(Withdraw { account: "alice".into(), amount: 100 }).await else {
        panic!("overdraft");
    };
    assert_eq!(
        error.rejection(),
        Some(&BankError::InsufficientFunds { balance: 30, requested: 100 })
    );
    let Err(error) = app.send(CloseAccount("alice".into())).await else {
        panic!("closing a funded account");
    };
    assert_eq!(error.rejection(), Some(&BankError::NotEmpty(30)));
    app.send(Withdraw { account: "alice".into(), amount: 30 }).await.unwrap();
    let committed = app.send(CloseAccount("alice".into())).await.unwrap();
    assert_eq!(committed.events, vec![BankAccountEvent::AccountClosed(AccountClosed)]);

    let (state, version) = app.load::<BankAccount>("alice").await.unwrap();
    assert_eq!(version, 5);
    assert!(!state.open);
    assert_eq!(state.balance(), 0);
}
