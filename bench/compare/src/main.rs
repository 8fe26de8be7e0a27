//! The bank workload side by side: this framework, cqrs-es 0.5 (`MemStore`, postgres-es) and the
//! same work with no framework (the bound, or the raw driver), in one process run. Each
//! workload runs five times; the table shows medians and each row's ratio to the baseline
//! measured in the same run.
//!
//! `compare` runs every workload; `compare w1 w4` runs only those. The PostgreSQL workloads
//! need `ES_POSTGRES_URL` (`eval "$(scripts/postgres env)"`).

mod ours;
mod peer;
mod postgres;

use std::time::{Duration, Instant};

/// 1,000 accounts x 100 commands: 1 open, then 99 deposits and withdrawals that all succeed.
pub const ACCOUNTS: u64 = 1_000;
pub const COMMANDS_PER_ACCOUNT: u64 = 100;
/// W2's stream length.
pub const LONG: u64 = 100_000;
const ROUNDS: usize = 5;

/// Whether the `n`-th command after the open deposits (odd: deposit 10; even: withdraw 5).
pub fn is_deposit(n: u64) -> bool {
    n % 2 == 1
}

/// The median of `ROUNDS` runs of `run`.
pub fn median<F: std::future::Future<Output = ()>>(
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

/// Prints one table row: `items` done in `time`, and the rate's ratio to `baseline`'s.
pub fn row(workload: &str, run: &str, items: u64, time: Duration, baseline: Duration) {
    println!(
        "| {workload} | {run} | {:.1} ms | {:.0} | {:.2}x |",
        time.as_secs_f64() * 1e3,
        items as f64 / time.as_secs_f64(),
        baseline.as_secs_f64() / time.as_secs_f64()
    );
}

const WORKLOADS: [&str; 2] = ["w1", "w2"];

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut chosen: Vec<String> = std::env::args().skip(1).collect();
    if chosen.is_empty() {
        chosen = WORKLOADS.iter().map(ToString::to_string).collect();
    }
    if let Some(unknown) = chosen.iter().find(|w| !WORKLOADS.contains(&w.as_str())) {
        eprintln!("unknown workload {unknown:?}; the workloads: {}", WORKLOADS.join(" "));
        std::process::exit(2);
    }
    println!("| workload | run | median | per second | ratio |");
    println!("|---|---|---:|---:|---:|");
    for workload in &chosen {
        match workload.as_str() {
            "w1" => w1(&runtime),
            "w2" => w2(&runtime),
            _ => unreachable!("checked above"),
        }
    }
    println!();
    println!("ratio: the row's rate over its baseline's (the first row of each workload, unless named)");
}

fn w1(runtime: &tokio::runtime::Runtime) {
    const W: &str = "W1 commands, in memory";
    let commands = ACCOUNTS * COMMANDS_PER_ACCOUNT;
    let bound = median(runtime, || async { ours::w1_bound() });
    let framework = median(runtime, ours::w1);
    let cqrs = median(runtime, peer::w1);
    row(W, "cqrs-es 0.5 MemStore (baseline)", commands, cqrs, cqrs);
    row(W, "es (this framework)", commands, framework, cqrs);
    row(W, "bound: state in memory, no store", commands, bound, cqrs);
}

fn w2(runtime: &tokio::runtime::Runtime) {
    const W: &str = "W2 replay 100k events";
    let payloads = ours::w2_payloads();
    let bound = median(runtime, || async { ours::w2_bound(&payloads) });
    let store = runtime.block_on(ours::w2_store());
    let framework = median(runtime, || ours::w2(&store));
    let cqrs_store = runtime.block_on(peer::w2_store());
    let cqrs = median(runtime, || peer::w2(&cqrs_store));
    row(W, "bound: serde_json decode + fold (baseline)", LONG, bound, bound);
    row(W, "es (this framework)", LONG, framework, bound);
    row(W, "cqrs-es 0.5 MemStore (one command)", LONG, cqrs, bound);
}
