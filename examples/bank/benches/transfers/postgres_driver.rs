//! The raw tokio-postgres baseline: a transfer's two rows inserted in one transaction (BEGIN,
//! two INSERTs, COMMIT: four round trips), into a table shaped like the store's `es_events`.
//! One pooled connection per task.

use es_core::store::postgres::driver::deadpool_postgres::{Manager, Object, Pool};
use es_core::store::postgres::driver::tokio_postgres::{self, NoTls};

use super::{Pair, TASKS, transfer_events};

/// The store's `es_events` table, its columns, keys and types, in a fresh schema of its own; the
/// position is an identity column (the store hands it out under its lock row).
const SCHEMA: &str = "DROP SCHEMA IF EXISTS bench_transfers_raw CASCADE;
    CREATE SCHEMA bench_transfers_raw;
    CREATE TABLE bench_transfers_raw.events (
        position       bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stream         text     NOT NULL,
        version        bigint   NOT NULL,
        id             uuid     NOT NULL,
        name           text     NOT NULL,
        schema_version integer  NOT NULL,
        payload        bytea    NOT NULL,
        timestamp_us   bigint   NOT NULL,
        correlation_id uuid,
        causation_id   uuid,
        extra          jsonb,
        UNIQUE (stream, version),
        UNIQUE (id))";

const INSERT: &str = "INSERT INTO bench_transfers_raw.events (stream, version, id, name, \
    schema_version, payload, timestamp_us, correlation_id, causation_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// One task's pair of streams and its own connection.
pub(crate) type Session = (Pair, Object);

/// A pool of [`TASKS`] connections to the database at `url`, with the table created afresh.
pub(crate) async fn create(url: &str) -> Pool {
    let config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
    let pool = Pool::builder(Manager::new(config, NoTls))
        .max_size(TASKS)
        .build()
        .expect("a pool");
    pool.get()
        .await
        .expect("a connection")
        .batch_execute(SCHEMA)
        .await
        .expect("the raw table");
    pool
}

/// `tasks` sessions from `pool`, each with new streams.
pub(crate) async fn sessions(pool: &Pool, tasks: usize) -> Vec<Session> {
    let mut sessions = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let client = pool.get().await.expect("a connection");
        sessions.push((Pair::new("raw-driver", tasks, task), client));
    }
    sessions
}

/// Makes `transfers` transfers: BEGIN, the two INSERTs, COMMIT, each.
pub(crate) async fn transfers(session: Session, transfers: u64) -> Session {
    let (mut pair, mut client) = session;
    let insert = client.prepare_cached(INSERT).await.expect("prepare");
    for _ in 0..transfers {
        let events = transfer_events();
        let tx = client.transaction().await.expect("BEGIN");
        for ((event, stream), version) in events.iter().zip(&pair.streams).zip(&pair.versions) {
            let metadata = &event.metadata;
            tx.execute(
                &insert,
                &[
                    stream,
                    &i64::try_from(version + 1).expect("a version that fits"),
                    &event.id,
                    &event.name.as_ref(),
                    &i32::from(event.schema_version),
                    &&event.payload[..],
                    &metadata.timestamp.as_micros(),
                    &metadata.correlation_id,
                    &metadata.causation_id,
                ],
            )
            .await
            .expect("INSERT");
        }
        tx.commit().await.expect("COMMIT");
        for version in &mut pair.versions {
            *version += 1;
        }
    }
    (pair, client)
}
