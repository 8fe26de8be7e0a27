//! The bank's decisions (through the fixture) and its command path (through `App`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bank::{
    AccountClosed, AccountOpened, BankAccount, BankError, CloseAccount, Deposit, MoneyDeposited,
    MoneyWithdrawn, OpenAccount, Status, Withdraw,
};
use es_core::prelude::*;
use es_core::testing::TestFixture;
use es_core::{
    AppendResult, Error, NewEvent, RecordedEvent, ReplayedEvent, Snapshot, StreamAppend,
};
use tokio::sync::{Barrier, watch};
use uuid::Uuid;

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

fn app<S: EventStore>(store: S) -> App<S> {
    App::builder(store)
        .max_retries(50)
        .aggregate::<BankAccount>()
        .build()
        .expect("build the app")
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
    assert_eq!((opened.version, opened.position), (1, 1));
    assert_eq!(opened.stream, "bank-account-a");
    let deposited = app.send(deposit(70)).await.unwrap();
    assert_eq!((deposited.version, deposited.position), (2, 2));
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

/// The in-memory store, counting the appends it refuses as conflicts; while `stall` is set,
/// an append never finishes (a store that hangs, for a caller that gives up).
#[derive(Clone, Default)]
struct ConflictCounting {
    store: InMemoryEventStore,
    conflicts: Arc<AtomicU32>,
    stall: Arc<std::sync::atomic::AtomicBool>,
}

impl EventStore for ConflictCounting {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        if self.stall.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let result = self.store.append(stream, expected, events).await;
        if result.as_ref().is_err_and(Error::is_conflict) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        result
    }
    async fn append_streams(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        let result = self.store.append_streams(parts).await;
        if result.as_ref().is_err_and(Error::is_conflict) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        result
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        self.store.read_stream(stream, from, limit).await
    }
    async fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn FnMut(ReplayedEvent<'_>) -> Result<(), Error> + Send),
    ) -> Result<usize, Error> {
        self.store.fold_stream(stream, from, limit, each).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        self.store.read_all(after, limit).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        self.store.stream_version(stream).await
    }
    async fn find_event(&self, id: Uuid) -> Result<Option<RecordedEvent>, Error> {
        self.store.find_event(id).await
    }
    fn head(&self) -> watch::Receiver<u64> {
        self.store.head()
    }
    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        self.store.save_snapshot(stream, snapshot).await
    }
    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error> {
        self.store.load_snapshot(stream, max_version).await
    }
    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        self.store.save_checkpoint(name, position).await
    }
    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error> {
        self.store.load_checkpoint(name).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_senders_on_one_stream_lose_nothing() {
    let store = ConflictCounting::default();
    let (node_a, node_b) = (app(store.clone()), app(store.clone()));
    node_a
        .send(OpenAccount {
            account: "a".into(),
            owner: "Ada".into(),
        })
        .await
        .unwrap();
    node_b.load::<BankAccount>("a").await.unwrap();
    // Both start at once and yield between commands: an in-memory send never waits, so
    // without this one sender often finishes before the other begins.
    let start = Arc::new(Barrier::new(2));
    let senders = [node_a.clone(), node_b.clone()].map(|node| {
        let start = Arc::clone(&start);
        tokio::spawn(async move {
            start.wait().await;
            let mut outcomes = Vec::with_capacity(100);
            for _ in 0..100 {
                outcomes.push(node.send(deposit(1)).await.unwrap());
                tokio::task::yield_now().await;
            }
            outcomes
        })
    });
    let mut committed = Vec::with_capacity(200);
    for sender in senders {
        let outcomes = sender.await.unwrap();
        assert!(
            outcomes
                .windows(2)
                .all(|pair| pair[0].version < pair[1].version),
            "a sender's own commands commit in the order it sent them"
        );
        committed.extend(outcomes);
    }

    // Every command committed its one event at a version of its own: together they fill
    // versions 2 to 201, no gap (nothing lost) and no version twice (nothing duplicated).
    let mut versions: Vec<u64> = committed.iter().map(|outcome| outcome.version).collect();
    versions.sort_unstable();
    assert_eq!(versions, (2..=201).collect::<Vec<_>>());
    // What each sender was told is what the store holds, and the store holds nothing else.
    let stored = store
        .read_stream("bank-account-a", 2, usize::MAX)
        .await
        .unwrap();
    assert_eq!(stored.len(), 200);
    assert_eq!(store.store.len(), 201, "the opening and 200 deposits");
    for outcome in &committed {
        assert_eq!(outcome.events, vec![MoneyDeposited { amount: 1 }.into()]);
        let record = &stored[usize::try_from(outcome.version - 2).unwrap()];
        assert_eq!(
            (record.version, record.position, &*record.name),
            (outcome.version, outcome.position, MoneyDeposited::NAME)
        );
    }

    // Each retry answers one conflict the store refused, and every conflict was retried (none
    // surfaced as an error). Both nodes were hydrated at version 1, so whichever appends second
    // conflicts at least once.
    let retries: u32 = committed.iter().map(|outcome| outcome.retries).sum();
    assert_eq!(retries, store.conflicts.load(Ordering::SeqCst));
    assert!(
        retries >= 1,
        "expected at least one conflict, saw {retries}"
    );
    let (state, version) = node_a.load::<BankAccount>("a").await.unwrap();
    assert_eq!((state.balance, version), (200, 201));
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

#[tokio::test]
async fn a_send_dropped_during_its_append_leaves_no_trace_in_the_cache() {
    let store = ConflictCounting::default();
    let node = app(store.clone());
    node.send(OpenAccount {
        account: "a".into(),
        owner: "Ada".into(),
    })
    .await
    .unwrap();
    node.send(deposit(100)).await.unwrap();
    store.stall.store(true, Ordering::SeqCst);
    let gave_up = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        node.send(withdraw(100)),
    )
    .await;
    assert!(gave_up.is_err(), "the append never finished");
    store.stall.store(false, Ordering::SeqCst);
    // The withdrawal was applied to the cached state before the append, which never happened.
    let (state, version) = node.load::<BankAccount>("a").await.unwrap();
    assert_eq!(
        (state.balance, version),
        (100, 2),
        "the cache holds what the store holds"
    );
    let committed = node.send(withdraw(50)).await.unwrap();
    assert_eq!(committed.version, 3);
}
