//! The schema: versioned migrations applied under an advisory lock, so that every node may
//! call `migrate` at startup.

use super::PostgresEventStore;
use super::error::{PgError, db};
use crate::error::Error;

/// The schema versions this code knows, in order; `migrate` applies the missing ones.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("schema.sql")),
    (2, include_str!("schema_2.sql")),
    (3, include_str!("schema_3.sql")),
    (4, include_str!("schema_4.sql")),
    (5, include_str!("schema_5.sql")),
];

impl PostgresEventStore {
    /// Creates or upgrades the tables and functions in the connection's schema. Versioned and
    /// idempotent; concurrent callers (several nodes starting) serialize on an advisory lock.
    ///
    /// # Errors
    /// [`Error::Backend`] when the database fails or holds a newer schema than this code knows.
    pub async fn migrate(&self) -> Result<(), Error> {
        let mut client = self.inner.pool.get().await.map_err(PgError::from)?;
        let tx = client.transaction().await.map_err(db)?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(hashtext('es_migrate:' || current_schema())); \
             CREATE TABLE IF NOT EXISTS es_schema_version ( \
                 version integer NOT NULL PRIMARY KEY, \
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(db)?;
        let current: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM es_schema_version",
                &[],
            )
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        let known = MIGRATIONS.last().map_or(0, |&(version, _)| version);
        if current > known {
            return Err(PgError::NewerSchema {
                found: current,
                known,
            }
            .into());
        }
        for &(version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            tx.batch_execute(sql).await.map_err(db)?;
            tx.execute(
                "INSERT INTO es_schema_version (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }
}
