//! Sequential durable single-insert transactions and bulk reads, with rusqlite and with
//! sqlx-sqlite, in one run on the same machine and the same SQLite build.

use std::time::Instant;

use sqlx::{ConnectOptions, Row};

const INSERTS: usize = 5_000;
const READ_ROUNDS: usize = 20;
const SCHEMA: &str = "CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, \
    version INTEGER NOT NULL, event_id BLOB NOT NULL UNIQUE, payload BLOB NOT NULL, \
    UNIQUE (stream, version))";
const INSERT: &str =
    "INSERT INTO events (position, stream, version, event_id, payload) VALUES (?1, ?2, ?3, ?4, ?5)";
const SELECT: &str = "SELECT position, stream, version, event_id, payload FROM events \
    WHERE position > ?1 ORDER BY position";

struct Row_ {
    _position: i64,
    _stream: String,
    _version: i64,
    _id: Vec<u8>,
    _payload: Vec<u8>,
}

fn id(i: usize) -> [u8; 16] {
    (i as u128).to_le_bytes()
}

fn rusqlite_run(dir: &std::path::Path) -> (f64, f64) {
    let conn = rusqlite::Connection::open(dir.join("rusqlite.db")).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;").unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    let payload = vec![b'x'; 200];
    let start = Instant::now();
    for i in 0..INSERTS {
        let mut stmt = conn.prepare_cached(INSERT).unwrap();
        stmt.execute(rusqlite::params![i as i64 + 1, format!("s-{}", i % 100), i as i64 / 100 + 1, &id(i)[..], &payload[..]])
            .unwrap();
    }
    let inserts = INSERTS as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut rows = 0;
    for _ in 0..READ_ROUNDS {
        let mut stmt = conn.prepare_cached(SELECT).unwrap();
        let read: Vec<Row_> = stmt
            .query_map([0], |r| {
                Ok(Row_ { _position: r.get(0)?, _stream: r.get(1)?, _version: r.get(2)?, _id: r.get(3)?, _payload: r.get(4)? })
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows += read.len();
    }
    (inserts, rows as f64 / start.elapsed().as_secs_f64())
}

async fn sqlx_run(dir: &std::path::Path) -> (f64, f64) {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("sqlx.db"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
        .connect()
        .await
        .unwrap();
    sqlx::query(SCHEMA).execute(&mut conn).await.unwrap();
    let payload = vec![b'x'; 200];
    let start = Instant::now();
    for i in 0..INSERTS {
        sqlx::query(INSERT)
            .bind(i as i64 + 1)
            .bind(format!("s-{}", i % 100))
            .bind(i as i64 / 100 + 1)
            .bind(&id(i)[..])
            .bind(&payload[..])
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let inserts = INSERTS as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut rows = 0;
    for _ in 0..READ_ROUNDS {
        let read: Vec<Row_> = sqlx::query(SELECT)
            .bind(0_i64)
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|r| Row_ { _position: r.get(0), _stream: r.get(1), _version: r.get(2), _id: r.get(3), _payload: r.get(4) })
            .collect();
        rows += read.len();
    }
    (inserts, rows as f64 / start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir_in(".").unwrap();
    let (r_ins, r_read) = rusqlite_run(dir.path());
    let (s_ins, s_read) = sqlx_run(dir.path()).await;
    println!("{INSERTS} sequential durable single-insert transactions (WAL, synchronous=FULL), then {READ_ROUNDS} full reads");
    println!("rusqlite:    {r_ins:>8.0} inserts/s  {r_read:>10.0} rows read/s");
    println!("sqlx-sqlite: {s_ins:>8.0} inserts/s  {s_read:>10.0} rows read/s");
    println!("rusqlite/sqlx: inserts x{:.2}, reads x{:.2}", r_ins / s_ins, r_read / s_read);
}
