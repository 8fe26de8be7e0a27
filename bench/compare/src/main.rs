//! The bank workload side by side: this framework, its peers (cqrs-es 0.5 with `MemStore` and
//! postgres-es, esrs 0.18, disintegrate 4, eventually 0.4) and the same work with no framework
//! (the bound, or the raw driver), in one process run. Each workload runs five times; the table
//! shows medians and each row's ratio to the baseline measured in the same run. Every run checks
//! what it computed (balances, versions, read models).
//!
//! `compare` runs every workload; `compare w1 w4pg` runs only those. The PostgreSQL workloads
//! need `ES_POSTGRES_URL` (`eval "$(scripts/postgres env)"`). `COMPARE_QUICK=1` runs each once at
//! a tenth of the sizes (a check, not a measurement). `compare profile-w1` runs only this
//! framework's W1, once, for a profiler; `compare w4pg-splits` times W4's parts (the rows the
//! server sends, the fold) and is not part of a full run.

mod harness;
mod memory;
mod ours;
mod peer;
mod peer_disintegrate;
mod peer_esrs;
mod peer_eventually;
mod postgres;

pub use harness::*;

use es_core::App;

const WORKLOADS: [&str; 8] = ["w1", "w2", "w5", "w3", "w3c", "w4pg", "w2pg", "memory"];

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
    if let Some(unknown) = chosen
        .iter()
        .find(|w| !WORKLOADS.contains(&w.as_str()) && *w != "w4pg-splits")
    {
        eprintln!(
            "unknown workload {unknown:?}; the workloads: {}",
            WORKLOADS.join(" ")
        );
        std::process::exit(2);
    }
    if quick() {
        eprintln!(
            "QUICK MODE (COMPARE_QUICK): one round at a tenth of the sizes; a check that every \
             run works and computes the right answer, not a measurement"
        );
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
            "w2pg" => postgres::w2_postgres(&runtime),
            "w4pg-splits" => postgres::w4_splits(&runtime),
            "w5" => w5(&runtime),
            "memory" => memory::table(),
            _ => unreachable!("checked above"),
        }
    }
    eprintln!();
    eprint!("{NOTES}");
}

/// What each peer offers that the workloads measured against (the table's notes).
const NOTES: &str = "\
Notes: what each run offers (global order; conflicts; durability; what it leaves out).
- es (this framework): gapless global positions, visible in order (PostgreSQL: one row lock \
held to commit); a command retries after a version conflict; PostgreSQL: every command \
committed before it returns (concurrent commands' appends share a transaction); \
idempotency keys, event ids and metadata; a state cache; snapshots (not used here).
- cqrs-es 0.5 / postgres-es 0.5: no global position (per-aggregate sequences); a conflict \
fails the command (AggregateConflict), no retry; a commit per command; no cache (a command \
reads all of its aggregate's events); no idempotency; snapshots optional (not used). \
MemStore prints two lines per command.
- esrs 0.18: no global position (per-aggregate sequence numbers; PgStore::stream_events \
orders by timestamp); a conflict (unique (aggregate_id, sequence_number)) fails the command, \
no retry (an advisory lock, lock_and_load, is optional: not used); a load of all the \
aggregate's events, then BEGIN, an INSERT per event, COMMIT; no cache, no snapshots, no \
idempotency; event handlers run after the commit, in the process (not durable). W3/W3c: 20 \
and 8x5 accounts a round (a fifth), ratio against the baseline's rate.
- disintegrate 4: global event ids from a sequence, with gaps (an append rolled back burns \
its ids); a read stops below the lowest append in flight, so no reader skips a late commit; \
appends in SERIALIZABLE transactions that first check the decision's validation query; a \
conflict or a serialization failure fails the decision, no retry: the harness retries and \
counts them; with appends in flight a decision can read its account without the latest \
committed events and refuse: the harness retries and counts these too; a commit per \
decision; no cache (one query of the decision's events), no idempotency, snapshots optional \
(not used: the README's NoSnapshot); its listener checkpoints in PostgreSQL (at least once). \
Its schema is made as its migrator makes it, one literal in decimal: its SQL needs \
PostgreSQL 16. W3/W3c sizes as esrs's.
- eventually 0.4 (in memory): not durable; a gapless global sequence number (an atomic \
counter), but the version check and the write take the store's lock separately (two appends \
to one stream at once can both pass: W1 is sequential); a conflict fails Repository::add, no \
retry; events kept as typed values (W2 decodes nothing; the bound decodes JSON); no cache, no \
snapshots, no idempotency. eventually-postgres 0.2 runs in bench/compare-eventually (it needs \
serde < 1.0.119).
";

fn w1(runtime: &tokio::runtime::Runtime) {
    const W: &str = "W1 commands, in memory";
    let commands = accounts() * COMMANDS_PER_ACCOUNT;
    let [cqrs, framework, bound, eventually] = medians(
        runtime,
        vec![
            run(peer::w1),
            run(ours::w1),
            run(|| async { ours::w1_bound() }),
            run(|| async {
                peer_eventually::w1().await;
            }),
        ],
    )[..] else {
        unreachable!("four runs")
    };
    row(W, "cqrs-es 0.5 MemStore (baseline)", commands, cqrs, cqrs);
    row(W, "es (this framework)", commands, framework, cqrs);
    row(W, "bound: state in memory, no store", commands, bound, cqrs);
    row(
        W,
        "eventually 0.4: Repository over its in-memory EventStore",
        commands,
        eventually,
        cqrs,
    );
}

fn w2(runtime: &tokio::runtime::Runtime) {
    const W: &str = "W2 replay 100k events";
    let payloads = ours::w2_payloads();
    let store = runtime.block_on(ours::w2_store());
    let cqrs_store = runtime.block_on(peer::w2_store());
    let eventually = runtime.block_on(peer_eventually::w2_repository());
    let [bound, framework, cqrs, eventually] = medians(
        runtime,
        vec![
            run(|| async { ours::w2_bound(&payloads) }),
            run(|| ours::w2(&store)),
            run(|| peer::w2(&cqrs_store)),
            run(|| peer_eventually::w2(&eventually)),
        ],
    )[..] else {
        unreachable!("four runs")
    };
    row(
        W,
        "bound: serde_json decode + fold (baseline)",
        long(),
        bound,
        bound,
    );
    row(W, "es (this framework)", long(), framework, bound);
    row(W, "cqrs-es 0.5 MemStore (one command)", long(), cqrs, bound);
    row(
        W,
        "eventually 0.4: Repository::get (typed events, no decoding)",
        long(),
        eventually,
        bound,
    );
}

fn w5(runtime: &tokio::runtime::Runtime) {
    const W: &str = "W5 commands on a 100k-event stream";
    // Per round: this many commands on the long stream, and on a new one.
    const COMMANDS: u64 = 1_000;
    let store = runtime.block_on(ours::w2_store());
    // The first-command rounds write to a store of their own: their deposit on the shared one
    // would make the cached app's next command a conflict, and a conflict discards the cached
    // state (its next try replays the stream), which is not what the cached row measures.
    let cold_store = runtime.block_on(ours::w2_store());
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
                let cold = App::builder(cold_store.clone())
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
