//! Child process of the multi-stream kill test: moves money between accounts with multi-stream
//! appends until it is killed, printing one line per acknowledged transfer.
//!
//! Usage: `transferer <store> <schema> <accounts>`, the store `sqlite:<file>` or a PostgreSQL
//! URL (the schema is used by PostgreSQL only). Four tasks move random amounts between streams
//! `account-0` .. `account-{n-1}`; each transfer is one call of two parts, each guarded by its
//! account's exact version, whose events carry the transfer's id. Each acknowledged transfer
//! prints `ack <transfer id>`.

use std::io::Write;
use std::process::ExitCode;

use es_core::store::{ExpectedVersion, PostgresEventStore, SqliteEventStore};
use es_core::{AnyEventStore, BoxError, EventStore, StreamAppend};
use es_tests::{transfer_amount, transfer_leg};

const TASKS: u64 = 4;

fn main() -> ExitCode {
    es_tests::child_main(
        "transferer <sqlite:FILE | postgres://..> <schema> <accounts>",
        3,
        |args| async move { run(&args[0], &args[1], args[2].parse()?).await },
    )
}

async fn run(store: &str, schema: &str, accounts: usize) -> Result<(), BoxError> {
    let store = match store.strip_prefix("sqlite:") {
        Some(path) => AnyEventStore::new(SqliteEventStore::open(path).await?),
        None => AnyEventStore::new(
            PostgresEventStore::builder(store)
                .schema(schema)
                .connect()
                .await?,
        ),
    };
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| tokio::spawn(transfer_forever(store.clone(), accounts, task)))
        .collect();
    // Runs until the parent kills it, unless a transfer fails.
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn transfer_forever(
    store: AnyEventStore,
    accounts: usize,
    seed: u64,
) -> Result<(), BoxError> {
    let mut rng = fastrand::Rng::with_seed(seed ^ u64::from(std::process::id()));
    let account = |index: usize| format!("account-{index}");
    loop {
        let from = rng.usize(..accounts);
        let to = (from + 1 + rng.usize(..accounts - 1)) % accounts;
        let (from_stream, to_stream) = (account(from), account(to));
        let (from_version, balance) = read_balance(&store, &from_stream).await?;
        let to_version = store.stream_version(&to_stream).await?;
        let amount = rng.i64(0..=balance.min(100));
        if amount == 0 {
            continue;
        }
        let transfer = uuid::Uuid::now_v7();
        let parts = vec![
            StreamAppend::new(
                &from_stream,
                ExpectedVersion::Exact(from_version),
                vec![transfer_leg(transfer, -amount)],
            ),
            StreamAppend::new(
                &to_stream,
                ExpectedVersion::Exact(to_version),
                vec![transfer_leg(transfer, amount)],
            ),
        ];
        match store.append_streams(parts).await {
            Ok(_) => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "ack {transfer}")?;
                out.flush()?;
            }
            Err(error) if error.is_conflict() => {}
            Err(error) => return Err(error.into()),
        }
    }
}

async fn read_balance(store: &AnyEventStore, stream: &str) -> Result<(u64, i64), BoxError> {
    let events = store.read_stream(stream, 1, usize::MAX).await?;
    let balance = events.iter().map(transfer_amount).sum::<Result<i64, _>>()?;
    Ok((events.last().map_or(0, |event| event.version), balance))
}
