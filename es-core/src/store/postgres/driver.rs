//! The escape hatch to the PostgreSQL driver: the one module whose API carries the driver's own
//! types, for what the store's own API does not cover.
//!
//! Use it for a pool of one's own (TLS, or pool settings beyond
//! [`PostgresOptions`](super::PostgresOptions)), for the pool a store reads through, and for
//! read models written in SQL ([`PostgresProjection`], whose rows commit with its checkpoint).
//! Its items follow the driver crates it re-exports, `tokio-postgres` 0.7 and
//! `deadpool-postgres` 0.14: a new major version of either changes this module, and only this
//! module. Everything else in the store is free of them.
//!
//! # TLS
//!
//! Build a pool with the TLS connector of your choice (for example from `tokio-postgres-rustls`
//! or `postgres-native-tls`) and hand it to [`from_pool`]. The pool's sessions must use READ
//! COMMITTED, PostgreSQL's default: pools the store builds itself set it, a pool of one's own on
//! a database whose default is another level needs `-c default_transaction_isolation=..` in its
//! options.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use es_core::store::postgres::driver::{self, deadpool_postgres, tokio_postgres};
//!
//! // A server at this URL is needed to run this.
//! let config: tokio_postgres::Config = "postgres://app@db.internal/app".parse()?;
//! let tls = tokio_postgres::NoTls; // your TLS connector here
//! let manager = deadpool_postgres::Manager::new(config.clone(), tls);
//! let pool = deadpool_postgres::Pool::builder(manager).max_size(8).build()?;
//! let store = driver::from_pool(pool, Some(config)).await?;
//! store.migrate().await?;
//! # Ok(())
//! # }
//! ```

pub use deadpool_postgres;
pub use tokio_postgres;

pub use super::read_model::PostgresProjection;

use super::PostgresEventStore;
use crate::error::Error;

/// A store over `pool`, built with any TLS connector. `listen` configures the extra connection
/// that listens for other nodes' appends (opened without TLS); without it,
/// [`head`](crate::EventStore::head) moves only with this instance's own appends and
/// subscriptions find other nodes' events by polling.
///
/// # Errors
/// [`Error::Backend`] when the database cannot be reached or no schema of the `search_path`
/// exists.
pub async fn from_pool(
    pool: deadpool_postgres::Pool,
    listen: Option<tokio_postgres::Config>,
) -> Result<PostgresEventStore, Error> {
    PostgresEventStore::start(pool, listen).await
}

/// The pool `store` reads and writes through.
pub fn pool(store: &PostgresEventStore) -> &deadpool_postgres::Pool {
    &store.inner.pool
}
