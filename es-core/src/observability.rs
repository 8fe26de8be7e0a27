//! What es-core tells about itself: `tracing` spans and metrics through the [`metrics`] facade.
//!
//! Nothing is installed by es-core: a `tracing` subscriber shows the spans, and a `metrics`
//! recorder collects the metrics; an exporter such as `metrics-exporter-prometheus`, installed
//! once at startup (`PrometheusBuilder::new().install()`), serves them. With none installed, a
//! span costs a check of a static (a command's span is not even made unless a subscriber takes
//! `DEBUG`) and a metric a call to the no-op recorder: every metric key is built at compile
//! time (its label values are aggregate and projection names, which are `'static`), so nothing
//! is allocated or hashed per command. The durations read the monotonic clock four times per
//! command (its start and end, its append's start and end).
//!
//! # Spans
//!
//! All at `DEBUG` level: one per command would cost a subscriber that records `INFO` spans
//! a span and its fields per command.
//!
//! | span | where | fields |
//! |---|---|---|
//! | `command` | each command, retries included (a `DEBUG` event per conflict) | `aggregate`, `command` (the type's name), `stream`, `correlation_id`, `causation_id` (the command's id: what its events record); at the end `outcome` (as the metric's label), `retries`, and when it committed `version`, `position` |
//! | `transaction` | each [`App::transaction`](crate::App::transaction), retries included | `correlation_id`, `causation_id`; at the end `outcome`, `retries`, and when it committed `position` |
//! | `projection_batch` | each batch a projection applies from the global log | `projection`, `from` (the checkpoint before), `to` (the last position applied), `count` |
//!
//! A command sent by a process manager or a reactor has its own `command` span too.
//!
//! # Metrics
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `es_commands_total` | counter | `aggregate`, `outcome` | commands finished, by outcome: `committed` (including a decision that writes nothing), `duplicate` (an idempotency key already used: the original outcome was returned), `rejected` (the aggregate refused), `conflict` (gave up after its retries), `error` (the store failed, the aggregate is not registered, or the caller dropped the command before its outcome) |
//! | `es_command_conflicts_total` | counter | `aggregate` | appends that lost a race with another writer and were retried |
//! | `es_command_duration_seconds` | histogram | `aggregate` | a command's time in the app, from the call to its outcome, retries included |
//! | `es_append_duration_seconds` | histogram | none | the store's append: a command's, or a transaction's multi-stream one |
//! | `es_projection_events_total` | counter | `projection` | events applied to a projection (read from the log, or a command's own events fed to an inline projection) |
//! | `es_projection_lag_events` | gauge | `projection` | after each batch read from the log: the store's head position (the newest it has told this process of) minus the projection's position |
//! | `es_projection_batch_duration_seconds` | histogram | `projection` | the time to apply one batch read from the log and move its checkpoint |
//!
//! `aggregate` is [`Aggregate::NAME`], `projection`
//! [`Projection::NAME`](crate::Projection::NAME) (or the read model's `NAME`). The names are
//! the constants of this module.
//!
//! # Examples
//!
//! A recorder sees every metric. Here `metrics-util`'s `DebuggingRecorder`, for this thread
//! only:
//!
//! ```
//! use es_core::observability::COMMANDS_TOTAL;
//! use es_core::prelude::*;
//! use metrics_util::debugging::{DebugValue, DebuggingRecorder};
//!
//! #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
//! struct MoneyDeposited { amount: u64 }
//!
//! #[derive(Command, Debug, Clone)]
//! struct Deposit { #[id] account: String, amount: u64 }
//!
//! #[derive(Default, Debug, Clone)]
//! struct BankAccount { balance: u64 }
//!
//! #[aggregate(name = "bank-account")]
//! impl BankAccount {
//!     #[handle]
//!     fn deposit(&self, cmd: Deposit) -> MoneyDeposited { MoneyDeposited { amount: cmd.amount } }
//!     #[apply]
//!     fn deposited(&mut self, e: &MoneyDeposited) { self.balance += e.amount; }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! let _recording = metrics::set_default_local_recorder(&recorder);
//!
//! let app = App::builder(InMemoryEventStore::new()).aggregate::<BankAccount>().build()?;
//! app.send(Deposit { account: "alice".into(), amount: 50 }).await?;
//!
//! let committed = snapshotter.snapshot().into_vec().into_iter().find_map(|(key, _, _, value)| {
//!     let labels: Vec<_> = key.key().labels().map(|l| (l.key(), l.value())).collect();
//!     (key.key().name() == COMMANDS_TOTAL
//!         && labels == [("aggregate", "bank-account"), ("outcome", "committed")])
//!         .then_some(value)
//! });
//! assert_eq!(committed, Some(DebugValue::Counter(1)));
//! # Ok(())
//! # }
//! ```

use std::time::Instant;

use metrics::{Counter, Gauge, Histogram, IntoF64, Key, Label, Level, Metadata};

use crate::aggregate::Aggregate;
use crate::projection::runner::Checkpointed;

/// Counter: commands finished, by `aggregate` and `outcome`.
pub const COMMANDS_TOTAL: &str = "es_commands_total";
/// Counter: appends of a command retried after losing a race, by `aggregate`.
pub const COMMAND_CONFLICTS_TOTAL: &str = "es_command_conflicts_total";
/// Histogram: a command's time in the app, in seconds, by `aggregate`.
pub const COMMAND_DURATION_SECONDS: &str = "es_command_duration_seconds";
/// Histogram: the store's append, in seconds.
pub const APPEND_DURATION_SECONDS: &str = "es_append_duration_seconds";
/// Counter: events applied to a projection, by `projection`.
pub const PROJECTION_EVENTS_TOTAL: &str = "es_projection_events_total";
/// Gauge: the store's head position minus the projection's, by `projection`.
pub const PROJECTION_LAG_EVENTS: &str = "es_projection_lag_events";
/// Histogram: the time to apply one batch from the log, in seconds, by `projection`.
pub const PROJECTION_BATCH_DURATION_SECONDS: &str = "es_projection_batch_duration_seconds";

/// A metric key built at compile time (`'static` label values only): using it allocates and
/// hashes nothing.
macro_rules! key {
    ($name:expr $(, $label:literal => $value:expr)*) => {
        const {
            &Key::from_static_parts($name, const { &[$(Label::from_static_parts($label, $value)),*] })
        }
    };
}

/// What a command came to: the `outcome` label and span field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Committed,
    Duplicate,
    Rejected,
    Conflict,
    Error,
}

impl Outcome {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Committed => "committed",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
            Self::Conflict => "conflict",
            Self::Error => "error",
        }
    }
}

/// Counts a finished command of `A` and records its time since `started`.
pub(crate) fn command_finished<A: Aggregate>(outcome: Outcome, started: Instant) {
    // A key per outcome, each built at compile time.
    let total = match outcome {
        Outcome::Committed => {
            key!(COMMANDS_TOTAL, "aggregate" => A::NAME, "outcome" => Outcome::Committed.as_str())
        }
        Outcome::Duplicate => {
            key!(COMMANDS_TOTAL, "aggregate" => A::NAME, "outcome" => Outcome::Duplicate.as_str())
        }
        Outcome::Rejected => {
            key!(COMMANDS_TOTAL, "aggregate" => A::NAME, "outcome" => Outcome::Rejected.as_str())
        }
        Outcome::Conflict => {
            key!(COMMANDS_TOTAL, "aggregate" => A::NAME, "outcome" => Outcome::Conflict.as_str())
        }
        Outcome::Error => {
            key!(COMMANDS_TOTAL, "aggregate" => A::NAME, "outcome" => Outcome::Error.as_str())
        }
    };
    counter(total).increment(1);
    histogram(key!(COMMAND_DURATION_SECONDS, "aggregate" => A::NAME)).record(Elapsed(started));
}

/// Counts an append of a command of `A` that lost a race and is retried.
pub(crate) fn command_conflict<A: Aggregate>() {
    counter(key!(COMMAND_CONFLICTS_TOTAL, "aggregate" => A::NAME)).increment(1);
}

/// Records the time of an append since `started`.
pub(crate) fn append_finished(started: Instant) {
    histogram(key!(APPEND_DURATION_SECONDS)).record(Elapsed(started));
}

/// Records a batch of `count` events read from the log and applied to projection `K` up to
/// `position`, when the store's head is at `head`, since `started`.
#[allow(clippy::cast_precision_loss)] // a gauge is an `f64`; exact up to 2^53 events behind
pub(crate) fn projection_batch<K: Checkpointed>(
    count: usize,
    position: u64,
    head: u64,
    started: Instant,
) {
    projection_events::<K>(count);
    gauge(key!(PROJECTION_LAG_EVENTS, "projection" => K::NAME))
        .set(head.saturating_sub(position) as f64);
    histogram(key!(PROJECTION_BATCH_DURATION_SECONDS, "projection" => K::NAME))
        .record(Elapsed(started));
}

/// Counts `count` events applied to projection `K`.
pub(crate) fn projection_events<K: Checkpointed>(count: usize) {
    counter(key!(PROJECTION_EVENTS_TOTAL, "projection" => K::NAME)).increment(count as u64);
}

/// The time since an instant, in seconds, read from the clock only when a histogram records
/// it: with no recorder installed a command pays no clock read at its end.
struct Elapsed(Instant);

impl IntoF64 for Elapsed {
    fn into_f64(self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// What every metric is registered with: this module as target, at `INFO` (the level the
/// `metrics` macros give by default).
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

fn counter(key: &Key) -> Counter {
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA))
}

fn gauge(key: &Key) -> Gauge {
    metrics::with_recorder(|recorder| recorder.register_gauge(key, &METADATA))
}

fn histogram(key: &Key) -> Histogram {
    metrics::with_recorder(|recorder| recorder.register_histogram(key, &METADATA))
}
