//! The bank workload side by side: this framework, cqrs-es 0.5 (`MemStore`, postgres-es) and the
//! same work with no framework (the bound, or the raw driver), in one process run. Each
//! workload runs five times; the table shows medians and each row's ratio to the baseline
//! measured in the same run.
//!
//! `compare` runs every workload; `compare w1 w4` runs only those. The PostgreSQL workloads
//! need `ES_POSTGRES_URL` (`eval "$(scripts/postgres env)"`). `compare profile-w1` runs only this
//! framework's W1, once, for a profiler.

mod harness;
mod memory;
mod ours;
mod peer;
mod postgres;

pub use harness::*;

use es_core::App;

const WORKLOADS: [&str; 7] = ["w1", "w2", "w5", "w3", "w3c", "w4pg", "memory"];

fn main() {
    let runtime = runtime();
    let mut chosen: Vec<String> = std::env::args().skip(1).collect();
    // For a profiler: this framework's W1, once, with nothing else in the run.
    if chosen == ["profile-w1"] {
        runtime.block_on(ours::w1());
        return;
    }
    if let [peak, what] = &chosen[..]
        && peak == "peak"
    {
        memory::child(&runtime, what);
        return;
    }
    if chosen.is_empty() {
        chosen = WORKLOADS.iter().map(ToString::to_string).collect();
    }
    if let Some(unknown) = chosen.iter().find(|w| !WORKLOADS.contains(&w.as_str())) {
        eprintln!(
            "unknown workload {unknown:?}; the workloads: {}",
            WORKLOADS.join(" ")
        );
        std::process::exit(2);
    }
    eprintln!(
        "ratio: the row's rate over its baseline's (the first row of each workload, unless named)"
    );
    eprintln!();
    eprintln!("| workload | run | median | per second | ratio |");
    eprintln!("|---|---|---:|---:|---:|");
    for workload in &chosen {
        match workload.as_str() {
            "w1" => w1(&runtime),
            "w2" => w2(&runtime),
            "w3" => postgres::w3(&runtime),
            "w3c" => postgres::w3c(&runtime),
            "w4pg" => postgres::w4_postgres(&runtime),
            "w5" => w5(&runtime),
            "memory" => memory::table(),
            _ => unreachable!("checked above"),
        }
    }
}

fn w1(runtime: &tokio::runtime::Runtime) {
    const W: &str = "W1 commands, in memory";
    let commands = ACCOUNTS * COMMANDS_PER_ACCOUNT;
    let [cqrs, framework, bound] = medians(
        runtime,
        vec![
            run(peer::w1),
            run(ours::w1),
            run(|| async { ours::w1_bound() }),
        ],
    )[..] else {
        unreachable!("three runs")
    };
    row(W, "cqrs-es 0.5 MemStore (baseline)", commands, cqrs, cqrs);
    row(W, "es (this framework)", commands, framework, cqrs);
    row(W, "bound: state in memory, no store", commands, bound, cqrs);
}

fn w2(runtime: &tokio::runtime::Runtime) {
    const W: &str = "W2 replay 100k events";
    let payloads = ours::w2_payloads();
    let store = runtime.block_on(ours::w2_store());
    let cqrs_store = runtime.block_on(peer::w2_store());
    let [bound, framework, cqrs] = medians(
        runtime,
        vec![
            run(|| async { ours::w2_bound(&payloads) }),
            run(|| ours::w2(&store)),
            run(|| peer::w2(&cqrs_store)),
        ],
    )[..] else {
        unreachable!("three runs")
    };
    row(
        W,
        "bound: serde_json decode + fold (baseline)",
        LONG,
        bound,
        bound,
    );
    row(W, "es (this framework)", LONG, framework, bound);
    row(W, "cqrs-es 0.5 MemStore (one command)", LONG, cqrs, bound);
}

fn w5(runtime: &tokio::runtime::Runtime) {
    const W: &str = "W5 commands on a 100k-event stream";
    // Per round: this many commands on the long stream, and on a new one.
    const COMMANDS: u64 = 1_000;
    let store = runtime.block_on(ours::w2_store());
    let app = App::builder(store.clone())
        .aggregate::<ours::BankAccount>()
        .build()
        .expect("build the app");
    // The cache holds the long stream from here on: the first command replayed it.
    runtime.block_on(ours::deposits(&app, "long", false, 1));
    let cqrs_store = runtime.block_on(peer::w2_store());
    let cqrs = cqrs_es::CqrsFramework::new(cqrs_store.clone(), vec![], ());
    let new_streams = std::cell::Cell::new(0);
    let next_new = || {
        new_streams.set(new_streams.get() + 1);
        format!("new-{}", new_streams.get())
    };
    let [new, long, cold, cqrs_new, cqrs_long] = medians(
        runtime,
        vec![
            run(|| {
                let account = next_new();
                let app = &app;
                async move { ours::deposits(app, &account, true, COMMANDS).await }
            }),
            run(|| ours::deposits(&app, "long", false, COMMANDS)),
            run(|| async {
                let cold = App::builder(store.clone())
                    .aggregate::<ours::BankAccount>()
                    .build()
                    .expect("build the app");
                ours::deposits(&cold, "long", false, 1).await;
            }),
            run(|| {
                let account = next_new();
                let cqrs = &cqrs;
                async move { peer::deposits(cqrs, &account, true, 10).await }
            }),
            run(|| peer::deposits(&cqrs, "long", false, 1)),
        ],
    )[..] else {
        unreachable!("five runs")
    };
    // A row's baseline is the baseline's time for as many commands as the row ran.
    let per = |commands: u32| new / u32::try_from(COMMANDS).expect("small") * commands;
    row(W, "es, new stream (baseline)", COMMANDS, new, new);
    row(W, "es, 100k-event stream, cached", COMMANDS, long, new);
    row(
        W,
        "es, 100k-event stream, first command (replay)",
        1,
        cold,
        per(1),
    );
    row(W, "cqrs-es 0.5 MemStore, new stream", 10, cqrs_new, per(10));
    row(
        W,
        "cqrs-es 0.5 MemStore, 100k-event stream",
        1,
        cqrs_long,
        per(1),
    );
}
