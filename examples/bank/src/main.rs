//! The bank example's command line: a scripted demo, or one command at a time.

use std::process::ExitCode;

use std::time::Duration;

use bank::database::Database;
use bank::wire::{ConfirmWire, RequestWire, Wire, WireProcess, WireSettings};
use bank::{
    AllBalances, Balances, BankAccount, BankError, CloseAccount, Deposit, GetBalance, GetHistory,
    History, OpenAccount, Withdraw,
};
use clap::{Parser, Subcommand};
use es_core::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};

/// An event-sourced bank: every change to an account is an event.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Exit status: 0 done; 1 refused by the bank (insufficient funds, no such \
                  account, closed, invalid input); 2 bad usage (an unknown option or \
                  --database scheme); 3 the store failed."
)]
struct Cli {
    /// Where the events live: a SQLite file, `postgres://..`, or `memory`.
    #[arg(long, global = true, default_value = "bank.db")]
    database: Database,
    #[command(subcommand)]
    command: Option<Action>,
}

#[derive(Subcommand)]
enum Action {
    /// Runs a short scripted demo (the default).
    Demo,
    /// Opens an account.
    Open {
        /// The account's id.
        account: String,
        /// Who owns it.
        owner: String,
    },
    /// Pays money in.
    Deposit {
        /// The account's id.
        account: String,
        /// In cents.
        amount: u64,
    },
    /// Pays money out.
    Withdraw {
        /// The account's id.
        account: String,
        /// In cents.
        amount: u64,
    },
    /// Moves money from one account to another, atomically.
    Transfer {
        /// The account paying.
        from: String,
        /// The account paid.
        to: String,
        /// In cents.
        amount: u64,
    },
    /// Closes an account whose balance is zero.
    Close {
        /// The account's id.
        account: String,
    },
    /// Shows an account's balance.
    Balance {
        /// The account's id.
        account: String,
    },
    /// Lists an account's events with their metadata.
    History {
        /// The account's id.
        account: String,
    },
    /// Rebuilds the read models (balances, history) from the event log.
    Rebuild,
    /// Wires money to another bank: withdrawn by `settle`, refunded if not confirmed in time.
    Wire {
        /// The wire's id, chosen by the caller (a retry with the same id is one wire).
        wire: String,
        /// The account paying.
        from: String,
        /// The other bank's account.
        to: String,
        /// In cents.
        amount: u64,
    },
    /// The other bank confirms a wire.
    WireConfirm {
        /// The wire's id.
        wire: String,
    },
    /// Shows where a wire stands.
    WireStatus {
        /// The wire's id.
        wire: String,
    },
    /// Runs the wire process: withdraws requested wires, refunds overdue ones.
    Settle {
        /// Keep running, following the log (one node at a time holds the process's lease).
        #[arg(long)]
        follow: bool,
        /// How long the other bank has to confirm a wire, in milliseconds.
        #[arg(long, default_value_t = 60_000)]
        wire_timeout_ms: u64,
        /// How long this node's lease on the process lasts without renewal, in milliseconds:
        /// how long another node waits to take over if this one dies.
        #[arg(long, default_value_t = 10_000)]
        lease_ms: u64,
    },
}

type Bank = App<AnyEventStore>;

/// How a run ends, as its exit status (documented in `--help`); bad usage, an unknown
/// `--database` scheme included, is clap's own error, exit status 2.
enum Failure {
    /// The bank refused the command: 1.
    Refused,
    /// The store failed: 3.
    Store(Box<dyn std::error::Error>),
}

impl<E: Into<Box<dyn std::error::Error>>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self::Store(error.into())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused) => ExitCode::from(1),
        Err(Failure::Store(error)) => {
            eprintln!("error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(3)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let store = open_store(&cli.database).await?;
    let app: Bank = App::builder(store)
        .aggregate::<BankAccount>()
        .aggregate::<Wire>()
        .projection(Balances::default())
        .projection(History::default())
        .build()?;
    match cli.command.unwrap_or(Action::Demo) {
        // The demo's refusals are part of its script.
        Action::Demo => demo(&app).await.or_else(|failure| match failure {
            Failure::Refused => Ok(()),
            store @ Failure::Store(_) => Err(store),
        }),
        Action::Open { account, owner } => send(&app, OpenAccount { account, owner }).await,
        Action::Deposit { account, amount } => send(&app, Deposit { account, amount }).await,
        Action::Withdraw { account, amount } => send(&app, Withdraw { account, amount }).await,
        Action::Transfer { from, to, amount } => transfer(&app, &from, &to, amount).await,
        Action::Close { account } => send(&app, CloseAccount { account }).await,
        Action::Balance { account } => balance(&app, &account).await,
        Action::History { account } => history(&app, &account).await,
        Action::Rebuild => rebuild(&app).await,
        Action::Wire {
            wire,
            from,
            to,
            amount,
        } => {
            let request = RequestWire {
                wire,
                from,
                to,
                amount,
            };
            send(&app, request).await
        }
        Action::WireConfirm { wire } => send(&app, ConfirmWire { wire }).await,
        Action::WireStatus { wire } => {
            let (state, version) = app.load::<Wire>(&wire).await?;
            println!(
                "wire {}: {:?}, {} cents from {} (version {version})",
                wire.escape_debug(),
                state.status,
                state.amount,
                state.from.escape_debug()
            );
            Ok(())
        }
        Action::Settle {
            follow,
            wire_timeout_ms,
            lease_ms,
        } => {
            let settings = WireSettings {
                confirmation_timeout: Duration::from_millis(wire_timeout_ms),
            };
            let mut runner = ProcessRunner::<WireProcess, _>::new(app.clone(), settings)
                .lease(Duration::from_millis(lease_ms));
            if follow {
                println!("following the log; stop with Ctrl-C");
                runner.run(Duration::from_millis(100)).await;
                return Ok(());
            }
            let progress = runner.run_once().await?;
            if progress.leading {
                println!(
                    "settled up to position {}: {} events handled, {} deadlines fired",
                    progress.position, progress.events, progress.deadlines
                );
            } else {
                println!("another node holds the wire process's lease; nothing done");
            }
            Ok(())
        }
    }
}

async fn open_store(database: &Database) -> Result<AnyEventStore, Failure> {
    let store = database.open().await?;
    if *database == Database::Memory {
        println!("store: in memory (nothing is kept after this run)");
    } else {
        println!(
            "store: {database}, global log at position {}",
            *store.head().borrow()
        );
    }
    Ok(store)
}

/// The demo: two accounts, a refused overdraft, a closed account that refuses a deposit.
async fn demo(app: &Bank) -> Result<(), Failure> {
    let open = |account: &str, owner: &str| OpenAccount {
        account: account.into(),
        owner: owner.into(),
    };
    let deposit = |account: &str, amount| Deposit {
        account: account.into(),
        amount,
    };
    let withdraw = |account: &str, amount| Withdraw {
        account: account.into(),
        amount,
    };
    step(app, open("alice", "Alice")).await?;
    step(app, open("bob", "Bob")).await?;
    step(app, deposit("alice", 100)).await?;
    step(app, deposit("bob", 50)).await?;
    step(app, withdraw("alice", 30)).await?;
    step(app, withdraw("bob", 80)).await?;
    step(app, withdraw("bob", 50)).await?;
    step(
        app,
        CloseAccount {
            account: "bob".into(),
        },
    )
    .await?;
    step(app, deposit("bob", 10)).await?;
    println!();
    println!("final balances:");
    balance(app, "alice").await?;
    balance(app, "bob").await
}

/// One command of the demo: a refusal is part of its script.
async fn step<C>(app: &Bank, command: C) -> Result<(), Failure>
where
    C: AggregateCommand<Aggregate = BankAccount> + Clone + std::fmt::Debug,
{
    match send(app, command).await {
        Err(Failure::Refused) => Ok(()),
        other => other,
    }
}

/// Sends one command and prints it with its events, or with the bank's refusal.
async fn send<C>(app: &Bank, command: C) -> Result<(), Failure>
where
    C: AggregateCommand + Clone + std::fmt::Debug,
    C::Aggregate: Aggregate<Error = BankError>,
{
    println!("> {command:?}");
    match app.send(command).await {
        Ok(committed) => {
            if committed.retries > 0 {
                println!("  (retried after {} conflicts)", committed.retries);
            }
            for (offset, event) in committed.events.iter().enumerate() {
                let version = committed.version - (committed.events.len() - 1 - offset) as u64;
                println!(
                    "  = {event:?}  ({} v{version})",
                    committed.stream.escape_debug()
                );
            }
            Ok(())
        }
        Err(CommandError::Rejected(refusal)) => {
            println!("  ! refused: {refusal}");
            Err(Failure::Refused)
        }
        Err(error) => Err(error.into()),
    }
}

async fn transfer(app: &Bank, from: &str, to: &str, amount: u64) -> Result<(), Failure> {
    println!(
        "> transfer {amount} from {} to {}",
        from.escape_debug(),
        to.escape_debug()
    );
    match bank::transfer(app, from, to, amount).await {
        Ok(done) => {
            if done.retries > 0 {
                println!("  (retried after {} conflicts)", done.retries);
            }
            for (stream, version) in &done.streams {
                println!("  = {} v{version}", stream.escape_debug());
            }
            println!("  at position {}", done.position);
            Ok(())
        }
        Err(TransactionError::Rejected(CommandError::Rejected(refusal))) => {
            println!("  ! refused: {refusal}");
            Err(Failure::Refused)
        }
        Err(error) => Err(error.into()),
    }
}

async fn balance(app: &Bank, account: &str) -> Result<(), Failure> {
    let query = GetBalance {
        account: account.to_owned(),
    };
    let shown = account.escape_debug();
    match app.query(query).await? {
        None => {
            println!("  {shown}: no such account");
            Err(Failure::Refused)
        }
        Some(summary) => {
            println!(
                "  {shown} ({}{}): {} cents",
                summary.owner.escape_debug(),
                if summary.closed { ", closed" } else { "" },
                summary.balance
            );
            Ok(())
        }
    }
}

async fn history(app: &Bank, account: &str) -> Result<(), Failure> {
    let query = GetHistory {
        account: account.to_owned(),
    };
    let entries = app.query(query).await?;
    let stream = BankAccount::stream_name(account);
    let stream = stream.escape_debug();
    if entries.is_empty() {
        println!("{stream}: no events");
        return Err(Failure::Refused);
    }
    for entry in entries {
        println!(
            "{stream} v{} @{} {}  {}\n    correlation {}  causation {}",
            entry.version,
            entry.position,
            entry.timestamp,
            entry.what.escape_debug(),
            or_dash(entry.correlation_id),
            or_dash(entry.causation_id),
        );
    }
    Ok(())
}

/// Replays the whole log into fresh read models, with a progress bar on a terminal, after
/// checking that the balances the app had match a replay of the log up to the same position
/// (other processes may append meanwhile: the comparison never looks past that position).
async fn rebuild(app: &Bank) -> Result<(), Failure> {
    let before = app.query(AllBalances).await?;
    let at = app.projection_position::<Balances>()?;
    let head = *app.store().head().borrow();
    let bar = ProgressBar::new(head).with_style(ProgressStyle::with_template(
        "{msg:>16} [{bar:40}] {pos}/{len} events",
    )?);
    bar.set_message("balances");
    let balances = app
        .rebuild(Balances::default(), |position| bar.set_position(position))
        .await?;
    bar.set_position(0);
    bar.set_message("account-history");
    let history = app
        .rebuild(History::default(), |position| bar.set_position(position))
        .await?;
    bar.finish_and_clear();
    println!("rebuilt balances up to position {balances}, account-history up to {history}");
    let after = app.query(AllBalances).await?;
    for (account, summary) in &after {
        println!(
            "  {} ({}): {} cents",
            account.escape_debug(),
            summary.owner.escape_debug(),
            summary.balance
        );
    }
    if AllBalances.ask(&replayed_up_to(app, at).await?) == before {
        println!("the balances before the rebuild match a replay up to position {at}");
        Ok(())
    } else {
        Err(
            format!("the balances before the rebuild differ from a replay up to position {at}")
                .into(),
        )
    }
}

/// The balances after exactly the events up to `position`.
async fn replayed_up_to(app: &Bank, position: u64) -> Result<Balances, es_core::Error> {
    let mut balances = Balances::default();
    let mut after = 0;
    while after < position {
        let batch = app.store().read_all(after, 1024).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        for record in batch
            .iter()
            .take_while(|record| record.position <= position)
        {
            // Every event of the bank's log is a bank account's.
            let event = EventMeta::new(record, Some(<BankAccount as Aggregate>::NAME));
            balances.apply(event, &es_core::Json)?;
        }
    }
    Ok(balances)
}

fn or_dash(id: Option<uuid::Uuid>) -> String {
    id.map_or_else(|| "-".to_owned(), |id| id.to_string())
}
