//! Child process of the SQLite open test: opens a store (creating the file when it is new),
//! appends one event, and exits.
//!
//! Usage: `sqlite_open <database file>`.

use std::process::ExitCode;

use es_core::NewEvent;
use es_core::store::{EventStore, ExpectedVersion, SqliteEventStore};

fn main() -> ExitCode {
    es_tests::child_main("sqlite_open <database file>", 1, |args| async move {
        let store = SqliteEventStore::open(&args[0]).await?;
        store
            .append(
                &format!("opened-{}", std::process::id()),
                ExpectedVersion::NoStream,
                vec![NewEvent::new("Opened", 1, "{}")],
            )
            .await?;
        Ok(())
    })
}
