//! The bank's decisions (through the fixture) and its command path (through `App`).

use bank::{
    AccountClosed, AccountOpened, BankAccount, BankError, CloseAccount, Deposit, MoneyDeposited,
    MoneyWithdrawn, OpenAccount, Status, Withdraw,
};
use es_core::prelude::*;
use es_core::testing::TestFixture;

fn opened() -> AccountOpened {
    AccountOpened {
        owner: "Ada".into(),
    }
}

fn deposit(amount: u64) -> Deposit {
    Deposit {
        account: "a".into(),
        amount,
    }
}

fn withdraw(amount: u64) -> Withdraw {
    Withdraw {
        account: "a".into(),
        amount,
    }
}

#[tokio::test]
async fn opening_records_the_owner() {
    let state = TestFixture::<BankAccount>::new()
        .when(OpenAccount {
            account: "a".into(),
            owner: "Ada".into(),
        })
        .await
        .then_expect_events(opened());
    assert_eq!(state.status, Status::Open);
    assert_eq!(state.owner, "Ada");
}

#[tokio::test]
async fn opening_twice_is_refused() {
    TestFixture::<BankAccount>::new()
        .given(opened())
        .when(OpenAccount {
            account: "a".into(),
            owner: "Bob".into(),
        })
        .await
        .then_expect_error(BankError::AlreadyOpen);
}

#[tokio::test]
async fn deposits_add_up() {
    let state = TestFixture::<BankAccount>::new()
        .given((opened(), MoneyDeposited { amount: 40 }))
        .when(deposit(2))
        .await
        .then_expect_events(MoneyDeposited { amount: 2 });
    assert_eq!(state.balance, 42);
}

#[tokio::test]
async fn deposits_need_an_open_account_and_a_positive_amount() {
    TestFixture::<BankAccount>::new()
        .when(deposit(5))
        .await
        .then_expect_error(BankError::NotOpen);
    TestFixture::<BankAccount>::new()
        .given(opened())
        .when(deposit(0))
        .await
        .then_expect_error(BankError::ZeroAmount);
}

#[tokio::test]
async fn withdrawals_within_the_balance_succeed() {
    let state = TestFixture::<BankAccount>::new()
        .given((opened(), MoneyDeposited { amount: 100 }))
        .when(withdraw(30))
        .await
        .then_expect_events(MoneyWithdrawn { amount: 30 });
    assert_eq!(state.balance, 70);
}

#[tokio::test]
async fn an_overdraft_is_refused_with_the_balance() {
    TestFixture::<BankAccount>::new()
        .given((
            opened(),
            MoneyDeposited { amount: 10 },
            MoneyWithdrawn { amount: 5 },
        ))
        .when(withdraw(30))
        .await
        .then_expect_error(BankError::InsufficientFunds {
            balance: 5,
            requested: 30,
        });
}

#[tokio::test]
async fn closing_needs_a_zero_balance() {
    TestFixture::<BankAccount>::new()
        .given((opened(), MoneyDeposited { amount: 10 }))
        .when(CloseAccount {
            account: "a".into(),
        })
        .await
        .then_expect_error(BankError::BalanceNotZero { balance: 10 });
    let state = TestFixture::<BankAccount>::new()
        .given((
            opened(),
            MoneyDeposited { amount: 10 },
            MoneyWithdrawn { amount: 10 },
        ))
        .when(CloseAccount {
            account: "a".into(),
        })
        .await
        .then_expect_events(AccountClosed {});
    assert_eq!(state.status, Status::Closed);
}

#[tokio::test]
async fn a_closed_account_refuses_every_command() {
    let closed = (opened(), AccountClosed {});
    let fixture = || TestFixture::<BankAccount>::new().given(closed.clone());
    fixture()
        .when(deposit(1))
        .await
        .then_expect_error(BankError::Closed);
    fixture()
        .when(withdraw(1))
        .await
        .then_expect_error(BankError::Closed);
    fixture()
        .when(CloseAccount {
            account: "a".into(),
        })
        .await
        .then_expect_error(BankError::Closed);
}

fn app(store: InMemoryEventStore) -> App<InMemoryEventStore> {
    App::builder(store)
        .max_retries(50)
        .aggregate::<BankAccount>()
        .build()
}

#[tokio::test]
async fn the_command_path_appends_and_returns_versions_and_positions() {
    let app = app(InMemoryEventStore::new());
    let opened = app
        .send(OpenAccount {
            account: "a".into(),
            owner: "Ada".into(),
        })
        .await
        .unwrap();
    assert_eq!((opened.version, opened.position), (1, Some(1)));
    assert_eq!(opened.stream, "bank-account-a");
    let deposited = app.send(deposit(70)).await.unwrap();
    assert_eq!((deposited.version, deposited.position), (2, Some(2)));
    let refused = app.send(withdraw(100)).await.unwrap_err();
    assert_eq!(
        refused.into_rejection().unwrap(),
        BankError::InsufficientFunds {
            balance: 70,
            requested: 100
        }
    );
    assert_eq!(app.store().len(), 2, "a refused command writes nothing");
    let (state, version) = app.load::<BankAccount>("a").await.unwrap();
    assert_eq!((state.balance, version), (70, 2));
}

#[tokio::test]
async fn a_stale_cache_conflicts_catches_up_and_retries() {
    let store = InMemoryEventStore::new();
    let (node_a, node_b) = (app(store.clone()), app(store.clone()));
    node_a
        .send(OpenAccount {
            account: "a".into(),
            owner: "Ada".into(),
        })
        .await
        .unwrap();
    node_b.send(deposit(10)).await.unwrap(); // hydrates node b at version 2
    node_a.send(deposit(10)).await.unwrap(); // node a catches up to 2, appends 3
    let committed = node_b.send(deposit(5)).await.unwrap(); // node b still thinks 2
    assert_eq!(committed.retries, 1, "node b's first append must conflict");
    assert_eq!(committed.version, 4);
    // Node a still thinks 3 (balance 20): its stale state would refuse this withdrawal, so it
    // must re-check the stream before refusing, and then accept.
    let committed = node_a.send(withdraw(25)).await.unwrap();
    assert_eq!(committed.version, 5);
    let (state, _) = node_b.load::<BankAccount>("a").await.unwrap();
    assert_eq!(state.balance, 0);
    // A refusal on the latest state stands, and writes nothing.
    let refused = node_b.send(withdraw(1)).await.unwrap_err();
    assert!(matches!(
        refused.rejection(),
        Some(BankError::InsufficientFunds {
            balance: 0,
            requested: 1
        })
    ));
    assert_eq!(store.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_senders_on_one_stream_lose_nothing() {
    let store = InMemoryEventStore::new();
    let (node_a, node_b) = (app(store.clone()), app(store.clone()));
    node_a
        .send(OpenAccount {
            account: "a".into(),
            owner: "Ada".into(),
        })
        .await
        .unwrap();
    node_b.load::<BankAccount>("a").await.unwrap();
    let senders = [node_a.clone(), node_b.clone()].map(|node| {
        tokio::spawn(async move {
            let mut retries = 0;
            for _ in 0..100 {
                retries += node.send(deposit(1)).await.unwrap().retries;
            }
            retries
        })
    });
    let mut retries = 0;
    for sender in senders {
        retries += sender.await.unwrap();
    }
    // Both nodes were hydrated at version 1: whichever appends second conflicts at least once.
    assert!(
        retries >= 1,
        "expected at least one conflict, saw {retries}"
    );
    let (state, version) = node_a.load::<BankAccount>("a").await.unwrap();
    assert_eq!((state.balance, version), (200, 201));
    assert_eq!(store.len(), 201, "nothing lost, nothing duplicated");
    eprintln!("two nodes x 100 deposits on one stream: {retries} conflicts retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_to_different_streams_run_concurrently_and_to_one_stream_queue() {
    let app = app(InMemoryEventStore::new());
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let app = app.clone();
            tokio::spawn(async move {
                let account = format!("acct-{}", task % 4);
                let _ = app
                    .send(OpenAccount {
                        account: account.clone(),
                        owner: "Ada".into(),
                    })
                    .await;
                for _ in 0..50 {
                    let committed = app
                        .send(Deposit {
                            account: account.clone(),
                            amount: 1,
                        })
                        .await
                        .unwrap();
                    assert_eq!(
                        committed.retries, 0,
                        "one process never conflicts with itself"
                    );
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for account in 0..4 {
        let (state, version) = app
            .load::<BankAccount>(&format!("acct-{account}"))
            .await
            .unwrap();
        assert_eq!((state.balance, version), (100, 101));
    }
}
