//! W1 (commands on the in-memory store) and W2 (replaying a 100,000-event stream) of the bank
//! workload, side by side: this framework, cqrs-es 0.5 with its `MemStore`, and the work with no
//! framework (the bound). Each workload runs five times; the table shows medians and ratios to
//! the row's baseline measured in the same run.

mod ours;
mod peer;

use std::time::{Duration, Instant};

/// 1,000 accounts x 100 commands: 1 open, then 99 deposits and withdrawals that all succeed.
pub const ACCOUNTS: u64 = 1_000;
pub const COMMANDS_PER_ACCOUNT: u64 = 100;
/// W2's stream length.
pub const LONG: u64 = 100_000;
const ROUNDS: usize = 5;

/// The amount of the `n`-th command after the open (odd: deposit 10, even: withdraw 5).
pub fn is_deposit(n: u64) -> bool {
    n % 2 == 1
}

/// The median of `ROUNDS` runs of `run`.
fn median<F: std::future::Future<Output = ()>>(
    runtime: &tokio::runtime::Runtime,
    mut run: impl FnMut() -> F,
) -> Duration {
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            runtime.block_on(run());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[ROUNDS / 2]
}

fn rate(items: u64, time: Duration) -> f64 {
    items as f64 / time.as_secs_f64()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a runtime");
    let commands = ACCOUNTS * COMMANDS_PER_ACCOUNT;
    println!("| workload | run | median | per second | ratio |");
    println!("|---|---|---:|---:|---:|");

    let bound = median(&runtime, || async { ours::w1_bound() });
    let framework = median(&runtime, ours::w1);
    let cqrs = median(&runtime, peer::w1);
    row(
        "W1 commands, in memory",
        "bound: state in memory, no store",
        commands,
        bound,
        bound,
    );
    row(
        "W1 commands, in memory",
        "es (this framework)",
        commands,
        framework,
        cqrs,
    );
    row(
        "W1 commands, in memory",
        "cqrs-es 0.5 MemStore",
        commands,
        cqrs,
        cqrs,
    );

    let payloads = ours::w2_payloads();
    let bound = median(&runtime, || async { ours::w2_bound(&payloads) });
    let store = runtime.block_on(ours::w2_store());
    let framework = median(&runtime, || ours::w2(&store));
    let cqrs_store = runtime.block_on(peer::w2_store());
    let cqrs = median(&runtime, || peer::w2(&cqrs_store));
    row(
        "W2 replay 100k events",
        "bound: serde_json decode + fold",
        LONG,
        bound,
        bound,
    );
    row(
        "W2 replay 100k events",
        "es (this framework)",
        LONG,
        framework,
        bound,
    );
    row(
        "W2 replay 100k events",
        "cqrs-es 0.5 MemStore (one command)",
        LONG,
        cqrs,
        bound,
    );
    println!();
    println!("ratio: this row's rate over the baseline's (W1: cqrs-es; W2: the bound)");
}

fn row(workload: &str, run: &str, items: u64, time: Duration, baseline: Duration) {
    println!(
        "| {workload} | {run} | {:.1} ms | {:.0} | {:.2}x |",
        time.as_secs_f64() * 1e3,
        rate(items, time),
        baseline.as_secs_f64() / time.as_secs_f64()
    );
}
