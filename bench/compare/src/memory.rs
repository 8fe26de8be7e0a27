//! Peak memory: each measured run in a child process of its own (this program, `peak <run>`),
//! which reports its peak resident set (`VmHWM`); an idle child is the baseline.

use std::process::{Command, Stdio};

use crate::{ours, peer, peer_eventually};

/// The runs, in table order, with their rows' names.
const RUNS: [(&str, &str); 6] = [
    ("idle", "idle process (runtime only, baseline)"),
    ("w1-es", "W1 (100k commands), es"),
    ("w1-cqrs", "W1 (100k commands), cqrs-es 0.5 MemStore"),
    (
        "w1-eventually",
        "W1 (100k commands), eventually 0.4 in-memory EventStore",
    ),
    ("1m-es", "1,000,000 events in the in-memory store, es"),
    ("1m-cqrs", "1,000,000 events in MemStore, cqrs-es 0.5"),
];

/// The runs that fill a store with `events()` events, with their rows' names in the table of
/// bytes per event.
const FILLED: [(&str, &str); 2] = [
    ("1m-es", "es, in-memory store"),
    ("1m-cqrs", "cqrs-es 0.5 MemStore"),
];

/// 1,000,000 events (100,000 in quick mode).
fn events() -> u64 {
    crate::size(1_000_000)
}
const MARK: &str = "peak kB: ";

/// Runs every child and prints their peaks.
pub fn table() {
    let peaks: Vec<u64> = RUNS.iter().map(|(run, _)| peak_of(run)).collect();
    eprintln!();
    eprintln!("| peak memory | peak resident set | above the idle process |");
    eprintln!("|---|---:|---:|");
    for ((_, name), peak) in RUNS.iter().zip(&peaks) {
        eprintln!(
            "| {name} | {:.1} MiB | {:.1} MiB |",
            mib(*peak),
            mib(peak - peaks[0])
        );
    }
    eprintln!();
    eprintln!(
        "| bytes per event held ({} events: peak above the idle process / events) | bytes |",
        events()
    );
    eprintln!("|---|---:|");
    for (run, name) in FILLED {
        let at = RUNS
            .iter()
            .position(|(each, _)| *each == run)
            .expect("a filled run is in the table");
        let bytes = (peaks[at] - peaks[0]) as f64 * 1024.0 / events() as f64;
        eprintln!("| {name} | {bytes:.0} B |");
    }
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn peak_of(run: &str) -> u64 {
    let exe = std::env::current_exe().expect("this program's path");
    let output = Command::new(exe)
        .args(["peak", run])
        .stdout(Stdio::null())
        .output()
        .expect("a child run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "peak {run} failed: {stderr}");
    stderr
        .lines()
        .find_map(|line| line.strip_prefix(MARK))
        .and_then(|kb| kb.trim().parse().ok())
        .unwrap_or_else(|| panic!("peak {run} reported no peak: {stderr}"))
}

/// In the child: does `run`, keeping its results alive, then reports the peak.
pub fn child(runtime: &tokio::runtime::Runtime, run: &str) {
    match run {
        "idle" => {}
        "w1-es" => runtime.block_on(ours::w1()),
        "w1-cqrs" => runtime.block_on(peer::w1()),
        "w1-eventually" => {
            let repository = runtime.block_on(peer_eventually::w1());
            std::hint::black_box(repository);
        }
        "1m-es" => {
            let store = runtime.block_on(ours::filled_store(events()));
            assert_eq!(store.len() as u64, events());
            std::hint::black_box(store);
        }
        "1m-cqrs" => {
            let store = runtime.block_on(peer::filled_store(events()));
            std::hint::black_box(store);
        }
        _ => panic!("unknown peak run {run:?}"),
    }
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    eprintln!("{MARK}{}", peak.trim().trim_end_matches("kB").trim());
}
