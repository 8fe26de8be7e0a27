//! Opening the file: WAL mode, the synchronous setting and the schema on the write connection
//! (safe from any number of processes at once), read-only settings on the read connections.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::error::SqliteError;
use super::options::SqliteOptions;
use super::writer::stored_u64;

/// The schema versions this code knows, in order: opening applies those after the file's
/// `PRAGMA user_version` and sets it to the last.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("schema.sql")),
    (2, include_str!("schema_2.sql")),
];

/// Opens the write connection, sets WAL and the synchronous mode, creates or checks the schema,
/// and reads the global head.
pub(super) fn open_writer(options: &SqliteOptions) -> Result<(Connection, u64), SqliteError> {
    let mut conn = Connection::open_with_flags(
        &options.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    let mode = set_wal(&conn, options.busy_timeout)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SqliteError::NoWal { mode });
    }
    conn.pragma_update(None, "synchronous", options.synchronous.pragma())?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = MIGRATIONS.last().map_or(0, |&(version, _)| version);
    if current > known {
        return Err(SqliteError::FutureSchema {
            found: current,
            supported: known,
        });
    }
    for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    let head = conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |row| {
        row.get::<_, i64>(0)
    })?;
    Ok((conn, stored_u64(head)))
}

/// Puts the file in WAL mode; the journal mode it ends in. On a new file that another process
/// is setting up at the same moment, SQLite answers "database is locked" at once instead of
/// calling the busy handler: retried, with a growing pause, until the busy timeout.
fn set_wal(conn: &Connection, busy_timeout: Duration) -> Result<String, SqliteError> {
    let deadline = Instant::now() + busy_timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return Ok(result?),
        }
    }
}

/// Opens a read connection: it cannot write, and waits out another process's locks.
pub(super) fn open_reader(options: &SqliteOptions) -> Result<Connection, SqliteError> {
    let conn = Connection::open_with_flags(
        &options.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}
