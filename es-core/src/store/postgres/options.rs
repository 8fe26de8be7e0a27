//! What users set when connecting: pool size, connect timeout, schema; and the session
//! options the store needs whatever the database's defaults.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::PostgresEventStore;
use super::error::{PgError, db};
use crate::error::Error;

/// How a [`PostgresEventStore`] connects: the database's URL and what to set on top of it.
///
/// Made by [`PostgresEventStore::builder`]; [`connect`](Self::connect) opens the store.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    url: String,
    pool_size: usize,
    connect_timeout: Option<Duration>,
    schema: Option<String>,
}

impl PostgresOptions {
    /// The options for the database at `url` (`postgres://user@host:port/db?options=..`):
    /// a pool of 16 connections, the driver's connect timeout (none), the URL's schema.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 16,
            connect_timeout: None,
            schema: None,
        }
    }

    /// How many connections the pool keeps at most (default 16, at least 1). The group writer
    /// and each concurrent read take one; the listener has its own.
    #[must_use]
    pub fn pool_size(mut self, connections: usize) -> Self {
        self.pool_size = connections.max(1);
        self
    }

    /// How long opening one connection (the socket, startup and login) may take before it
    /// fails (default: no limit).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The schema that holds the store's tables (instead of the URL's `search_path`): a plain
    /// identifier of letters, digits and `_`, kept as written (`Billing` is not `billing`),
    /// which must exist.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Connects without TLS and listens for other nodes' appends. For TLS, build a pool of
    /// one's own and use [`driver::from_pool`](super::driver::from_pool).
    ///
    /// Does not create the tables: call [`migrate`](PostgresEventStore::migrate) once (it is
    /// safe to call from every node at startup).
    ///
    /// # Errors
    /// [`Error::Backend`] when the URL or the schema is invalid, the schema does not exist, or
    /// the database cannot be reached.
    pub async fn connect(self) -> Result<PostgresEventStore, Error> {
        let mut config = tokio_postgres::Config::from_str(&self.url).map_err(db)?;
        if let Some(timeout) = self.connect_timeout {
            config.connect_timeout(timeout);
        }
        // Server options of the session: READ COMMITTED whatever the database's default (see
        // the module docs), and the schema when one is set.
        let mut options = config.get_options().unwrap_or_default().to_owned();
        options.push_str(" -c default_transaction_isolation=read\\ committed");
        if let Some(schema) = &self.schema {
            if !is_identifier(schema) {
                return Err(PgError::BadSchemaName(schema.clone()).into());
            }
            // Quoted: unquoted, PostgreSQL would fold `Billing` to `billing`.
            options.push_str(" -c search_path=\"");
            options.push_str(schema);
            options.push('"');
        }
        config.options(options.trim_start());
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        // The driver's timeout covers the socket only; the pool's covers the whole connection,
        // startup and login included (a server that accepts and never answers).
        let pool = Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(Runtime::Tokio1)
            .create_timeout(self.connect_timeout)
            .build()
            .map_err(PgError::from)?;
        PostgresEventStore::start(pool, Some(config)).await
    }
}

/// Whether `name` is a schema name that needs no quoting: `[A-Za-z_][A-Za-z0-9_]*`, at most
/// 63 bytes.
fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        && name.len() <= 63
}
