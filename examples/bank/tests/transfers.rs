//! Transfers between accounts: one atomic decision over two aggregates. 1,000 random transfers
//! from 8 concurrent tasks on each store conserve the money, overdraw no account, and leave
//! exactly two events per transfer; refusals write nothing.

use bank::{BankAccount, BankError, Deposit, OpenAccount, TransferError, transfer};
use es_core::SqliteEventStore;
use es_core::prelude::*;

const ACCOUNTS: usize = 10;
const OPENING: u64 = 1_000;
const TASKS: u64 = 8;
const TRANSFERS_PER_TASK: u64 = 125;

fn bank<S: EventStore>(store: S) -> App<S> {
    App::builder(store)
        .aggregate::<BankAccount>()
        .build()
        .expect("build the app")
}

async fn open_accounts<S: EventStore>(app: &App<S>, prefix: &str) -> Vec<String> {
    let mut accounts = Vec::new();
    for index in 0..ACCOUNTS {
        let account = format!("{prefix}-{index}");
        app.send(OpenAccount {
            account: account.clone(),
            owner: format!("Owner {index}"),
        })
        .await
        .expect("open");
        app.send(Deposit {
            account: account.clone(),
            amount: OPENING,
        })
        .await
        .expect("deposit");
        accounts.push(account);
    }
    accounts
}

/// 8 tasks, each making random transfers; then the books are checked from the store.
async fn random_transfers_conserve_money<S: EventStore + Clone>(store: S) {
    let app = bank(store.clone());
    let accounts = open_accounts(&app, &format!("t{}", uuid::Uuid::now_v7().simple())).await;
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (app, accounts) = (app.clone(), accounts.clone());
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(task);
                let (mut made, mut refused) = (0, 0);
                for _ in 0..TRANSFERS_PER_TASK {
                    let from = rng.usize(..accounts.len());
                    let to = (from + 1 + rng.usize(..accounts.len() - 1)) % accounts.len();
                    match transfer(&app, &accounts[from], &accounts[to], rng.u64(1..=400)).await {
                        Ok(done) => {
                            assert_eq!(done.streams.len(), 2, "{done:?}");
                            made += 1;
                        }
                        Err(TransactionError::Rejected(CommandError::Rejected(
                            BankError::InsufficientFunds { .. },
                        ))) => refused += 1,
                        Err(error) => panic!("a transfer failed: {error}"),
                    }
                }
                (made, refused)
            })
        })
        .collect();
    let (mut made, mut refused) = (0, 0);
    for task in tasks {
        let (m, r) = task.await.expect("a transfer task");
        made += m;
        refused += r;
    }
    assert_eq!(made + refused, TASKS * TRANSFERS_PER_TASK);
    assert!(made > 0 && refused > 0, "made {made}, refused {refused}");
    // A fresh app replays every account from the store: nothing cached.
    let fresh = bank(store);
    let mut total = 0;
    let mut events = 0;
    for account in &accounts {
        let (state, version) = fresh.load::<BankAccount>(account).await.expect("load");
        total += state.balance;
        events += version;
    }
    assert_eq!(
        total,
        OPENING * ACCOUNTS as u64,
        "money was created or destroyed"
    );
    assert_eq!(
        events,
        2 * ACCOUNTS as u64 + 2 * made,
        "{made} transfers made, but the accounts hold {events} events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_transfers_conserve_money_in_memory() {
    random_transfers_conserve_money(InMemoryEventStore::new()).await;
}

/// A store chosen at run time, as the command line has it: its transactions run in spawned
/// tasks too (their futures are `Send`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_transfers_conserve_money_in_a_store_chosen_at_run_time() {
    random_transfers_conserve_money(AnyEventStore::new(InMemoryEventStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_transfers_conserve_money_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteEventStore::open(dir.path().join("bank.db"))
        .await
        .expect("open");
    random_transfers_conserve_money(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_transfers_conserve_money_on_postgres() {
    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        eprintln!("WARNING: PostgreSQL test DID NOT RUN: ES_POSTGRES_URL is not set");
        return;
    };
    let store = PostgresEventStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    random_transfers_conserve_money(store).await;
}

/// A refused transfer writes nothing to either account, and says why.
#[tokio::test]
async fn refused_transfers_write_nothing() {
    let app = bank(InMemoryEventStore::new());
    let accounts = open_accounts(&app, "r").await;
    let (from, to) = (&accounts[0], &accounts[1]);
    let refusals: [(&str, &str, u64, BankError); 4] = [
        (
            from,
            to,
            OPENING + 1,
            BankError::InsufficientFunds {
                balance: OPENING,
                requested: OPENING + 1,
            },
        ),
        (from, to, 0, BankError::ZeroAmount),
        (from, "nobody", 10, BankError::NotOpen),
        (from, from, 10, BankError::SameAccount),
    ];
    for (from, to, amount, why) in refusals {
        match transfer(&app, from, to, amount).await {
            Err(TransferError::Rejected(CommandError::Rejected(error))) => assert_eq!(error, why),
            other => panic!("transfer {amount} from {from} to {to}: {other:?}"),
        }
    }
    for account in [from, to] {
        let (state, version) = app.load::<BankAccount>(account).await.expect("load");
        assert_eq!((state.balance, version), (OPENING, 2), "{account} changed");
    }
    let done = transfer(&app, from, to, 250).await.expect("a transfer");
    assert_eq!(
        done.streams,
        [
            (format!("bank-account-{from}"), 3),
            (format!("bank-account-{to}"), 3)
        ]
    );
    let (paying, _) = app.load::<BankAccount>(from).await.expect("load");
    let (paid, _) = app.load::<BankAccount>(to).await.expect("load");
    assert_eq!(
        (paying.balance, paid.balance),
        (OPENING - 250, OPENING + 250)
    );
}
