//! The escape hatch to the SQLite driver: rusqlite's own types, for what the store's API does
//! not cover.
//!
//! Nothing else in [`es_core::store::sqlite`](super) names a type of the driver, so upgrading
//! rusqlite never changes the rest of our API. This module is the exception, on purpose: it
//! re-exports [`rusqlite`] and holds everything that hands out its connection. **Its semver
//! follows rusqlite's**: when es-core moves to a rusqlite release that breaks rusqlite's API, the
//! code you wrote against this module may need the changes that release asks for, even in an
//! es-core release that is otherwise compatible.
//!
//! Use it for:
//! - **read models in SQL, in the store's own file**: a [`SqliteProjection`], applied by
//!   [`SqliteEventStore::run_projection`], writes its rows with the driver's connection, in the
//!   transaction that also moves its checkpoint;
//! - **ad-hoc reads of that file** with [`read_with`]: querying such a read model, or a report
//!   over the `events` table.
//!
//! Name the driver's types through [`rusqlite`] here rather than through a dependency of your
//! own on it: the versions then always match.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use tokio::sync::Mutex;
//!
//! use es_core::store::sqlite::driver::rusqlite::Connection;
//! use es_core::store::sqlite::driver::{self, SqliteProjection};
//! use es_core::store::{EventStore, ExpectedVersion, SqliteEventStore};
//! use es_core::{BoxError, NewEvent, RecordedEvent};
//!
//! struct Deposits;
//!
//! impl SqliteProjection for Deposits {
//!     const NAME: &'static str = "deposits";
//!
//!     fn setup(&mut self, conn: &Connection) -> Result<(), BoxError> {
//!         conn.execute_batch("CREATE TABLE IF NOT EXISTS deposits (position INTEGER PRIMARY KEY)")?;
//!         Ok(())
//!     }
//!
//!     fn apply(&mut self, conn: &Connection, record: &RecordedEvent) -> Result<(), BoxError> {
//!         if &*record.name == "MoneyDeposited" {
//!             conn.execute("INSERT INTO deposits VALUES (?1)", [i64::try_from(record.position)?])?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let store = SqliteEventStore::open(dir.path().join("bank.db")).await?;
//! let deposit = NewEvent::new("MoneyDeposited", 1, r#"{"amount":50}"#);
//! store.append("bank-account-alice", ExpectedVersion::Any, vec![deposit]).await?;
//!
//! store.run_projection(&Arc::new(Mutex::new(Deposits))).await?;
//! let deposits: i64 = driver::read_with(&store, |conn| {
//!     conn.query_row("SELECT COUNT(*) FROM deposits", [], |row| row.get(0))
//! })
//! .await?;
//! assert_eq!(deposits, 1);
//! # Ok(())
//! # }
//! ```

pub use rusqlite;

use rusqlite::Connection;

use super::SqliteEventStore;
use super::error::SqliteError;
use crate::codec::BoxError;
use crate::error::Error;
use crate::record::RecordedEvent;

/// A projection whose read model lives in tables of the store's SQLite file.
///
/// [`SqliteEventStore::run_projection`] applies the log to it in batches: each batch's writes
/// and the projection's checkpoint commit in one transaction (on the store's writer, so they
/// share its group commit and never wait for a lock), or neither does. Query its tables with
/// [`read_with`]. The [module's docs](self) show one.
pub trait SqliteProjection: Send + 'static {
    /// The projection's name: its checkpoint is stored under it.
    const NAME: &'static str;

    /// Creates or migrates the read model's tables; runs in the transaction of the first batch
    /// of each [`run_projection`](SqliteEventStore::run_projection).
    ///
    /// # Errors
    /// Whatever fails; nothing of the batch is committed.
    fn setup(&mut self, conn: &Connection) -> Result<(), BoxError> {
        let _ = conn;
        Ok(())
    }

    /// Applies one event to the read model's tables, inside the transaction that also moves
    /// the checkpoint past it.
    ///
    /// # Errors
    /// Whatever fails: the whole batch and its checkpoint roll back, and the error names the
    /// event.
    fn apply(&mut self, conn: &Connection, record: &RecordedEvent) -> Result<(), BoxError>;
}

/// Runs `read` on one of `store`'s read connections (read-only, in WAL mode never blocked by
/// the writer), on a blocking task: how to query a read model kept by a [`SqliteProjection`].
/// The [module's docs](self) show one.
///
/// # Errors
/// [`Error::Backend`] with `read`'s error, or when no read connection can be opened.
pub async fn read_with<T: Send + 'static>(
    store: &SqliteEventStore,
    read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, Error> {
    store
        .read(move |conn| read(conn).map_err(SqliteError::from))
        .await
}
