//! Where the bank's events live, as `--database` names it: one reading shared by the command
//! line and the HTTP service, so both accept and refuse the same values alike.

use std::fmt;
use std::str::FromStr;

use es_core::prelude::*;

/// A store the bank can run on: a SQLite file (the default), PostgreSQL, or memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// Nothing is kept after the process ends (`memory`, any case).
    Memory,
    /// A PostgreSQL database (`postgres://..` or `postgresql://..`): the connection URL.
    Postgres(String),
    /// A SQLite file, created when missing: its path.
    Sqlite(String),
}

/// A `--database` value that names no store the bank knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownDatabase {
    /// The empty string.
    #[error("--database is empty; give a SQLite file, `postgres://..` or `memory`")]
    Empty,
    /// A URL of another scheme (`mysql://..`).
    #[error(
        "--database `{scheme}://..` is not a store this bank knows; give a SQLite file, \
         `postgres://..` or `memory`"
    )]
    Scheme {
        /// The URL's scheme.
        scheme: String,
    },
}

impl FromStr for Database {
    type Err = UnknownDatabase;

    fn from_str(database: &str) -> Result<Self, Self::Err> {
        if database.eq_ignore_ascii_case("memory") {
            return Ok(Self::Memory);
        }
        if database.starts_with("postgres://") || database.starts_with("postgresql://") {
            return Ok(Self::Postgres(database.to_owned()));
        }
        if database.is_empty() {
            return Err(UnknownDatabase::Empty);
        }
        // A path holds no `://`; refusing other schemes here keeps `mysql://..` from becoming
        // a SQLite file of that name.
        if let Some((scheme, _)) = database.split_once("://") {
            return Err(UnknownDatabase::Scheme {
                scheme: scheme.to_owned(),
            });
        }
        Ok(Self::Sqlite(database.to_owned()))
    }
}

/// Names the store for a person; a PostgreSQL URL is not shown, as it may hold a password.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("in memory"),
            Self::Postgres(_) => f.write_str("PostgreSQL"),
            Self::Sqlite(path) => write!(f, "SQLite file {path}"),
        }
    }
}

/// A store that cannot be opened, named.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The SQLite file cannot be opened (it is not a database, the directory is missing, ..).
    #[error("cannot open the SQLite file `{path}`")]
    Sqlite {
        /// The file's path.
        path: String,
        /// Why.
        source: es_core::Error,
    },
    /// PostgreSQL cannot be reached, or its schema cannot be created.
    #[error("cannot open the PostgreSQL database")]
    Postgres(#[source] es_core::Error),
}

impl Database {
    /// Opens the store, creating its schema (PostgreSQL) or file (SQLite) when missing.
    ///
    /// # Errors
    /// [`OpenError`] naming the store that cannot be opened.
    pub async fn open(&self) -> Result<AnyEventStore, OpenError> {
        Ok(match self {
            Self::Memory => AnyEventStore::new(InMemoryEventStore::new()),
            Self::Postgres(url) => {
                let store = PostgresEventStore::connect(url)
                    .await
                    .map_err(OpenError::Postgres)?;
                store.migrate().await.map_err(OpenError::Postgres)?;
                AnyEventStore::new(store)
            }
            Self::Sqlite(path) => {
                let store =
                    SqliteEventStore::open(path)
                        .await
                        .map_err(|source| OpenError::Sqlite {
                            path: path.clone(),
                            source,
                        })?;
                AnyEventStore::new(store)
            }
        })
    }
}
