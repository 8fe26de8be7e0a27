//! The reading subcommands: `streams`, `read`, `event`, `tail`, `stats`, `projections`.

use std::fmt::Write as _;
use std::time::Duration;

use es_core::EventStore;
use es_core::store::{Subscription, validate_stream_name};
use serde_json::json;
use uuid::Uuid;

use crate::Failure;
use crate::open::Store;
use crate::output::{self, Output};

/// Events per read of the log.
const PAGE: usize = 1000;

/// `0` means no limit.
fn limit_or_all(limit: usize) -> usize {
    if limit == 0 { usize::MAX } else { limit }
}

pub(crate) async fn streams(
    store: &Store,
    prefix: &str,
    limit: usize,
    out: Output,
) -> Result<(), Failure> {
    let mut left = limit_or_all(limit);
    let mut after = String::new();
    while left > 0 {
        let page = store.admin.streams(prefix, &after, left.min(PAGE)).await?;
        let Some(last) = page.last() else { break };
        after.clone_from(&last.stream);
        left -= page.len();
        for stream in &page {
            out.emit(
                || {
                    format!(
                        "{}  v{}  last @{}  {}",
                        stream.stream, stream.version, stream.last_position, stream.last_timestamp
                    )
                },
                || output::stream_json(stream),
            )?;
        }
    }
    Ok(())
}

pub(crate) async fn read(
    store: &Store,
    stream: &str,
    from: u64,
    limit: usize,
    out: Output,
) -> Result<(), Failure> {
    validate_stream_name(stream).map_err(|error| Failure::Usage(error.to_string()))?;
    let mut left = limit_or_all(limit);
    let mut from = from.max(1);
    while left > 0 {
        let want = left.min(PAGE);
        let page = store.log.read_stream(stream, from, want).await?;
        for event in &page {
            out.event(event, true)?;
        }
        left -= page.len();
        match page.last() {
            Some(last) if page.len() == want => from = last.version + 1,
            _ => break,
        }
    }
    Ok(())
}

pub(crate) async fn event(store: &Store, id: Uuid, out: Output) -> Result<(), Failure> {
    match store.log.find_event(id).await? {
        Some(event) => out.event(&event, true),
        None => Err(Failure::No(format!("no event has the id {id}"))),
    }
}

/// The last `lines` events, or those from position `from`; with `follow`, then every new one
/// until interrupted.
pub(crate) async fn tail(
    store: &Store,
    from: Option<u64>,
    lines: u64,
    follow: bool,
    out: Output,
) -> Result<(), Failure> {
    let after = match from {
        Some(from) => from.saturating_sub(1),
        None => store.admin.last_position().await?.saturating_sub(lines),
    };
    if !follow {
        let mut after = after;
        loop {
            let page = store.log.read_all(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for event in &page {
                out.event(event, false)?;
            }
        }
        return Ok(());
    }
    // Another process appends: the subscription's poll finds its events within this interval.
    let mut log =
        Subscription::new(store.log.clone(), after).poll_interval(Duration::from_millis(200));
    // One listener for the whole run: a signal reaches only listeners that exist when it comes.
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            event = log.next() => match event {
                Ok(event) => out.event(&event, false)?,
                // A restarting database or a dropped connection: say so, and go on from the
                // same position once it answers again.
                Err(error) => {
                    eprintln!("warning: {} (trying again in 1 s)", crate::with_causes(&error));
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = &mut interrupted => return Ok(()),
                    }
                }
            },
            _ = &mut interrupted => return Ok(()),
        }
    }
}

pub(crate) async fn stats(store: &Store, out: Output) -> Result<(), Failure> {
    let stats = store.admin.stats().await?;
    let time = |t: Option<es_core::Timestamp>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
    out.emit(
        || {
            let mut text = format!(
                "store {}\nevents {}  head @{}  streams {}  payloads {} bytes\nfirst {}  last {}\nsnapshots {}  checkpoints {}",
                store.name,
                stats.events,
                stats.head,
                stats.streams,
                stats.payload_bytes,
                time(stats.first_timestamp),
                time(stats.last_timestamp),
                stats.snapshots,
                stats.checkpoints,
            );
            for (name, count) in &stats.names {
                let _ = write!(text, "\n  {}: {count}", output::printable(name));
            }
            text
        },
        || output::stats_json(&store.name, &stats),
    )
}

pub(crate) async fn projections(store: &Store, out: Output) -> Result<(), Failure> {
    let head = store.admin.last_position().await?;
    let checkpoints = store.admin.checkpoints().await?;
    if checkpoints.is_empty() && !out.json() {
        return out.emit(
            || format!("no projection has saved a checkpoint (head @{head})"),
            || json!({}),
        );
    }
    for (name, position) in checkpoints {
        let lag = head.saturating_sub(position);
        out.emit(
            || format!("{name}  @{position}  {lag} behind head @{head}"),
            || output::projection_json(&name, position, head),
        )?;
    }
    Ok(())
}
