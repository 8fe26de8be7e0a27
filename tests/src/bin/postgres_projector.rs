//! Child process of the PostgreSQL read-model kill test: appends events and runs a read model
//! in the store's database over them, in a loop, until it is killed.
//!
//! Usage: `postgres_projector <database URL> <schema>`. Each round appends a batch of 1 to 50
//! `Added` events (amounts 1 to 9) to stream `ledger` and runs the `totals` projection, whose
//! table `applied` gets one row per event (its position and amount) in the transaction that
//! moves the projection's checkpoint.

use std::process::ExitCode;
use std::sync::Arc;

use es_core::store::postgres::driver::PostgresProjection;
use es_core::store::postgres::driver::tokio_postgres::Transaction;
use es_core::store::{EventStore, ExpectedVersion, PostgresEventStore};
use es_core::{BoxError, RecordedEvent};
use tokio::sync::Mutex;

/// The read model: one row per applied event.
#[derive(Debug)]
pub struct Totals;

impl PostgresProjection for Totals {
    const NAME: &'static str = "totals";

    async fn setup(&mut self, tx: &Transaction<'_>) -> Result<(), BoxError> {
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS applied (position bigint PRIMARY KEY, amount bigint NOT NULL)",
        )
        .await?;
        Ok(())
    }

    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        record: &RecordedEvent,
    ) -> Result<(), BoxError> {
        let payload: serde_json::Value = serde_json::from_slice(&record.payload)?;
        let amount = payload["amount"].as_i64().ok_or("no amount")?;
        tx.execute(
            "INSERT INTO applied (position, amount) VALUES ($1, $2)",
            &[&i64::try_from(record.position)?, &amount],
        )
        .await?;
        Ok(())
    }
}

fn main() -> ExitCode {
    es_tests::child_main(
        "postgres_projector <database URL> <schema>",
        2,
        |args| async move { run(&args[0], &args[1]).await },
    )
}

async fn run(url: &str, schema: &str) -> Result<(), BoxError> {
    let store = PostgresEventStore::builder(url)
        .schema(schema)
        .connect()
        .await?;
    let projection = Arc::new(Mutex::new(Totals));
    for round in 0_u64.. {
        let events = es_tests::ledger_batch(round);
        store.append("ledger", ExpectedVersion::Any, events).await?;
        let reached = store.run_projection(&projection).await?;
        println!("PROJECTED {reached}");
    }
    Ok(())
}
