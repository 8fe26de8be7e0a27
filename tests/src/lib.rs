//! Test-only crate: see `tests/`. The library holds what the child processes of the
//! reliability tests (`src/bin`) share.

use std::future::Future;
use std::process::ExitCode;

use es_core::{BoxError, NewEvent};

/// The batch the read-model children append in `round`: 1 to 50 `Added` events with amounts
/// 1 to 9, their sizes and amounts cycling so that kills land at every point of a batch.
pub fn ledger_batch(round: u64) -> Vec<NewEvent> {
    let size = 1 + round * 7 % 50;
    (0..size)
        .map(|n| {
            NewEvent::new(
                "Added",
                1,
                format!(r#"{{"amount":{}}}"#, 1 + (round + n) % 9),
            )
        })
        .collect()
}

/// The `main` of a child process: takes exactly `count` arguments (else prints `usage`), runs
/// `run` with them on a Tokio runtime, and prints a failure before exiting with it.
pub fn child_main<F>(usage: &str, count: usize, run: impl FnOnce(Vec<String>) -> F) -> ExitCode
where
    F: Future<Output = Result<(), BoxError>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != count {
        eprintln!("usage: {usage}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut text = format!("failed: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            eprintln!("{text}");
            ExitCode::FAILURE
        }
    }
}

/// One leg of a transfer in the multi-stream kill test: its account's balance changes by
/// `amount`; `transfer` ties the two legs together.
pub fn transfer_leg(transfer: uuid::Uuid, amount: i64) -> NewEvent {
    NewEvent::new(
        "BalanceChanged",
        1,
        format!(r#"{{"transfer":"{transfer}","amount":{amount}}}"#),
    )
}

/// The amount of a [`transfer_leg`] (or of an account's opening deposit, written the same way).
///
/// # Errors
/// When the payload is not such an event.
pub fn transfer_amount(event: &es_core::RecordedEvent) -> Result<i64, BoxError> {
    let value: serde_json::Value = serde_json::from_slice(&event.payload)?;
    value["amount"].as_i64().ok_or_else(|| {
        format!(
            "event at version {} of `{}` has no amount",
            event.version, event.stream
        )
        .into()
    })
}
