//! The bank as an HTTP service: commands as `POST`, queries as `GET`, JSON bodies, a live
//! balance stream, Prometheus metrics. Routes and status codes: the README's "The bank over
//! HTTP".

mod commands;
mod error;
mod input;
mod queries;
mod routes;
mod stream;
mod telemetry;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bank::database::Database;
use bank::{Balances, BankAccount, History};
use clap::Parser;
use es_core::{App, EventStore};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::routes::Service;

/// The event-sourced bank over HTTP.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "Prints `listening on http://ADDRESS` on stdout once it accepts connections; \
                  logs go to stderr (filter with RUST_LOG, default `info`). Stops gracefully on \
                  Ctrl-C or SIGTERM. Exit status: 0 stopped; 1 could not start (the store, the \
                  address); 2 bad usage."
)]
struct Cli {
    /// Where the events live: a SQLite file, `postgres://..`, or `memory`.
    #[arg(long, default_value = "bank.db")]
    database: Database,
    /// The address to listen on; port 0 takes a free one.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// How long `?position=N` waits for a read model to reach N before answering 504, in
    /// milliseconds.
    #[arg(long, default_value_t = 5_000)]
    read_timeout_ms: u64,
    /// How many times a command is retried after a conflict (another process wrote the same
    /// account) before answering 409.
    #[arg(long, default_value_t = 30)]
    max_retries: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match serve(cli).await {
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

async fn serve(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let metrics = telemetry::install()?;
    let store = cli.database.open().await?;
    tracing::info!(store = %cli.database, head = *store.head().borrow(), "store opened");
    // Background read models: a command never waits for them, and `?position=` reads one's
    // own writes all the same.
    let app = App::builder(store)
        .max_retries(cli.max_retries)
        .aggregate::<BankAccount>()
        .background_projection(Balances::default())
        .background_projection(History::default())
        .build()?;
    let listener = TcpListener::bind(cli.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", cli.listen))?;
    let address = listener.local_addr()?;
    // Before the address is printed: a signal that comes after must find its handler.
    let signal = shutdown_signal()?;
    let (stop, stopping) = watch::channel(false);
    let service = Service {
        app,
        read_timeout: Duration::from_millis(cli.read_timeout_ms),
        shutdown: stopping.clone(),
        metrics,
    };
    println!("listening on http://{address}");
    tokio::spawn(async move {
        signal.await;
        tracing::info!("shutting down: finishing the requests under way, ending the streams");
        // `send_replace`: there may be no receiver left to tell, which changes nothing.
        stop.send_replace(true);
    });
    let mut stopped = stopping;
    axum::serve(listener, routes::router(service))
        .with_graceful_shutdown(async move {
            // `true` was sent, or the sender is gone without sending it (the signal task
            // ended with the runtime): stop either way.
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM; the handlers are in place when it returns.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        let mut ctrl_c = tokio::signal::windows::ctrl_c()?;
        Ok(async move {
            ctrl_c.recv().await;
        })
    }
}
