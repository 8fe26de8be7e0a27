//! One atomic decision over several aggregates: a read-only aggregate guards the append, a
//! conflict runs the decision again, an error writes nothing, an idempotency key covers the
//! whole decision, and inline projections see every event of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use es_core::prelude::*;
use es_core::{EventStore, NewEvent};

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Added {
    amount: u64,
}

#[derive(Command, Debug, Clone)]
struct Add {
    #[id]
    id: String,
    amount: u64,
}

#[derive(Debug, Clone, Default)]
struct Counter {
    total: u64,
}

#[aggregate(name = "counter")]
impl Counter {
    #[handle]
    fn add(&self, cmd: Add) -> Added {
        Added { amount: cmd.amount }
    }
    #[apply]
    fn added(&mut self, e: &Added) {
        self.total += e.amount;
    }
}

#[derive(Debug, Default)]
struct Totals(HashMap<String, u64>);

struct TotalOf(String);

#[projection]
impl Totals {
    #[on]
    fn added(&mut self, e: &Added, meta: &EventMeta<'_>) {
        *self.0.entry(meta.aggregate_id().to_owned()).or_default() += e.amount;
    }
    #[query]
    fn total(&self, q: TotalOf) -> u64 {
        self.0.get(&q.0).copied().unwrap_or(0)
    }
}

fn app() -> App<InMemoryEventStore> {
    App::builder(InMemoryEventStore::new())
        .aggregate::<Counter>()
        .projection(Totals::default())
        .build()
        .expect("build the app")
}

fn add(id: &str, amount: u64) -> Add {
    Add {
        id: id.into(),
        amount,
    }
}

#[tokio::test]
async fn a_read_aggregate_guards_the_append_and_a_conflict_runs_the_decision_again() {
    let app = app();
    app.send(add("limit", 10)).await.expect("seed");
    let runs = Arc::new(AtomicU32::new(0));
    let done = app
        .transaction(|tx| {
            let (app, runs) = (app.clone(), Arc::clone(&runs));
            async move {
                let limit = tx.load::<Counter>("limit").await?;
                if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                    // Another writer changes the aggregate read, before the commit.
                    let other = NewEvent::new("Added", 1, r#"{"amount":5}"#);
                    app.store()
                        .append("counter-limit", ExpectedVersion::Any, vec![other])
                        .await?;
                }
                tx.send(add("a", limit.total)).await?;
                tx.send(add("b", limit.total)).await?;
                Ok::<_, CommandError<std::convert::Infallible>>(())
            }
        })
        .await
        .expect("the transaction");
    assert_eq!((runs.load(Ordering::SeqCst), done.retries), (2, 1));
    assert_eq!(
        done.streams,
        [("counter-a".to_owned(), 1), ("counter-b".to_owned(), 1)]
    );
    // Decided on the limit as the other writer left it.
    assert_eq!(app.load::<Counter>("a").await.expect("load").0.total, 15);
    // The inline projection saw both events before the transaction returned.
    assert_eq!(app.query(TotalOf("a".into())).await.expect("query"), 15);
    assert_eq!(app.query(TotalOf("b".into())).await.expect("query"), 15);
}

#[derive(Debug, thiserror::Error)]
#[error("changed my mind")]
struct ChangedMind;

#[tokio::test]
async fn an_error_writes_nothing() {
    let app = app();
    let refused = app
        .transaction(|tx| async move {
            tx.send(add("a", 1)).await.map_err(|_| ChangedMind)?;
            Err::<(), _>(ChangedMind)
        })
        .await;
    assert!(matches!(
        refused,
        Err(TransactionError::Rejected(ChangedMind))
    ));
    assert_eq!(
        app.store()
            .stream_version("counter-a")
            .await
            .expect("version"),
        0
    );
}

#[tokio::test]
async fn an_idempotency_key_covers_the_whole_decision() {
    let app = app();
    let decide = |tx: Transaction<InMemoryEventStore>| async move {
        tx.send(add("a", 2)).await?;
        tx.send(add("a", 3)).await?;
        tx.send(add("b", 4)).await?;
        Ok::<_, CommandError<std::convert::Infallible>>(())
    };
    let key = || CommandMetadata::new().idempotency_key("request-7");
    let first = app.transaction_with(key(), decide).await.expect("first");
    assert!(!first.duplicate);
    let again = app.transaction_with(key(), decide).await.expect("again");
    assert!(again.duplicate, "{again:?}");
    assert_eq!(
        (again.streams.clone(), again.position),
        (first.streams, first.position)
    );
    assert_eq!(app.load::<Counter>("a").await.expect("load").0.total, 5);
    assert_eq!(app.load::<Counter>("b").await.expect("load").0.total, 4);
}

#[derive(Debug, thiserror::Error)]
#[error("not enough: {0}")]
struct NotEnough(u64);

#[tokio::test]
async fn a_keyed_decision_sent_again_after_it_committed_is_never_decided_again() {
    let app = app();
    app.send(add("src", 10)).await.expect("seed");
    // Moves everything `src` holds to `dst`; refuses when `src` is empty.
    let drain = |tx: Transaction<InMemoryEventStore>| async move {
        let src = tx.load::<Counter>("src").await.map_err(|_| NotEnough(0))?;
        if src.total == 0 {
            return Err(NotEnough(0));
        }
        tx.send(add("dst", src.total))
            .await
            .map_err(|_| NotEnough(0))?;
        Ok(src.total)
    };
    let key = || CommandMetadata::new().idempotency_key("drain-1");
    let first = app.transaction_with(key(), drain).await.expect("first");
    assert_eq!(first.value, 10);
    // Pretend `src` was emptied meanwhile, as the drain would have in a real ledger.
    app.store()
        .append(
            "counter-src",
            ExpectedVersion::Any,
            vec![NewEvent::new("Added", 1, r#"{"amount":0}"#)],
        )
        .await
        .expect("another writer");
    let again = app
        .transaction_with(key(), drain)
        .await
        .expect("the original");
    assert!(
        again.duplicate && again.position == first.position,
        "{again:?}"
    );
    assert_eq!(
        app.load::<Counter>("dst").await.expect("load").0.total,
        10,
        "once"
    );
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Reserved {
    seats: u64,
}

#[derive(Command, Debug, Clone)]
struct Reserve {
    #[id]
    show: String,
    seats: u64,
}

#[derive(Debug, Clone, Default)]
struct Show {
    reserved: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("sold out")]
struct SoldOut;

#[aggregate(name = "show", error = SoldOut)]
impl Show {
    /// Decides after a pause (a remote check), so two sends in one transaction can overlap.
    #[handle]
    async fn reserve(&self, cmd: Reserve) -> Result<Reserved, SoldOut> {
        tokio::task::yield_now().await;
        if self.reserved + cmd.seats > 100 {
            return Err(SoldOut);
        }
        Ok(Reserved { seats: cmd.seats })
    }
    #[apply]
    fn reserved(&mut self, e: &Reserved) {
        self.reserved += e.seats;
    }
}

#[tokio::test]
async fn two_commands_of_one_transaction_at_once_on_one_stream_are_an_error() {
    let app = App::builder(InMemoryEventStore::new())
        .aggregate::<Show>()
        .build()
        .expect("build the app");
    let reserve = |seats| Reserve {
        show: "s".into(),
        seats,
    };
    let result = app
        .transaction(|tx| async move {
            // Each would fit alone; together they overbook: both decided on the same state.
            let (first, second) = tokio::join!(tx.send(reserve(60)), tx.send(reserve(60)));
            first?;
            second?;
            Ok::<_, CommandError<SoldOut>>(())
        })
        .await;
    let text = format!("{:?}", result.expect_err("refused"));
    assert!(
        text.contains("two commands of one transaction ran at once"),
        "{text}"
    );
    assert_eq!(
        app.store().stream_version("show-s").await.expect("version"),
        0
    );
}

/// After a commit the app's cached copies hold the transaction's events; a copy made stale by
/// another writer is read again after the conflict it causes.
#[tokio::test]
async fn the_cache_follows_transactions_and_recovers_from_other_writers() {
    let app = app();
    for round in 1..=3_u64 {
        app.transaction(|tx| async move {
            tx.send(add("x", 1)).await?;
            tx.send(add("y", 2)).await?;
            Ok::<_, CommandError<std::convert::Infallible>>(())
        })
        .await
        .expect("a transaction");
        assert_eq!(app.load::<Counter>("x").await.expect("load").0.total, round);
    }
    app.store()
        .append(
            "counter-x",
            ExpectedVersion::Exact(3),
            vec![NewEvent::new("Added", 1, r#"{"amount":100}"#)],
        )
        .await
        .expect("another writer");
    let done = app
        .transaction(|tx| async move {
            let x = tx.load::<Counter>("x").await?;
            tx.send(add("y", x.total)).await?;
            Ok::<_, CommandError<std::convert::Infallible>>(())
        })
        .await
        .expect("a transaction");
    assert_eq!(
        app.load::<Counter>("y").await.expect("load").0.total,
        6 + 103
    );
    assert!(done.retries <= 1, "{done:?}");
    app.send(add("x", 1))
        .await
        .expect("a command after the transactions");
    assert_eq!(app.load::<Counter>("x").await.expect("load").0.total, 104);
}
