//! Wires to another bank, run by the `WireProcess` process manager: the money is withdrawn on
//! request, kept when the other bank confirms in time, refunded when the deadline passes first,
//! never moved when the account cannot pay; a restart from an old checkpoint repeats nothing.
//! The deadline is fired by advancing a manual clock: no test sleeps for it.

use std::time::Duration;

use bank::wire::{ConfirmWire, RequestWire, Wire, WireProcess, WireSettings, WireStatus};
use bank::{BankAccount, BankError, Deposit, OpenAccount};
use es_core::prelude::*;
use es_core::process::{ManualClock, ProcessManager};
use es_core::record::Timestamp;

fn app(store: InMemoryEventStore) -> App<InMemoryEventStore> {
    App::builder(store)
        .aggregate::<BankAccount>()
        .aggregate::<Wire>()
        .build()
        .expect("build the app")
}

async fn open(app: &App<InMemoryEventStore>, account: &str, amount: u64) {
    app.send(OpenAccount {
        account: account.into(),
        owner: account.into(),
    })
    .await
    .expect("open");
    app.send(Deposit {
        account: account.into(),
        amount,
    })
    .await
    .expect("deposit");
}

async fn balance(app: &App<InMemoryEventStore>, account: &str) -> u64 {
    app.load::<BankAccount>(account)
        .await
        .expect("load")
        .0
        .balance
}

async fn status(app: &App<InMemoryEventStore>, wire: &str) -> WireStatus {
    app.load::<Wire>(wire).await.expect("load").0.status
}

fn wire(id: &str, from: &str, amount: u64) -> RequestWire {
    RequestWire {
        wire: id.into(),
        from: from.into(),
        to: "other-bank/acct-9".into(),
        amount,
    }
}

/// Runs the process until it has nothing left to do.
async fn settle(runner: &mut ProcessRunner<WireProcess, InMemoryEventStore>) {
    for _ in 0..10 {
        let progress = runner.run_once().await.expect("a run");
        assert!(progress.leading, "the only runner holds the lease");
        if progress.events == 0 && progress.deadlines == 0 {
            return;
        }
    }
    panic!("the process kept finding work");
}

#[tokio::test]
async fn confirmed_refunded_and_failed_wires() {
    let store = InMemoryEventStore::new();
    let app = app(store.clone());
    let clock = ManualClock::new(Timestamp(1_000_000_000_000));
    let mut runner = ProcessRunner::<WireProcess, _>::new(app.clone(), WireSettings::default())
        .clock(clock.clone());
    open(&app, "alice", 1_000).await;
    open(&app, "bob", 50).await;

    app.send(wire("w1", "alice", 300)).await.expect("request");
    app.send(wire("w2", "alice", 200)).await.expect("request");
    app.send(wire("w3", "bob", 80)).await.expect("request");
    settle(&mut runner).await;
    assert_eq!(balance(&app, "alice").await, 500, "both wires withdrawn");
    assert_eq!(balance(&app, "bob").await, 50, "bob could not pay");
    assert_eq!(status(&app, "w3").await, WireStatus::Failed);

    app.send(ConfirmWire { wire: "w1".into() })
        .await
        .expect("the other bank confirms in time");
    settle(&mut runner).await;
    clock.advance(Duration::from_secs(59));
    settle(&mut runner).await;
    assert_eq!(status(&app, "w2").await, WireStatus::Sent, "not due yet");

    clock.advance(Duration::from_secs(2));
    settle(&mut runner).await;
    assert_eq!(status(&app, "w1").await, WireStatus::Confirmed);
    assert_eq!(status(&app, "w2").await, WireStatus::Refunded);
    assert_eq!(balance(&app, "alice").await, 700, "w2 refunded, w1 kept");
    let late = app.send(ConfirmWire { wire: "w2".into() }).await;
    assert!(
        matches!(late, Err(CommandError::Rejected(BankError::WireSettled))),
        "a late confirmation of a refunded wire is refused: {late:?}"
    );

    // A new node from an old checkpoint: every event is delivered again, nothing repeats.
    store
        .save_checkpoint(&format!("process-{}", WireProcess::NAME), 0)
        .await
        .expect("rewind");
    let mut again = ProcessRunner::<WireProcess, _>::new(app.clone(), WireSettings::default())
        .clock(clock.clone())
        .lease(Duration::from_millis(1));
    clock.advance(Duration::from_secs(20));
    let progress = again.run_once().await.expect("a run");
    assert!(progress.leading, "the first node's lease has run out");
    assert_eq!(progress.events, 0, "every event was handled before");
    assert_eq!(balance(&app, "alice").await, 700);
    assert_eq!(balance(&app, "bob").await, 50);
}

#[tokio::test]
async fn a_second_node_waits_for_the_lease() {
    let app = app(InMemoryEventStore::new());
    let clock = ManualClock::new(Timestamp(1_000_000_000_000));
    let runner = |ttl| {
        ProcessRunner::<WireProcess, _>::new(app.clone(), WireSettings::default())
            .clock(clock.clone())
            .lease(ttl)
    };
    let (mut first, mut second) = (
        runner(Duration::from_secs(10)),
        runner(Duration::from_secs(10)),
    );
    assert!(first.run_once().await.expect("run").leading);
    assert!(
        !second.run_once().await.expect("run").leading,
        "the lease is held"
    );
    clock.advance(Duration::from_secs(11));
    assert!(
        second.run_once().await.expect("run").leading,
        "the holder went quiet"
    );
    assert!(!first.run_once().await.expect("run").leading, "and lost it");
}

/// The process's decisions, one step at a time, without a store.
#[tokio::test]
async fn the_wire_process_decides_step_by_step() {
    use bank::Withdraw;
    use bank::wire::{FailWire, MarkWireSent, RefundWire, WireConfirmed, WireRequested, WireSent};
    use es_core::process::Due;
    use es_core::testing::ProcessFixture;

    let settings = WireSettings {
        confirmation_timeout: Duration::from_secs(90),
    };
    let requested = WireRequested {
        wire: "w".into(),
        from: "alice".into(),
        to: "other-bank/9".into(),
        amount: 5,
    };
    let fixture = || ProcessFixture::<WireProcess>::new(settings);
    fixture()
        .when(requested.clone())
        .await
        .then_sends(Withdraw {
            account: "alice".into(),
            amount: 5,
        })
        .then_sends(MarkWireSent { wire: "w".into() })
        .then_sends_nothing();
    let refused = fixture()
        .given(requested.clone())
        .await
        .when_refused(
            Withdraw {
                account: "alice".into(),
                amount: 5,
            },
            BankError::InsufficientFunds {
                balance: 1,
                requested: 5,
            },
        )
        .await
        .then_sends(FailWire {
            wire: "w".into(),
            reason: "insufficient funds: balance 1, requested 5".into(),
        })
        .then_sends_nothing();
    assert!(!refused.state().withdrawn, "nothing to refund");
    fixture()
        .given(requested.clone())
        .await
        .when(WireSent { wire: "w".into() })
        .await
        .then_sets_deadline("confirmation_overdue", Due::In(Duration::from_secs(90)));
    fixture()
        .given(requested.clone())
        .await
        .when_deadline("confirmation_overdue")
        .await
        .then_sends(RefundWire { wire: "w".into() });
    fixture()
        .given(requested)
        .await
        .when(WireConfirmed { wire: "w".into() })
        .await
        .then_cancels_deadline("confirmation_overdue")
        .then_sends_nothing()
        .then_done();
}

/// Two nodes reach for a free lease at the same moment (on SQLite, whose calls really wait, so
/// both read the lease before either writes): exactly one gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_nodes_racing_for_a_free_lease_one_wins() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for round in 0..20 {
        let store = SqliteEventStore::open(dir.path().join(format!("{round}.db")))
            .await
            .expect("open");
        let app = App::builder(store)
            .aggregate::<BankAccount>()
            .aggregate::<Wire>()
            .build()
            .expect("build the app");
        let clock = ManualClock::new(Timestamp(1_000_000_000_000));
        let runner = || {
            ProcessRunner::<WireProcess, _>::new(app.clone(), WireSettings::default())
                .clock(clock.clone())
        };
        let (mut first, mut second) = (runner(), runner());
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let (a, b) = tokio::join!(
            async {
                barrier.wait().await;
                first.run_once().await.expect("run")
            },
            async {
                barrier.wait().await;
                second.run_once().await.expect("run")
            }
        );
        assert!(a.leading != b.leading, "one leads, not {a:?} and {b:?}");
    }
}
