//! The raw rusqlite baseline: a transfer's two rows inserted in one `BEGIN IMMEDIATE`
//! transaction, into a table shaped like the store's `events`, with the store's settings (WAL,
//! `synchronous = FULL`). One connection per task, on a blocking thread (the driver blocks).

use std::path::Path;
use std::time::Duration;

use es_core::store::sqlite::driver::rusqlite::{self, Connection, TransactionBehavior, params};

use super::{Pair, transfer_events};

/// The store's `events` table: its columns, keys and types.
const SCHEMA: &str = "CREATE TABLE events (
    position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
    event_id BLOB NOT NULL UNIQUE, name TEXT NOT NULL, schema_version INTEGER NOT NULL,
    payload BLOB NOT NULL, timestamp INTEGER NOT NULL, correlation_id BLOB, causation_id BLOB,
    extra TEXT, UNIQUE (stream, version)) STRICT";

const INSERT: &str = "INSERT INTO events (stream, version, event_id, name, schema_version, \
    payload, timestamp, correlation_id, causation_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// One task's pair of streams and its own connection.
pub(crate) type Session = (Pair, Connection);

/// Creates the table in a new database file at `path`.
pub(crate) fn create(path: &Path) {
    connection(path)
        .execute_batch(SCHEMA)
        .expect("the raw table");
}

/// A connection in the store's durable mode. The busy timeout covers the waits of 8 writers.
fn connection(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open the raw database");
    conn.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
        .expect("durable mode");
    conn
}

/// `tasks` sessions on the database at `path`, each with new streams.
pub(crate) fn sessions(path: &Path, tasks: usize) -> Vec<Session> {
    (0..tasks)
        .map(|task| (Pair::new("raw-driver", tasks, task), connection(path)))
        .collect()
}

/// Makes `transfers` transfers on a blocking thread.
pub(crate) async fn transfers(session: Session, transfers: u64) -> Session {
    tokio::task::spawn_blocking(move || {
        let (mut pair, mut conn) = session;
        for _ in 0..transfers {
            transfer(&mut conn, &mut pair).expect("a raw transfer");
        }
        (pair, conn)
    })
    .await
    .expect("the blocking task")
}

/// BEGIN IMMEDIATE, the two INSERTs, COMMIT.
fn transfer(conn: &mut Connection, pair: &mut Pair) -> rusqlite::Result<()> {
    let events = transfer_events();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(INSERT)?;
        for ((event, stream), version) in events.iter().zip(&pair.streams).zip(&pair.versions) {
            let metadata = &event.metadata;
            insert.execute(params![
                stream,
                i64::try_from(version + 1).expect("a version that fits"),
                &event.id.as_bytes()[..],
                event.name.as_ref(),
                i64::from(event.schema_version),
                &event.payload[..],
                metadata.timestamp.as_micros(),
                metadata
                    .correlation_id
                    .as_ref()
                    .map(|id| &id.as_bytes()[..]),
                metadata.causation_id.as_ref().map(|id| &id.as_bytes()[..]),
            ])?;
        }
    }
    tx.commit()?;
    for version in &mut pair.versions {
        *version += 1;
    }
    Ok(())
}
