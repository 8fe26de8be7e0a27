//! `copy`: the whole log of one store into another, as stored (ids, versions, positions,
//! metadata), then its snapshots and checkpoints. Each batch is one atomic import, so an
//! interrupted copy leaves the target holding a prefix of the source, and running the copy
//! again checks that prefix and goes on after it.

use es_core::EventStore;
use serde_json::json;

use crate::Failure;
use crate::open::{self, Store};
use crate::output::Output;
use crate::progress;

/// Events compared per read while checking the target's prefix.
const PAGE: usize = 2000;

pub(crate) async fn run(
    from: &str,
    to: &str,
    skip_checkpoints: &[String],
    batch: u64,
    out: Output,
) -> Result<(), Failure> {
    if open::same_location(from, to) {
        return Err(Failure::Usage("--from and --to name the same store".into()));
    }
    let source = open::existing(from).await?;
    let target = open::target(to).await?;
    let source_head = source.admin.last_position().await?;
    let target_head = target.admin.last_position().await?;
    if target_head > source_head {
        return Err(Failure::No(format!(
            "{} holds {target_head} events, {} only {source_head}: the target is not a copy of \
             this source; refusing to write into it",
            target.name, source.name
        )));
    }
    check_prefix(&source, &target, target_head, out).await?;
    // Read before the events: a projection of a source still running may move on meanwhile,
    // and a checkpoint past the copied log would skip the events appended after it.
    let mut checkpoints = source.admin.checkpoints().await?;
    checkpoints.retain(|(name, _)| !skip_checkpoints.contains(name));
    let bar = progress::bar(source_head, "copying", out);
    bar.set_position(target_head);
    let batch = usize::try_from(batch).unwrap_or(usize::MAX);
    let mut head = target_head;
    loop {
        let events = source.log.read_all(head, batch).await?;
        if events.is_empty() {
            break;
        }
        let copied = events.len();
        head = target
            .admin
            .import(events)
            .await
            .map_err(|error| match error {
                // Another writer appended to the target meanwhile: not a copy any more.
                es_core::Error::Import { .. } => Failure::No(format!(
                    "{}: {error}; was something else writing to it?",
                    target.name
                )),
                error => Failure::Store(error),
            })?;
        bar.set_length(bar.length().unwrap_or(0).max(head));
        bar.set_position(head);
        if out.json() {
            out.emit(String::new, || json!({"copied": copied, "position": head}))?;
        }
    }
    bar.finish_and_clear();
    let snapshots = copy_snapshots(&source, &target).await?;
    for (name, position) in &checkpoints {
        target
            .log
            .save_checkpoint(name, (*position).min(head))
            .await?;
    }
    let events = head - target_head;
    out.emit(
        || {
            let resumed = if target_head > 0 {
                format!(" (resumed after position {target_head}, which the target held)")
            } else {
                String::new()
            };
            format!(
                "copied {events} events{resumed}, {snapshots} snapshots and {} checkpoints from \
                 {} to {}; both are at position {head}",
                checkpoints.len(),
                source.name,
                target.name
            )
        },
        || {
            json!({
                "events": events,
                "resumed_after": target_head,
                "head": head,
                "snapshots": snapshots,
                "checkpoints": checkpoints.len(),
            })
        },
    )
}

/// Refuses a target whose first `length` events are not the source's, field for field.
async fn check_prefix(
    source: &Store,
    target: &Store,
    length: u64,
    out: Output,
) -> Result<(), Failure> {
    if length == 0 {
        return Ok(());
    }
    let bar = progress::bar(length, "checking the target's events", out);
    let mut after = 0;
    while after < length {
        let want = usize::try_from(length - after)
            .unwrap_or(usize::MAX)
            .min(PAGE);
        let ours = target.log.read_all(after, want).await?;
        let theirs = source.log.read_all(after, want).await?;
        if let Some((ours, theirs)) = ours
            .iter()
            .zip(&theirs)
            .find(|(ours, theirs)| ours != theirs)
        {
            return Err(Failure::No(format!(
                "the event at position {} of {} (`{}` v{} of `{}`) is not the source's (`{}` v{} \
                 of `{}`): the target is not a copy of this source; refusing to write into it",
                ours.position,
                target.name,
                ours.name,
                ours.version,
                ours.stream,
                theirs.name,
                theirs.version,
                theirs.stream
            )));
        }
        let Some(last) = ours.last().filter(|_| ours.len() == theirs.len()) else {
            return Err(Failure::No(format!(
                "{} and {} differ after position {after}: refusing to write into the target",
                target.name, source.name
            )));
        };
        after = last.position;
        bar.set_position(after);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Copies every snapshot (saving one again replaces it); returns how many.
async fn copy_snapshots(source: &Store, target: &Store) -> Result<u64, Failure> {
    let (mut after, mut copied) = (None, 0);
    loop {
        let page = source.snapshot_page(&mut after).await?;
        if page.is_empty() {
            break;
        }
        for stored in page {
            // A snapshot taken after the copy's last event would be ahead of its stream.
            if stored.snapshot.version <= target.log.stream_version(&stored.stream).await? {
                target
                    .log
                    .save_snapshot(&stored.stream, stored.snapshot)
                    .await?;
                copied += 1;
            }
        }
    }
    Ok(copied)
}
