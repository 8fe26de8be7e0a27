//! tokio-postgres (+ deadpool) against sqlx on the two operations an event store lives on:
//! sequential single-row INSERT round trips (autocommit) and one bulk SELECT of many rows
//! decoded into owned values. Prints the median of 5 runs of each.

use std::time::{Duration, Instant};

use sqlx::Row as _;
use uuid::Uuid;

const INSERTS: usize = 2000;
const ROWS: i64 = 50_000;
const RUNS: usize = 5;
const PAYLOAD: &[u8] = br#"{"account":"acc-000001","amount":1250,"currency":"EUR"}"#;

type Decoded = (i64, String, Uuid, Vec<u8>);

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

#[tokio::main]
async fn main() {
    let url = std::env::var("ES_POSTGRES_URL").expect("ES_POSTGRES_URL (scripts/postgres env)");
    let config: tokio_postgres::Config = url.parse().unwrap();
    let pool = deadpool_postgres::Pool::builder(deadpool_postgres::Manager::new(config, tokio_postgres::NoTls))
        .max_size(4)
        .build()
        .unwrap();
    let sqlx_pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&url).await.unwrap();

    let client = pool.get().await.unwrap();
    client
        .batch_execute(
            "DROP SCHEMA IF EXISTS es_driver CASCADE; CREATE SCHEMA es_driver; \
             CREATE TABLE es_driver.ins (position bigserial PRIMARY KEY, stream text NOT NULL, id uuid NOT NULL, payload bytea NOT NULL); \
             CREATE TABLE es_driver.sel AS SELECT g::bigint AS position, 'stream-' || (g % 100) AS stream, \
                 md5(g::text)::uuid AS id, convert_to(repeat('x', 60), 'UTF8') AS payload \
                 FROM generate_series(1, 50000) g",
        )
        .await
        .unwrap();
    drop(client);
    let insert = "INSERT INTO es_driver.ins (stream, id, payload) VALUES ($1, $2, $3)";
    let select = "SELECT position, stream, id, payload FROM es_driver.sel WHERE position > $1 ORDER BY position";

    let mut tp_insert = Vec::new();
    let mut sx_insert = Vec::new();
    let mut tp_select = Vec::new();
    let mut sx_select = Vec::new();
    for _ in 0..RUNS {
        let client = pool.get().await.unwrap();
        let statement = client.prepare_cached(insert).await.unwrap();
        let start = Instant::now();
        for _ in 0..INSERTS {
            client.execute(&statement, &[&"s", &Uuid::now_v7(), &PAYLOAD]).await.unwrap();
        }
        tp_insert.push(start.elapsed());
        drop(client);

        let start = Instant::now();
        for _ in 0..INSERTS {
            sqlx::query(insert).bind("s").bind(Uuid::now_v7()).bind(PAYLOAD).execute(&sqlx_pool).await.unwrap();
        }
        sx_insert.push(start.elapsed());

        let client = pool.get().await.unwrap();
        let statement = client.prepare_cached(select).await.unwrap();
        let start = Instant::now();
        let rows: Vec<Decoded> = client
            .query(&statement, &[&0_i64])
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            .collect();
        tp_select.push(start.elapsed());
        assert_eq!(rows.len() as i64, ROWS);
        drop(client);

        let start = Instant::now();
        let rows: Vec<Decoded> = sqlx::query(select)
            .bind(0_i64)
            .fetch_all(&sqlx_pool)
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            .collect();
        sx_select.push(start.elapsed());
        assert_eq!(rows.len() as i64, ROWS);
    }
    let (a, b) = (median(tp_insert), median(sx_insert));
    println!(
        "sequential INSERT x{INSERTS}: tokio-postgres {:.0} rows/s, sqlx {:.0} rows/s (sqlx/tokio-postgres {:.2})",
        INSERTS as f64 / a.as_secs_f64(),
        INSERTS as f64 / b.as_secs_f64(),
        a.as_secs_f64() / b.as_secs_f64()
    );
    let (a, b) = (median(tp_select), median(sx_select));
    println!(
        "SELECT+decode {ROWS} rows: tokio-postgres {:.1} ms, sqlx {:.1} ms (sqlx/tokio-postgres {:.2})",
        a.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        b.as_secs_f64() / a.as_secs_f64()
    );
}
