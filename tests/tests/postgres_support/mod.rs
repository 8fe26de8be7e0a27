//! Shared by the PostgreSQL test files: the database URL, a fresh schema per test, raw SQL.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;

use es_core::store::PostgresEventStore;

/// The database URL from `ES_POSTGRES_URL`. Unset: fails under CI (which must never skip
/// PostgreSQL), otherwise warns loudly and returns `None` so the test returns early.
pub fn url(test: &str) -> Option<String> {
    match std::env::var("ES_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "ES_POSTGRES_URL is not set under CI: run `eval \"$(scripts/postgres env)\"` first"
            );
            // Straight to the stderr handle: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "WARNING: PostgreSQL test `{test}` DID NOT RUN: ES_POSTGRES_URL is not set \
                 (run `eval \"$(scripts/postgres env)\"`)"
            );
            None
        }
    }
}

/// `url` with `search_path` set to `schema`.
pub fn url_in(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-csearch_path%3D{schema}")
}

/// A raw connection (its driver task spawned), with `search_path` set to `schema`.
pub async fn raw(url: &str, schema: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&url_in(url, schema), tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Drops and recreates the schema `es_t_<test>`, returns its name.
pub async fn fresh_schema(url: &str, test: &str) -> String {
    let schema = format!("es_t_{test}");
    let client = raw(url, "public").await;
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .expect("create the test schema");
    schema
}

/// A migrated store in a fresh schema of its own; `None` when PostgreSQL is not configured.
pub async fn store(test: &str) -> Option<(PostgresEventStore, String, String)> {
    let url = url(test)?;
    let schema = fresh_schema(&url, test).await;
    let store = PostgresEventStore::connect(&url_in(&url, &schema))
        .await
        .expect("connect the store");
    store.migrate().await.expect("migrate");
    Some((store, url, schema))
}

/// Waits until a backend with this application name waits on a lock.
pub async fn wait_until_blocked(observer: &tokio_postgres::Client, application: &str) {
    for _ in 0..500 {
        let row = observer
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = $1 AND wait_event_type = 'Lock'",
                &[&application],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{application} never waited on the append lock");
}
