//! The SQLite backend's own failures, mapped into [`Error::Backend`]: the driver's types never
//! reach the public API.

use crate::error::Error;

/// What went wrong inside the SQLite backend.
#[derive(Debug, thiserror::Error)]
pub(super) enum SqliteError {
    /// The driver or the database failed.
    #[error("SQLite failed")]
    Sqlite(#[source] rusqlite::Error),

    /// A stored value does not have the type the schema promises.
    #[error("a stored value has an unexpected type")]
    Column(#[source] rusqlite::types::FromSqlError),

    /// The writer thread is gone (the store is shutting down, or it panicked).
    #[error("the SQLite writer thread has stopped")]
    WriterStopped,

    /// The group's transaction ended before its commit (SQLite rolls a transaction back on some
    /// I/O errors): nothing of the group was written.
    #[error("the SQLite transaction of a group of appends ended before its commit")]
    TransactionEnded,

    /// A blocking read task did not finish (the runtime is shutting down, or it panicked).
    #[error("a SQLite read task failed")]
    Task(#[source] tokio::task::JoinError),

    /// The file was written by a newer version of this store.
    #[error("database schema version {found} is newer than the {supported} this code knows")]
    FutureSchema {
        /// The file's `PRAGMA user_version`.
        found: i64,
        /// The newest schema version this code knows.
        supported: i64,
    },

    /// The database stays in another journal mode than WAL (an in-memory database, say).
    #[error("the database refuses WAL journal mode (it stays in `{mode}`)")]
    NoWal {
        /// The journal mode it reports.
        mode: String,
    },

    /// A version, position or limit does not fit SQLite's signed 64-bit integers.
    #[error("{what} {value} does not fit a SQLite integer")]
    OutOfRange {
        /// What the number is.
        what: &'static str,
        /// The number.
        value: u64,
    },

    /// A stored row does not hold what the schema promises.
    #[error("stored event at position {position} is malformed: {what}")]
    Malformed {
        /// The row's global position.
        position: i64,
        /// What is wrong with it.
        what: &'static str,
    },

    /// A stored snapshot row does not hold what the schema promises.
    #[error("snapshot of stream `{stream}` at version {version} is malformed")]
    MalformedSnapshot {
        /// The snapshot's stream.
        stream: String,
        /// Its version.
        version: i64,
    },

    /// The framework's own error, passed through as it is: a read model's `apply` that failed
    /// (naming the projection and the event), an import that does not fit the log.
    #[error(transparent)]
    Refused(Error),

    /// A read model's `setup` failed.
    #[error("the read model of projection `{projection}` could not be set up")]
    ReadModelSetup {
        /// The projection's name.
        projection: &'static str,
        /// Its error.
        #[source]
        source: crate::codec::BoxError,
    },

    /// The user key-values of an event are not a JSON object of strings.
    #[error("the metadata of the event at position {position} is not a JSON object of strings")]
    Metadata {
        /// The row's global position.
        position: i64,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl From<rusqlite::Error> for SqliteError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

impl From<rusqlite::types::FromSqlError> for SqliteError {
    fn from(error: rusqlite::types::FromSqlError) -> Self {
        Self::Column(error)
    }
}

impl From<SqliteError> for Error {
    fn from(error: SqliteError) -> Self {
        match error {
            SqliteError::Refused(error) => error,
            other => Error::backend(other),
        }
    }
}

/// Converts a version or position to SQLite's integer.
pub(super) fn to_sql_int(what: &'static str, value: u64) -> Result<i64, SqliteError> {
    i64::try_from(value).map_err(|_| SqliteError::OutOfRange { what, value })
}
