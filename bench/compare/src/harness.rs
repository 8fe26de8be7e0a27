//! What every comparison program shares: the workload's sizes, the timing, the table's rows.
//! Shared by bench/compare-sqlite through `#[path]`.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// 1,000 accounts x 100 commands: 1 open, then 99 deposits and withdrawals that all succeed.
pub const ACCOUNTS: u64 = 1_000;
pub const COMMANDS_PER_ACCOUNT: u64 = 100;
/// W2's stream length.
pub const LONG: u64 = 100_000;
/// W3 and W3s: accounts, sent one after another.
pub const W3_ACCOUNTS: u64 = 100;
/// W3c and W3sc: tasks, each with its own accounts.
pub const TASKS: u64 = 8;
pub const TASK_ACCOUNTS: u64 = 25;
pub const ROUNDS: usize = 5;

/// The runtime every workload runs on: two workers, as the machine has two cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Whether the `n`-th command after the open deposits (odd: deposit 10; even: withdraw 5).
pub fn is_deposit(n: u64) -> bool {
    n % 2 == 1
}

/// One timed run of a workload: a future per round.
pub type Run<'a> = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = ()> + 'a>> + 'a>;

/// Wraps `run` as a [`Run`].
pub fn run<'a, F: Future<Output = ()> + 'a>(mut run: impl FnMut() -> F + 'a) -> Run<'a> {
    Box::new(move || Box::pin(run()))
}

/// The medians of `ROUNDS` rounds of each run, interleaved (the first round of each, then the
/// second, ..) so that the noise of a shared machine falls on all runs alike.
pub fn medians(runtime: &tokio::runtime::Runtime, mut runs: Vec<Run<'_>>) -> Vec<Duration> {
    let mut times = vec![Vec::with_capacity(ROUNDS); runs.len()];
    for _ in 0..ROUNDS {
        for (run, times) in runs.iter_mut().zip(&mut times) {
            let start = Instant::now();
            runtime.block_on(run());
            times.push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut times| {
            times.sort();
            times[ROUNDS / 2]
        })
        .collect()
}

/// Prints one table row: `items` done in `time`, and the rate's ratio to `baseline`'s (the time
/// the baseline took for as many items). To stderr: stdout carries the two lines per command
/// that cqrs-es's `MemStore` prints (it is measured as shipped; run with `>/dev/null`).
pub fn row(workload: &str, run: &str, items: u64, time: Duration, baseline: Duration) {
    let ratio = baseline.as_secs_f64() / time.as_secs_f64();
    // Three significant digits for the small ratios of a replay against a cached command.
    let digits = if ratio < 0.1 { 4 } else { 2 };
    let millis = time.as_secs_f64() * 1e3;
    let places = if millis < 1.0 { 3 } else { 1 };
    eprintln!(
        "| {workload} | {run} | {millis:.places$} ms | {:.0} | {ratio:.digits$}x |",
        items as f64 / time.as_secs_f64(),
    );
}
