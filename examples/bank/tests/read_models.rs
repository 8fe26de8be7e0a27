//! The bank's read models: balances and history through the query bus, on the embedded SQLite
//! store, across restarts and rebuilds.

use bank::{
    AccountOpened, AccountSummary, AllBalances, Balances, BankAccount, CloseAccount, Deposit,
    GetBalance, GetHistory, History, MoneyDeposited, MoneyWithdrawn, OpenAccount, Withdraw,
};
use es_core::prelude::*;

type Bank = App<SqliteEventStore>;

async fn bank(path: &std::path::Path) -> Bank {
    let store = SqliteEventStore::open(path).await.expect("open");
    App::builder(store)
        .aggregate::<BankAccount>()
        .projection(Balances::default())
        .projection(History::default())
        .build()
        .expect("build the app")
}

async fn script(app: &Bank) {
    let open = |account: &str, owner: &str| OpenAccount {
        account: account.into(),
        owner: owner.into(),
    };
    app.send(open("alice", "Alice")).await.expect("open");
    app.send(open("bob", "Bob")).await.expect("open");
    for amount in [100, 20] {
        let deposit = Deposit {
            account: "alice".into(),
            amount,
        };
        app.send(deposit).await.expect("deposit");
    }
    let withdraw = Withdraw {
        account: "alice".into(),
        amount: 500,
    };
    assert!(app.send(withdraw).await.is_err(), "an overdraft is refused");
    let withdraw = Withdraw {
        account: "alice".into(),
        amount: 30,
    };
    app.send(withdraw).await.expect("withdraw");
    app.send(CloseAccount {
        account: "bob".into(),
    })
    .await
    .expect("close");
}

fn balance(account: &str) -> GetBalance {
    GetBalance {
        account: account.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_and_history_follow_the_commands() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let app = bank(&dir.path().join("bank.db")).await;
    script(&app).await;
    let alice = app.query(balance("alice")).await.expect("query");
    assert_eq!(
        alice,
        Some(AccountSummary {
            owner: "Alice".into(),
            balance: 90,
            closed: false,
        })
    );
    let bob = app
        .query(balance("bob"))
        .await
        .expect("query")
        .expect("bob");
    assert!(bob.closed);
    assert_eq!(app.query(balance("carol")).await.expect("query"), None);

    let history = app
        .query(GetHistory {
            account: "alice".into(),
        })
        .await
        .expect("query");
    let what: Vec<&str> = history.iter().map(|entry| entry.what.as_str()).collect();
    assert_eq!(
        what,
        [
            "opened for Alice",
            "deposited 100",
            "deposited 20",
            "withdrew 30"
        ]
    );
    let stored = app
        .store()
        .read_stream(&BankAccount::stream_name("alice"), 1, 10)
        .await
        .expect("read");
    for (entry, record) in history.iter().zip(&stored) {
        assert_eq!(
            (entry.version, entry.position),
            (record.version, record.position)
        );
        assert_eq!(entry.correlation_id, record.metadata.correlation_id);
        assert_eq!(entry.causation_id, record.metadata.causation_id);
        assert!(
            entry.causation_id.is_some(),
            "every event names its command"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_rebuilds_the_read_models_from_the_file_and_rebuild_agrees() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("bank.db");
    let before = {
        let app = bank(&path).await;
        script(&app).await;
        app.query(AllBalances).await.expect("query")
    };
    let app = bank(&path).await;
    let after_restart = app.query(AllBalances).await.expect("query");
    assert_eq!(
        after_restart, before,
        "a new process catches up from the events"
    );

    let mut reported = Vec::new();
    let reached = app
        .rebuild(Balances::default(), |position| reported.push(position))
        .await
        .expect("rebuild");
    assert_eq!(reached, *app.store().head().borrow());
    assert_eq!(reported.last(), Some(&reached), "progress ends at the head");
    assert_eq!(app.query(AllBalances).await.expect("query"), before);
}

/// The balances read model alone, given events of two accounts.
#[test]
fn balances_answer_from_given_events() {
    use es_core::testing::ProjectionFixture;

    ProjectionFixture::new(Balances::default())
        .given::<BankAccount>(
            "alice-1",
            AccountOpened {
                owner: "Alice".into(),
            },
        )
        .given::<BankAccount>("alice-1", MoneyDeposited { amount: 70 })
        .given::<BankAccount>(
            "bob",
            AccountOpened {
                owner: "Bob".into(),
            },
        )
        .given::<BankAccount>("alice-1", MoneyWithdrawn { amount: 20 })
        .then_answers(
            GetBalance {
                account: "alice-1".into(),
            },
            Some(AccountSummary {
                owner: "Alice".into(),
                balance: 50,
                closed: false,
            }),
        )
        .then_answers(
            GetBalance {
                account: "carol".into(),
            },
            None,
        );
}
