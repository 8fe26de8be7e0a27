//! `es-admin`: the store tool. Inspects, follows, verifies and copies an event store of this
//! framework (a SQLite file or a PostgreSQL database), and serves a live web view of it. It
//! reads stored records (names, versions, JSON payloads, metadata) and needs none of the
//! application's types.

mod copy;
mod inspect;
mod open;
mod output;
mod progress;
mod serve;
mod verify;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use uuid::Uuid;

use crate::output::Output;

const EXIT_CODES: &str = "Exit status: 0 done; 1 the answer is no (verify found a violation, \
copy refused a target that does not hold a prefix of the source, no such event); 2 bad usage \
(unknown option, no --store, a missing SQLite file, an address serve cannot listen on); 3 the \
store failed (cannot connect, a backend error).";

/// Inspect, follow, verify and copy an event store; serve a live web view of it.
#[derive(Debug, Parser)]
#[command(name = "es-admin", version, after_help = EXIT_CODES)]
struct Cli {
    /// The store: a SQLite file, or a `postgres://..` URL (its `search_path` option chooses
    /// the schema).
    #[arg(long, short, env = "ES_STORE", global = true)]
    store: Option<String>,
    /// Print one JSON object per line, for scripts, instead of text for people.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List streams with their versions (event counts) and last positions.
    Streams {
        /// Only streams whose names start with this.
        #[arg(long, default_value = "")]
        prefix: String,
        /// At most this many streams (0: all).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Print a stream's events.
    Read {
        /// The stream.
        stream: String,
        /// The first version to print.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// At most this many events (0: all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
    },
    /// Print one event, found by its id.
    Event {
        /// The event's id.
        id: Uuid,
    },
    /// Print the global log's last events, or from a position; `--follow` keeps printing new
    /// events as they are appended.
    Tail {
        /// The first position to print (default: the last `--lines` events).
        #[arg(long)]
        from: Option<u64>,
        /// How many of the last events to print when `--from` is not given.
        #[arg(long, short = 'n', default_value_t = 10)]
        lines: u64,
        /// Keep following the log until interrupted.
        #[arg(long, short)]
        follow: bool,
    },
    /// Totals: events, streams, payload bytes, event names, snapshots, checkpoints.
    Stats,
    /// Projections' checkpoints and how far each is behind the head of the log.
    Projections,
    /// Check the store contract's invariants over the whole log: positions gapless and
    /// increasing, versions consecutive per stream, ids unique, payloads well-formed JSON,
    /// snapshots and checkpoints within the log.
    Verify {
        /// The payloads are not JSON (the application uses another codec): skip that check.
        #[arg(long)]
        opaque_payloads: bool,
    },
    /// Serve a live web view of the store: totals, streams and their events, the log as it
    /// grows, projections' lag. Prints `listening on http://ADDR` once it listens; stops on
    /// Ctrl-C or SIGTERM.
    Serve {
        /// The address to listen on (port 0: any free port, printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Copy the whole log, snapshots and checkpoints into another store, keeping ids, versions,
    /// positions and metadata. Resumes where an interrupted copy stopped; refuses a target that
    /// holds anything but a prefix of the source.
    Copy {
        /// The source: a SQLite file or a `postgres://..` URL.
        #[arg(long)]
        from: String,
        /// The target: a SQLite file (created if missing) or a `postgres://..` URL (its tables
        /// created if missing).
        #[arg(long)]
        to: String,
        /// Do not copy this projection's checkpoint, so that it starts from the beginning of
        /// the log in the target: for a read model kept in tables of the source database,
        /// which the copy does not move. Repeatable.
        #[arg(long = "skip-checkpoint", value_name = "NAME")]
        skip_checkpoints: Vec<String>,
        /// Events per atomic import: a commit (and an fsync) each, so fewer, larger batches copy
        /// faster (1M events from SQLite into SQLite: 45 s at 2,000, 27 s at 10,000).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch: u64,
    },
}

/// Why the tool stopped: each maps to its documented exit status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The answer is no: a violation, a refused copy, nothing found. Exit 1.
    No(String),
    /// Bad usage. Exit 2.
    Usage(String),
    /// The store failed. Exit 3.
    Store(es_core::Error),
    /// The reader of the output went away (`| head`): stop quietly. Exit 0.
    Closed,
}

impl From<es_core::Error> for Failure {
    fn from(error: es_core::Error) -> Self {
        Self::Store(error)
    }
}

impl Failure {
    fn report(&self) -> (String, u8) {
        match self {
            Self::Closed => (String::new(), 0),
            Self::No(message) => (message.clone(), 1),
            Self::Usage(message) => (message.clone(), 2),
            Self::Store(error) => (with_causes(error), 3),
        }
    }
}

/// The error and the chain of its causes: "store backend failed" alone tells an operator
/// nothing.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let (message, code) = failure.report();
            if code != 0 {
                eprintln!("error: {message}");
            }
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let out = Output::new(cli.json);
    let store = || -> Result<&str, Failure> {
        cli.store.as_deref().ok_or_else(|| {
            Failure::Usage("no store given: pass --store FILE_OR_URL or set ES_STORE".into())
        })
    };
    match cli.command {
        Command::Copy {
            from,
            to,
            skip_checkpoints,
            batch,
        } => copy::run(&from, &to, &skip_checkpoints, batch, out).await,
        Command::Streams { prefix, limit } => {
            inspect::streams(&open::existing(store()?).await?, &prefix, limit, out).await
        }
        Command::Read {
            stream,
            from,
            limit,
        } => inspect::read(&open::existing(store()?).await?, &stream, from, limit, out).await,
        Command::Event { id } => inspect::event(&open::existing(store()?).await?, id, out).await,
        Command::Tail {
            from,
            lines,
            follow,
        } => inspect::tail(&open::existing(store()?).await?, from, lines, follow, out).await,
        Command::Stats => inspect::stats(&open::existing(store()?).await?, out).await,
        Command::Projections => inspect::projections(&open::existing(store()?).await?, out).await,
        Command::Serve { listen } => serve::run(open::existing(store()?).await?, listen).await,
        Command::Verify { opaque_payloads } => {
            verify::run(&open::existing(store()?).await?, !opaque_payloads, out).await
        }
    }
}
