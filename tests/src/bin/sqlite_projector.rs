//! Child process of the read-model kill test: appends events and runs a SQLite read model over
//! them, in a loop, until it is killed.
//!
//! Usage: `sqlite_projector <database file>`. Each round appends a batch of 1 to 50 `Added`
//! events (amounts 1 to 9) to stream `ledger` and runs the `totals` projection, whose table
//! `applied` gets one row per event (its position and amount) in the transaction that moves
//! the projection's checkpoint.

use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::Mutex;

use es_core::store::sqlite::driver::SqliteProjection;
use es_core::store::sqlite::driver::rusqlite::Connection;
use es_core::store::{EventStore, ExpectedVersion, SqliteEventStore};
use es_core::{BoxError, RecordedEvent};

/// The read model: one row per applied event.
#[derive(Debug)]
pub struct Totals;

impl SqliteProjection for Totals {
    const NAME: &'static str = "totals";

    fn setup(&mut self, conn: &Connection) -> Result<(), BoxError> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS applied (position INTEGER PRIMARY KEY, amount INTEGER NOT NULL)",
        )?;
        Ok(())
    }

    fn apply(&mut self, conn: &Connection, record: &RecordedEvent) -> Result<(), BoxError> {
        let amount: serde_json::Value = serde_json::from_slice(&record.payload)?;
        conn.prepare_cached("INSERT INTO applied (position, amount) VALUES (?1, ?2)")?
            .execute((
                i64::try_from(record.position)?,
                amount["amount"].as_i64().ok_or("no amount")?,
            ))?;
        Ok(())
    }
}

fn main() -> ExitCode {
    es_tests::child_main("sqlite_projector <database file>", 1, |args| async move {
        run(&args[0]).await
    })
}

async fn run(path: &str) -> Result<(), BoxError> {
    let store = SqliteEventStore::open(path).await?;
    let projection = Arc::new(Mutex::new(Totals));
    for round in 0_u64.. {
        let events = es_tests::ledger_batch(round);
        store.append("ledger", ExpectedVersion::Any, events).await?;
        let reached = store.run_projection(&projection).await?;
        println!("PROJECTED {reached}");
    }
    Ok(())
}
