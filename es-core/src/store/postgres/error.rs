//! The PostgreSQL backend's own failures, shown to users only as the source of
//! [`Error::Backend`].

use crate::error::Error;

/// The backend's own failures, shown to users only as the source of [`Error::Backend`].
#[derive(Debug, thiserror::Error)]
pub(super) enum PgError {
    #[error("PostgreSQL error")]
    Db(#[from] tokio_postgres::Error),
    #[error("cannot get a connection from the pool")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("cannot build the connection pool")]
    Build(#[from] deadpool_postgres::BuildError),
    #[error(
        "no schema of the connection's search_path exists (current_schema() is NULL): create \
         it, or name an existing one in the URL's options or with `schema(..)`"
    )]
    NoSchema,
    #[error("`{0}` is not a plain schema name (letters, digits and `_`, at most 63 bytes)")]
    BadSchemaName(String),
    #[error("the append function returned no value for {0}")]
    BadAppendResult(&'static str),
    #[error("the store's writer task has stopped (was its runtime shut down?)")]
    WriterStopped,
    #[error("the database's event store schema is version {found}, newer than this code's {known}")]
    NewerSchema { found: i32, known: i32 },
    #[error("stored row at position {position} is corrupt: {what}")]
    Corrupt { position: i64, what: &'static str },
    #[error("stored event {version} of stream `{stream}` is corrupt: {what}")]
    CorruptEvent {
        stream: String,
        version: i64,
        what: &'static str,
    },
    #[error("the read model of projection `{projection}` could not be set up")]
    ReadModelSetup {
        projection: &'static str,
        #[source]
        source: crate::codec::BoxError,
    },
    #[error("{what} {value} does not fit a PostgreSQL bigint")]
    OutOfRange { what: &'static str, value: u64 },
    #[error("snapshot of stream `{stream}` at version {version} is corrupt: {what}")]
    CorruptSnapshot {
        stream: String,
        version: i64,
        what: &'static str,
    },
}

/// A version or position as a bigint.
pub(super) fn to_bigint(what: &'static str, value: u64) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| PgError::OutOfRange { what, value }.into())
}

impl From<PgError> for Error {
    fn from(error: PgError) -> Self {
        Error::backend(error)
    }
}

pub(super) fn db(error: tokio_postgres::Error) -> Error {
    PgError::Db(error).into()
}
