//! `verify`: the store contract's invariants checked over the whole log, the way a reader
//! sees it: positions 1, 2, 3.. without gaps, each stream's versions 1, 2, 3.., every id once,
//! every payload well-formed JSON; then snapshots and checkpoints within the log.

use std::collections::HashMap;
use std::sync::Arc;

use es_core::EventStore;
use es_core::RecordedEvent;
use serde_json::json;
use uuid::Uuid;

use crate::Failure;
use crate::open::Store;
use crate::output::Output;
use crate::progress;

/// Events per read of the log.
const PAGE: usize = 2000;

/// Violations printed one by one; beyond this many only counted.
const SHOWN: usize = 100;

/// One broken invariant.
struct Violation {
    kind: &'static str,
    position: Option<u64>,
    message: String,
}

/// What the check has seen so far.
#[derive(Default)]
struct Checker {
    last_position: u64,
    versions: HashMap<Arc<str>, u64>,
    /// Where each id was seen: 16 bytes and a position per event.
    ids: HashMap<Uuid, u64>,
    events: u64,
    violations: Vec<Violation>,
    found: usize,
}

impl Checker {
    fn violation(&mut self, kind: &'static str, position: Option<u64>, message: String) {
        self.found += 1;
        if self.violations.len() < SHOWN {
            self.violations.push(Violation {
                kind,
                position,
                message,
            });
        }
    }

    fn check(&mut self, event: &RecordedEvent, payloads: bool) {
        self.events += 1;
        let position = event.position;
        let at = Some(position);
        if position <= self.last_position {
            self.violation(
                "position",
                at,
                format!("position {position} comes after {}", self.last_position),
            );
        } else if position != self.last_position + 1 {
            let missing = self.last_position + 1;
            self.violation(
                "gap",
                at,
                format!("positions {missing} to {} are missing", position - 1),
            );
        }
        self.last_position = self.last_position.max(position);
        let stream = &event.stream;
        let previous = self.versions.get(stream).copied().unwrap_or(0);
        if event.version != previous + 1 {
            self.violation(
                "version",
                at,
                format!(
                    "stream `{stream}` goes from version {previous} to {}",
                    event.version
                ),
            );
        }
        match self.versions.get_mut(stream) {
            Some(version) => *version = (*version).max(event.version),
            None => {
                self.versions.insert(Arc::clone(stream), event.version);
            }
        }
        if let Some(first) = self.ids.insert(event.id, position) {
            self.violation(
                "duplicate id",
                at,
                format!("id {} is also the event's at position {first}", event.id),
            );
        }
        if payloads {
            if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&event.payload) {
                self.violation(
                    "payload",
                    at,
                    format!(
                        "the payload of `{}` (stream `{stream}` version {}) is not JSON: {error}",
                        event.name, event.version
                    ),
                );
            }
        }
    }
}

pub(crate) async fn run(store: &Store, payloads: bool, out: Output) -> Result<(), Failure> {
    let head = store.admin.last_position().await?;
    let bar = progress::bar(head, "verifying", out);
    let mut checker = Checker::default();
    loop {
        let page = store.log.read_all(checker.last_position, PAGE).await?;
        let Some(last) = page.last() else { break };
        bar.set_length(bar.length().unwrap_or(0).max(last.position));
        for event in &page {
            checker.check(event, payloads);
        }
        bar.set_position(checker.last_position);
    }
    bar.finish_and_clear();
    check_derived(store, &mut checker).await?;
    report(store, &checker, out)
}

/// Snapshots of versions a stream has, checkpoints within the log. A stream or the log that
/// grew while the check ran is read again before a violation is reported.
async fn check_derived(store: &Store, checker: &mut Checker) -> Result<(), Failure> {
    let mut after = None;
    loop {
        let page = store.snapshot_page(&mut after).await?;
        if page.is_empty() {
            break;
        }
        for snapshot in page {
            let seen = checker
                .versions
                .get(snapshot.stream.as_str())
                .copied()
                .unwrap_or(0);
            if snapshot.snapshot.version > seen
                && snapshot.snapshot.version > store.log.stream_version(&snapshot.stream).await?
            {
                checker.violation(
                    "snapshot",
                    None,
                    format!(
                        "stream `{}` has a snapshot at version {} but only {seen} events",
                        snapshot.stream, snapshot.snapshot.version
                    ),
                );
            }
        }
    }
    let checkpoints = store.admin.checkpoints().await?;
    let mut head = checker.last_position;
    for (name, position) in checkpoints {
        if position > head {
            head = store.admin.last_position().await?;
        }
        if position > head {
            checker.violation(
                "checkpoint",
                None,
                format!(
                    "projection `{name}` is at position {position}, past the log's head {head}"
                ),
            );
        }
    }
    Ok(())
}

fn report(store: &Store, checker: &Checker, out: Output) -> Result<(), Failure> {
    for violation in &checker.violations {
        out.emit(
            || format!("VIOLATION {}: {}", violation.kind, violation.message),
            || {
                json!({
                    "violation": violation.kind,
                    "position": violation.position,
                    "message": violation.message,
                })
            },
        )?;
    }
    let (events, streams, found) = (checker.events, checker.versions.len(), checker.found);
    out.emit(
        || {
            let more = found.saturating_sub(checker.violations.len());
            let more = if more > 0 {
                format!(" ({more} more not shown)")
            } else {
                String::new()
            };
            format!(
                "{}: {events} events in {streams} streams, positions 1 to {}: {}{more}",
                store.name,
                checker.last_position,
                if found == 0 {
                    "no violations".to_owned()
                } else {
                    format!("{found} violations")
                }
            )
        },
        || {
            json!({
                "store": store.name,
                "events": events,
                "streams": streams,
                "head": checker.last_position,
                "violations": found,
            })
        },
    )?;
    if found == 0 {
        Ok(())
    } else {
        Err(Failure::No(format!(
            "{found} violations of the store contract"
        )))
    }
}
