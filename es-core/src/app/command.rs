//! The command path: take the stream's entry, decide on its latest state, append with the exact
//! expected version, apply to the cached state, feed the inline projections; on a conflict,
//! catch up and decide again.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use tracing::field::Empty;
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
use tracing::{Level, Span};

use crate::aggregate::Aggregate;
use crate::codec::Codec;
use crate::error::Error;
use crate::event::EventSet;
use crate::observability::{self, Outcome};
use crate::record::{NewEvent, Timestamp};
use crate::store::{AppendResult, EventStore, ExpectedVersion};

use super::cache::lock;
use super::idempotency::stored_as_sent;
use super::metadata::Resolved;
use super::{App, CommandError, Committed};

/// What one append of a decision came to.
enum Appended {
    /// The events are stored at `result`; `sent` are their records when an inline projection
    /// takes them.
    Stored {
        result: AppendResult,
        sent: Option<Vec<NewEvent>>,
    },
    /// The store answered a keyed append with a first append's result, but holds other events
    /// there: another sender of the same key won. Decide again on the stream as it is.
    Overtaken,
}

impl<S: EventStore, C: Codec> App<S, C> {
    /// Runs the command path on `stream` for the command `command` makes (once per try),
    /// holding the stream's entry throughout. Callers run it in its [`command_span`], given
    /// here as `span` for the fields known at the end; it counts its outcome.
    pub(super) async fn send_to<A: Aggregate>(
        &self,
        stream: String,
        command: impl Fn() -> A::Command,
        mut metadata: Resolved,
        span: Span,
    ) -> Result<Committed<A>, CommandError<A::Error>> {
        let mut finish = Finish::<A>::new(span);
        let slot = self.slot::<A>()?;
        let entry = slot.cache.entry(&stream);
        let mut hydrated = lock(&entry).await;
        let mut retries = 0;
        loop {
            if let Some(key) = &metadata.idempotency_key {
                if let Some(original) = self.original_outcome(&stream, key, retries).await? {
                    finish.done(Outcome::Duplicate, original.version, original.position);
                    return Ok(original);
                }
            }
            let just_read = !hydrated.fresh;
            if just_read {
                self.catch_up(&stream, &mut hydrated).await?;
            }
            let decided = A::handle(&hydrated.state, command(), &slot.services).await;
            let writes_nothing = decided.as_ref().map_or(true, Vec::is_empty);
            if !self
                .decision_stands(&stream, writes_nothing, just_read, hydrated.version)
                .await?
            {
                hydrated.fresh = false;
                continue;
            }
            if decided.is_err() {
                finish.outcome = Outcome::Rejected;
            }
            let events = decided.map_err(CommandError::Rejected)?;
            if events.is_empty() {
                finish.done(Outcome::Committed, hydrated.version, 0);
                return Ok(Committed {
                    stream,
                    events,
                    version: hydrated.version,
                    position: 0,
                    retries,
                    duplicate: false,
                });
            }
            // Applied before they are appended: an `apply` that panics leaves nothing stored
            // (and the cached state discarded); a failed append discards the state too.
            let before = hydrated.version;
            hydrated.apply_unsettled(&stream, &events)?;
            let keyed = metadata.idempotency_key.is_some();
            match self
                .append_decision(&stream, before, &events, &mut metadata)
                .await
            {
                Ok(Appended::Stored { result, sent }) => {
                    hydrated.settle();
                    self.snapshot_if_due(&stream, &mut hydrated);
                    drop(hydrated);
                    // Counted before the inline projection: the events are stored, even if
                    // the caller stops waiting while it runs.
                    finish.done(Outcome::Committed, result.version, result.position);
                    self.project_inline(&stream, sent, &result).await;
                    return Ok(Committed {
                        stream,
                        events,
                        version: result.version,
                        position: result.position,
                        retries,
                        duplicate: false,
                    });
                }
                Ok(Appended::Overtaken) => hydrated.discard(),
                Err(error) if is_retryable(&error, keyed) => {
                    hydrated.discard();
                    if retries == self.inner.max_retries {
                        finish.outcome = Outcome::Conflict;
                        return Err(CommandError::TooManyConflicts { stream, retries });
                    }
                    retries += 1;
                    observability::command_conflict::<A>();
                    finish.span.record("retries", retries);
                    let pause = retry_pause(retries);
                    tracing::debug!(retries, ?pause, "conflict; catching up and retrying");
                    tokio::time::sleep(pause).await;
                }
                Err(error) => {
                    // The append may or may not have happened: restore from the store next time.
                    hydrated.discard();
                    return Err(error.into());
                }
            }
        }
    }

    /// Whether a decision may be returned as it is. One that writes events always may: its
    /// append checks the version. One that writes nothing (a refusal, or no events) meets no
    /// version check, so it stands only if taken on the stream's latest state: the cache may be
    /// behind another node's appends, and a stale cache must never refuse what the current
    /// state would accept.
    async fn decision_stands(
        &self,
        stream: &str,
        writes_nothing: bool,
        just_read: bool,
        version: u64,
    ) -> Result<bool, Error> {
        if !writes_nothing || just_read {
            return Ok(true);
        }
        Ok(self.inner.store.stream_version(stream).await? == version)
    }

    /// Encodes the decided events and appends them after `version`.
    async fn append_decision<E: EventSet>(
        &self,
        stream: &str,
        version: u64,
        events: &[E],
        metadata: &mut Resolved,
    ) -> Result<Appended, Error> {
        // One clock read for the command's events, their ids and timestamps, and its own id.
        let now = Timestamp::now();
        metadata.command_id_at(now);
        let batch = self.encode(stream, 0, events, metadata, now)?;
        let keyed = metadata.idempotency_key.is_some();
        // Inline projections take the command's records without reading them back, and a keyed
        // batch is compared with what the store holds: only then is the batch kept.
        let sent =
            (keyed || self.inner.projections.iter().any(|p| p.is_inline())).then(|| batch.clone());
        let appending = Instant::now();
        let result = self
            .inner
            .store
            .append(stream, ExpectedVersion::Exact(version), batch)
            .await;
        observability::append_finished(appending);
        let result = result?;
        // A keyed batch has ids derived from the key, and the store answers a second append of
        // those ids at the same place with the first one's result: what it then holds may be
        // another sender's events, so compare.
        if keyed && !stored_as_sent(&self.inner.store, stream, version, sent.as_deref()).await? {
            return Ok(Appended::Overtaken);
        }
        Ok(Appended::Stored { result, sent })
    }

    /// The events as records to append, the first of them the `first`-th event the command
    /// writes to `stream`: ids and metadata from the command's, created at `now`.
    pub(super) fn encode<E: EventSet>(
        &self,
        stream: &str,
        first: usize,
        events: &[E],
        metadata: &Resolved,
        now: Timestamp,
    ) -> Result<Vec<NewEvent>, Error> {
        events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                Ok(NewEvent {
                    id: metadata.event_id(stream, first + index, now),
                    name: event.name().into(),
                    schema_version: event.version(),
                    payload: event.encode(&self.inner.codec)?.into(),
                    metadata: metadata.event_metadata(now),
                })
            })
            .collect()
    }
}

/// The span of a command of aggregate `A` to `stream`, whose type is named `command_type`:
/// its fields known before it runs, and those [`send_to`](App::send_to) records at the end.
pub(super) fn command_span<A: Aggregate>(
    stream: &str,
    command_type: &'static str,
    metadata: &mut Resolved,
) -> Span {
    // No span at all unless a subscriber takes `DEBUG`: the macro's disabled span would still
    // hand its fields to `log` on every command when a dependency turns on `tracing`'s `log`
    // feature.
    if Level::DEBUG > STATIC_MAX_LEVEL || Level::DEBUG > LevelFilter::current() {
        return Span::none();
    }
    tracing::debug_span!(
        "command",
        aggregate = A::NAME,
        command = %ShortTypeName(command_type),
        stream,
        correlation_id = %metadata.correlation_id(),
        causation_id = %metadata.command_id(),
        outcome = Empty,
        retries = Empty,
        version = Empty,
        position = Empty,
    )
}

/// Counts a command when its path ends, however it ends: `outcome` is set before each
/// `return` and stays `Error` otherwise (a `?`, or the caller dropping the command). A guard
/// rather than a wrapper future around the command path: wrapping would copy that large future
/// on every command.
struct Finish<A: Aggregate> {
    started: Instant,
    outcome: Outcome,
    /// The stream's version and the last event's position, when it committed.
    committed: Option<(u64, u64)>,
    span: Span,
    aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate> Finish<A> {
    fn new(span: Span) -> Self {
        Self {
            started: Instant::now(),
            outcome: Outcome::Error,
            committed: None,
            span,
            aggregate: PhantomData,
        }
    }

    /// Ends with `outcome`, the stream at `version` and its last event at `position`.
    fn done(&mut self, outcome: Outcome, version: u64, position: u64) {
        self.outcome = outcome;
        self.committed = Some((version, position));
    }
}

impl<A: Aggregate> Drop for Finish<A> {
    fn drop(&mut self) {
        observability::command_finished::<A>(self.outcome, self.started);
        // Not on a disabled span: `record` would still look each field up by name, and log it
        // when a dependency turns on `tracing`'s `log` feature.
        if !self.span.is_disabled() {
            self.span.record("outcome", self.outcome.as_str());
            if let Some((version, position)) = self.committed {
                self.span.record("version", version);
                self.span.record("position", position);
            }
        }
    }
}

/// A type's name without the module path of the outer type, formatted only when a subscriber
/// records it: `Deposit` for `bank::Deposit`, `Wrap<bank::Deposit>` for
/// `app::Wrap<bank::Deposit>`.
struct ShortTypeName(&'static str);

impl fmt::Display for ShortTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0;
        let path = name.split('<').next().unwrap_or(name);
        f.write_str(path.rfind("::").map_or(name, |at| &name[at + 2..]))
    }
}

/// The longest pause before a retry.
const MAX_RETRY_PAUSE: Duration = Duration::from_millis(32);

/// How long to wait before the `retry`-th try after a conflict: a random time up to 1 ms,
/// doubled per retry up to [`MAX_RETRY_PAUSE`] ("full jitter"). Writers from other processes
/// that collided then spread out instead of colliding again in step.
pub(super) fn retry_pause(retry: u32) -> Duration {
    let ceiling = Duration::from_millis(1)
        .saturating_mul(1 << retry.min(16))
        .min(MAX_RETRY_PAUSE);
    ceiling.mul_f64(fastrand::f64())
}

/// Whether a failed append is decided again after catching up: a conflict, or, for a keyed
/// command, a duplicate id (another sender of the same key won the race; the next turn finds
/// its outcome). Anything else may or may not have been written and goes back to the caller.
fn is_retryable(error: &Error, keyed: bool) -> bool {
    error.is_conflict() || (keyed && matches!(error, Error::DuplicateEvent { .. }))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn retry_pauses_are_random_below_a_doubling_ceiling() {
        for retry in 1..40 {
            let ceiling = Duration::from_millis(1 << retry.min(16)).min(MAX_RETRY_PAUSE);
            let pauses: Vec<_> = (0..50).map(|_| retry_pause(retry)).collect();
            assert!(
                pauses.iter().all(|pause| *pause <= ceiling),
                "retry {retry}"
            );
            assert!(
                pauses.windows(2).any(|pair| pair[0] != pair[1]),
                "retry {retry}: the pauses are jittered"
            );
        }
    }

    #[test]
    fn a_short_type_name_drops_the_module_path_of_the_outer_type() {
        let short = |name| ShortTypeName(name).to_string();
        assert_eq!(short("bank::Deposit"), "Deposit");
        assert_eq!(short("Deposit"), "Deposit");
        assert_eq!(short("app::Wrap<bank::Deposit>"), "Wrap<bank::Deposit>");
    }

    #[test]
    fn conflicts_are_retried_and_so_are_duplicates_of_a_keyed_command() {
        let conflict = Error::Conflict {
            stream: "s".into(),
            expected: ExpectedVersion::Exact(1),
            actual: 2,
        };
        let duplicate = Error::DuplicateEvent {
            stream: "s".into(),
            version: 1,
            event_id: Uuid::nil(),
        };
        assert!(is_retryable(&conflict, false));
        assert!(is_retryable(&conflict, true));
        assert!(is_retryable(&duplicate, true));
        assert!(
            !is_retryable(&duplicate, false),
            "an unkeyed duplicate id is the caller's bug, not a race"
        );
        assert!(
            !is_retryable(&Error::backend("connection reset"), true),
            "a backend error may have written: never retried blindly"
        );
    }
}
