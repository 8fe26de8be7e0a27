//! What every comparison program shares: the workload's sizes, the timing, the table's rows.
//! Shared by bench/compare-sqlite through `#[path]`.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// Each account gets 1 open, then 99 deposits and withdrawals that all succeed.
pub const COMMANDS_PER_ACCOUNT: u64 = 100;
/// W3c and W3sc: tasks, each with its own accounts.
pub const TASKS: u64 = 8;

/// `COMPARE_QUICK=1`: one round of each run, at a tenth of the sizes: a check that every run
/// works and computes the right answer, in a minute or two. Its figures are not measurements.
pub fn quick() -> bool {
    static QUICK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *QUICK.get_or_init(|| {
        std::env::var("COMPARE_QUICK").is_ok_and(|quick| !quick.is_empty() && quick != "0")
    })
}

/// `full`, or a tenth of it (at least 1) in quick mode.
pub fn size(full: u64) -> u64 {
    if quick() { (full / 10).max(1) } else { full }
}

/// W1 and W4: 1,000 accounts x 100 commands.
pub fn accounts() -> u64 {
    size(1_000)
}

/// W2's stream length: 100,000 events.
pub fn long() -> u64 {
    size(100_000)
}

/// W3 and W3s: 100 accounts, sent one after another.
pub fn w3_accounts() -> u64 {
    size(100)
}

/// W3c and W3sc: each task's 25 accounts.
pub fn task_accounts() -> u64 {
    size(25)
}

/// Timed rounds of each run: 5 (1 in quick mode).
pub fn rounds() -> usize {
    if quick() { 1 } else { 5 }
}

/// An account's balance after its `COMMANDS_PER_ACCOUNT` commands (deposits of 10, withdrawals
/// of 5): every run checks the accounts it wrote against it.
pub fn expected_balance() -> u64 {
    let deposits = (1..COMMANDS_PER_ACCOUNT).filter(|&n| is_deposit(n)).count() as u64;
    let withdrawals = COMMANDS_PER_ACCOUNT - 1 - deposits;
    deposits * 10 - withdrawals * 5
}

/// The balance of W2's long stream: the open, then deposits of 10.
pub fn expected_long_balance() -> u64 {
    (long() - 1) * 10
}

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

/// One timed run of a workload: a future per round, which may end in an [`Untimed`] part.
pub type Run<'a> = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Option<Untimed<'a>>> + 'a>> + 'a>;

/// What a round does after its clock stops: check what it computed, release what it held.
pub type Untimed<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Wraps `run` as a [`Run`].
pub fn run<'a, F: Future<Output = ()> + 'a>(mut run: impl FnMut() -> F + 'a) -> Run<'a> {
    Box::new(move || {
        let round = run();
        Box::pin(async move {
            round.await;
            None
        })
    })
}

/// Wraps `run` as a [`Run`] whose rounds' futures return their untimed part.
pub fn run_then<'a, F, U>(mut run: impl FnMut() -> F + 'a) -> Run<'a>
where
    F: Future<Output = U> + 'a,
    U: Future<Output = ()> + 'a,
{
    Box::new(move || {
        let round = run();
        Box::pin(async move { Some(Box::pin(round.await) as Untimed<'a>) })
    })
}

/// The medians of `rounds()` rounds of each run, interleaved (the first round of each, then the
/// second, ..) so that the noise of a shared machine falls on all runs alike.
pub fn medians(runtime: &tokio::runtime::Runtime, mut runs: Vec<Run<'_>>) -> Vec<Duration> {
    let rounds = rounds();
    let mut times = vec![Vec::with_capacity(rounds); runs.len()];
    for _ in 0..rounds {
        for (run, times) in runs.iter_mut().zip(&mut times) {
            let start = Instant::now();
            let untimed = runtime.block_on(run());
            times.push(start.elapsed());
            if let Some(untimed) = untimed {
                runtime.block_on(untimed);
            }
        }
    }
    times
        .into_iter()
        .map(|mut times| {
            times.sort();
            times[rounds / 2]
        })
        .collect()
}

/// `baseline`'s time for `items` items at the rate it did `baseline_items` in: the baseline of a
/// row that ran fewer items than its workload's baseline (a slow peer's smaller cell).
pub fn at_rate_of(baseline: Duration, baseline_items: u64, items: u64) -> Duration {
    baseline.mul_f64(items as f64 / baseline_items as f64)
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
