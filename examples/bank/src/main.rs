//! The bank example's command line: a scripted demo, or one command at a time.

use std::process::ExitCode;
use std::sync::Arc;

use bank::{
    AllBalances, Balances, BankAccount, CloseAccount, Deposit, GetBalance, GetHistory, History,
    OpenAccount, Withdraw,
};
use clap::{Parser, Subcommand};
use es_core::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};

/// An event-sourced bank: every change to an account is an event.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Where the events live: a SQLite file, `postgres://..`, or `memory`.
    #[arg(long, global = true, default_value = "bank.db")]
    database: String,
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
}

type Bank = App<Arc<dyn es_core::DynEventStore>>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let store = open_store(&cli.database).await?;
    let app: Bank = App::builder(store)
        .aggregate::<BankAccount>()
        .projection(Balances::default())
        .projection(History::default())
        .build();
    match cli.command.unwrap_or(Action::Demo) {
        Action::Demo => demo(&app).await,
        Action::Open { account, owner } => send(&app, OpenAccount { account, owner }).await,
        Action::Deposit { account, amount } => send(&app, Deposit { account, amount }).await,
        Action::Withdraw { account, amount } => send(&app, Withdraw { account, amount }).await,
        Action::Close { account } => send(&app, CloseAccount { account }).await,
        Action::Balance { account } => balance(&app, &account).await,
        Action::History { account } => history(&app, &account).await,
        Action::Rebuild => rebuild(&app).await,
    }
}

async fn open_store(
    database: &str,
) -> Result<Arc<dyn es_core::DynEventStore>, Box<dyn std::error::Error>> {
    if database == "memory" {
        println!("store: in memory (nothing is kept after this run)");
        return Ok(Arc::new(InMemoryEventStore::new()));
    }
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        let store = PostgresEventStore::connect(database).await?;
        store.migrate().await?;
        println!(
            "store: PostgreSQL, global log at position {}",
            *store.head().borrow()
        );
        return Ok(Arc::new(store));
    }
    if database.is_empty() {
        return Err("--database is empty; give a SQLite file, `postgres://..` or `memory`".into());
    }
    let store = SqliteEventStore::open(database).await?;
    println!(
        "store: SQLite file {database}, global log at position {}",
        *store.head().borrow()
    );
    Ok(Arc::new(store))
}

/// The demo: two accounts, a refused overdraft, a closed account that refuses a deposit.
async fn demo(app: &Bank) -> Result<(), Box<dyn std::error::Error>> {
    let (alice, bob) = ("alice".to_owned(), "bob".to_owned());
    send(
        app,
        OpenAccount {
            account: alice.clone(),
            owner: "Alice".into(),
        },
    )
    .await?;
    send(
        app,
        OpenAccount {
            account: bob.clone(),
            owner: "Bob".into(),
        },
    )
    .await?;
    send(
        app,
        Deposit {
            account: alice.clone(),
            amount: 100,
        },
    )
    .await?;
    send(
        app,
        Deposit {
            account: bob.clone(),
            amount: 50,
        },
    )
    .await?;
    send(
        app,
        Withdraw {
            account: alice.clone(),
            amount: 30,
        },
    )
    .await?;
    send(
        app,
        Withdraw {
            account: bob.clone(),
            amount: 80,
        },
    )
    .await?;
    send(
        app,
        Withdraw {
            account: bob.clone(),
            amount: 50,
        },
    )
    .await?;
    send(
        app,
        CloseAccount {
            account: bob.clone(),
        },
    )
    .await?;
    send(
        app,
        Deposit {
            account: bob.clone(),
            amount: 10,
        },
    )
    .await?;
    println!();
    println!("final balances:");
    balance(app, &alice).await?;
    balance(app, &bob).await
}

/// Sends one command and prints it with its events, or with the bank's refusal.
async fn send<C>(app: &Bank, command: C) -> Result<(), Box<dyn std::error::Error>>
where
    C: AggregateCommand<Aggregate = BankAccount> + Clone + std::fmt::Debug,
{
    println!("> {command:?}");
    match app.send(command).await {
        Ok(committed) => {
            for (offset, event) in committed.events.iter().enumerate() {
                let version = committed.version - (committed.events.len() - 1 - offset) as u64;
                println!("  = {event:?}  ({} v{version})", committed.stream);
            }
            Ok(())
        }
        Err(CommandError::Rejected(refusal)) => {
            println!("  ! refused: {refusal}");
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

async fn balance(app: &Bank, account: &str) -> Result<(), Box<dyn std::error::Error>> {
    let query = GetBalance {
        account: account.to_owned(),
    };
    match app.query(query).await? {
        None => println!("  {account}: no such account"),
        Some(summary) => println!(
            "  {account} ({}{}): {} cents",
            summary.owner,
            if summary.closed { ", closed" } else { "" },
            summary.balance
        ),
    }
    Ok(())
}

async fn history(app: &Bank, account: &str) -> Result<(), Box<dyn std::error::Error>> {
    let query = GetHistory {
        account: account.to_owned(),
    };
    let entries = app.query(query).await?;
    let stream = BankAccount::stream_name(account);
    if entries.is_empty() {
        println!("{stream}: no events");
    }
    for entry in entries {
        println!(
            "{stream} v{} @{} {}  {}\n    correlation {}  causation {}",
            entry.version,
            entry.position,
            entry.timestamp,
            entry.what,
            or_dash(entry.correlation_id),
            or_dash(entry.causation_id),
        );
    }
    Ok(())
}

/// Replays the whole log into fresh read models, with a progress bar on a terminal, and checks
/// that the rebuilt balances are those the app had.
async fn rebuild(app: &Bank) -> Result<(), Box<dyn std::error::Error>> {
    let before = app.query(AllBalances).await?;
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
        println!("  {account} ({}): {} cents", summary.owner, summary.balance);
    }
    if before == after {
        println!("the rebuilt balances match the ones before the rebuild");
        Ok(())
    } else {
        Err("the rebuilt balances differ from the ones before the rebuild".into())
    }
}

fn or_dash(id: Option<uuid::Uuid>) -> String {
    id.map_or_else(|| "-".to_owned(), |id| id.to_string())
}
