//! What es-core tells about itself: the metrics move as commands commit, are refused, conflict
//! and are repeated, and as projections apply batches; the spans carry the ids the stored
//! events record. Each test runs on one thread (`#[tokio::test]`) with a recorder or a
//! subscriber set for that thread only, so tests running at once do not see each other's.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use es_core::observability::{
    APPEND_DURATION_SECONDS, COMMAND_CONFLICTS_TOTAL, COMMAND_DURATION_SECONDS, COMMANDS_TOTAL,
    PROJECTION_BATCH_DURATION_SECONDS, PROJECTION_EVENTS_TOTAL, PROJECTION_LAG_EVENTS,
};
use es_core::prelude::*;
use es_core::{EventStore, NewEvent};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Subscriber;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Added {
    n: u64,
}

#[derive(Command, Debug, Clone)]
struct Add {
    #[id]
    id: String,
    n: u64,
}

fn add(id: &str, n: u64) -> Add {
    Add { id: id.into(), n }
}

#[derive(Debug, thiserror::Error)]
#[error("nothing to add")]
struct NothingToAdd;

#[derive(Debug, Clone, Default)]
struct Counter {
    total: u64,
}

#[aggregate(error = NothingToAdd)]
impl Counter {
    #[handle]
    fn add(&self, cmd: Add) -> Result<Added, NothingToAdd> {
        if cmd.n == 0 {
            return Err(NothingToAdd);
        }
        Ok(Added { n: cmd.n })
    }

    #[apply]
    fn added(&mut self, event: &Added) {
        self.total += event.n;
    }
}

#[derive(Debug, Default)]
struct Totals {
    total: u64,
}

#[derive(Debug)]
struct GetTotal;

#[projection(name = "totals")]
impl Totals {
    #[on]
    fn added(&mut self, event: &Added) {
        self.total += event.n;
    }

    #[query]
    fn total(&self, _: GetTotal) -> u64 {
        self.total
    }
}

const AGGREGATE: &str = <Counter as Aggregate>::NAME;

fn app(store: &InMemoryEventStore, max_retries: u32) -> App<InMemoryEventStore> {
    App::builder(store.clone())
        .max_retries(max_retries)
        .aggregate::<Counter>()
        .projection(Totals::default())
        .build()
        .expect("build the app")
}

/// The metrics recorded since the last reading.
struct Reading(Vec<Metric>);

struct Metric {
    kind: MetricKind,
    name: String,
    /// Sorted.
    labels: Vec<(String, String)>,
    value: DebugValue,
}

impl Reading {
    fn take(snapshotter: &Snapshotter) -> Self {
        Self(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| {
                    let (kind, key) = key.into_parts();
                    let mut labels: Vec<_> = key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    labels.sort();
                    Metric {
                        kind,
                        name: key.name().to_owned(),
                        labels,
                        value,
                    }
                })
                .collect(),
        )
    }

    fn value(&self, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        let mut labels: Vec<_> = labels.to_vec();
        labels.sort_unstable();
        self.0
            .iter()
            .find(|metric| {
                metric.kind == kind
                    && metric.name == name
                    && metric
                        .labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .eq(labels.iter().copied())
            })
            .map(|metric| &metric.value)
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.value(MetricKind::Counter, name, labels) {
            Some(DebugValue::Counter(n)) => *n,
            _ => 0,
        }
    }

    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.value(MetricKind::Gauge, name, labels) {
            Some(DebugValue::Gauge(value)) => Some(value.into_inner()),
            _ => None,
        }
    }

    /// The values a histogram took.
    fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.value(MetricKind::Histogram, name, labels) {
            Some(DebugValue::Histogram(values)) => values.iter().map(|v| v.into_inner()).collect(),
            _ => Vec::new(),
        }
    }

    fn commands(&self, outcome: &str) -> u64 {
        self.counter(
            COMMANDS_TOTAL,
            &[("aggregate", AGGREGATE), ("outcome", outcome)],
        )
    }
}

#[tokio::test]
async fn commands_are_counted_by_outcome_and_timed_with_their_appends() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let app = app(&InMemoryEventStore::new(), 3);

    app.send(add("a", 1)).await.expect("committed");
    app.send(add("a", 2)).await.expect("committed");
    app.send(add("a", 0)).await.expect_err("refused");
    let keyed = || CommandMetadata::new().idempotency_key("request-1");
    app.send_with(add("b", 5), keyed()).await.expect("keyed");
    let again = app.send_with(add("b", 5), keyed()).await.expect("repeated");
    assert!(again.duplicate);

    let reading = Reading::take(&snapshotter);
    assert_eq!(
        ["committed", "rejected", "duplicate", "conflict", "error"].map(|o| reading.commands(o)),
        [3, 1, 1, 0, 0]
    );
    let durations = reading.histogram(COMMAND_DURATION_SECONDS, &[("aggregate", AGGREGATE)]);
    assert_eq!(durations.len(), 5, "one duration per command");
    let appends = reading.histogram(APPEND_DURATION_SECONDS, &[]);
    assert_eq!(
        appends.len(),
        3,
        "one append per committed command; the refusal and the repeat append nothing"
    );
    assert!(
        durations
            .iter()
            .chain(&appends)
            .all(|s| *s >= 0.0 && *s < 60.0)
    );
    assert_eq!(
        reading.counter(COMMAND_CONFLICTS_TOTAL, &[("aggregate", AGGREGATE)]),
        0
    );
    // The inline projection took each committed command's own events.
    assert_eq!(
        reading.counter(PROJECTION_EVENTS_TOTAL, &[("projection", "totals")]),
        3
    );
}

/// Another app writes to the stream behind this one's back: its cached copy is stale, so its
/// next append conflicts; with retries it catches up and commits, without it gives up.
#[tokio::test]
async fn conflicts_are_counted_per_retry_and_giving_up_is_a_conflict_outcome() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let store = InMemoryEventStore::new();
    let (patient, impatient, other) = (app(&store, 3), app(&store, 0), app(&store, 3));

    patient.send(add("c", 1)).await.expect("first");
    impatient
        .send(add("c", 1))
        .await
        .expect("reads the stream first");
    other.send(add("c", 1)).await.expect("another writer");
    let retried = patient.send(add("c", 1)).await.expect("after a retry");
    assert_eq!(retried.retries, 1);
    let gave_up = impatient
        .send(add("c", 1))
        .await
        .expect_err("no retry allowed");
    assert!(matches!(gave_up, CommandError::TooManyConflicts { .. }));

    let reading = Reading::take(&snapshotter);
    assert_eq!(
        reading.counter(COMMAND_CONFLICTS_TOTAL, &[("aggregate", AGGREGATE)]),
        1,
        "the retried conflict; giving up is no retry"
    );
    assert_eq!(
        ["committed", "conflict", "rejected"].map(|o| reading.commands(o)),
        [4, 1, 0]
    );
    assert_eq!(
        reading.histogram(APPEND_DURATION_SECONDS, &[]).len(),
        6,
        "every append is timed, the refused ones too"
    );
}

#[tokio::test]
async fn each_projection_batch_sets_the_lag_behind_the_head_and_counts_its_events() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let store = InMemoryEventStore::new();
    // More events than one batch reads (4,096), appended behind the app's back.
    let events = 5_000;
    let batch: Vec<_> = (0..events)
        .map(|_| NewEvent::new("Added", 1, r#"{"n":1}"#))
        .collect();
    store
        .append("counter-d", ExpectedVersion::NoStream, batch)
        .await
        .expect("append");
    let app = app(&store, 3);

    let mut readings = Vec::new();
    app.rebuild(Totals::default(), |_| {
        readings.push(Reading::take(&snapshotter));
    })
    .await
    .expect("rebuild");
    assert_eq!(app.query(GetTotal).await.expect("query"), events);

    let projection = [("projection", "totals")];
    let per_batch: Vec<_> = readings
        .iter()
        .map(|r| {
            (
                r.counter(PROJECTION_EVENTS_TOTAL, &projection),
                r.gauge(PROJECTION_LAG_EVENTS, &projection),
                r.histogram(PROJECTION_BATCH_DURATION_SECONDS, &projection)
                    .len(),
            )
        })
        .collect();
    assert_eq!(
        per_batch,
        [(4096, Some(904.0), 1), (904, Some(0.0), 1)],
        "after each batch: its events, the head minus the position reached, one duration"
    );
}

/// The spans opened while it is the thread's subscriber, in order.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Opened>>>);

struct Opened {
    name: &'static str,
    fields: BTreeMap<String, String>,
}

/// Where a span's fields are in [`Spans`]: a span's id may be reused once it closed.
struct Index(usize);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut fields = BTreeMap::new();
        attributes.record(&mut Fields(&mut fields));
        spans.push(Opened {
            name: attributes.metadata().name(),
            fields,
        });
        let span = context.span(id).expect("the new span");
        span.extensions_mut().insert(Index(spans.len() - 1));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, context: Context<'_, S>) {
        let span = context.span(id).expect("a recorded span");
        let Some(index) = span.extensions().get::<Index>().map(|index| index.0) else {
            return;
        };
        let mut spans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        values.record(&mut Fields(&mut spans[index].fields));
    }
}

impl Spans {
    fn named(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|opened| opened.name == name)
            .map(|opened| opened.fields.clone())
            .collect()
    }
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_command_span_carries_the_ids_its_events_record() {
    let spans = Spans::default();
    let _subscribed =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let store = InMemoryEventStore::new();
    let (app, other) = (app(&store, 3), app(&store, 3));
    let request = Uuid::now_v7();

    app.send(add("e", 1)).await.expect("first");
    other.send(add("e", 1)).await.expect("another writer");
    let committed = app
        .send_with(add("e", 1), CommandMetadata::new().correlation_id(request))
        .await
        .expect("after a conflict");
    let stored = store
        .read_stream("counter-e", committed.version, 1)
        .await
        .expect("read");
    let metadata = &stored[0].metadata;
    assert_eq!(metadata.correlation_id, Some(request));
    let causation = metadata.causation_id.expect("a causation id").to_string();

    let commands = spans.named("command");
    assert_eq!(commands.len(), 3, "one span per command, retries included");
    assert_eq!(
        commands[2],
        fields(&[
            ("aggregate", AGGREGATE),
            ("command", "Add"),
            ("stream", "counter-e"),
            ("correlation_id", &request.to_string()),
            ("causation_id", &causation),
            ("retries", "1"),
            ("outcome", "committed"),
            ("version", "3"),
            ("position", &committed.position.to_string()),
        ])
    );
    let first = &commands[0];
    assert_eq!(
        first["correlation_id"], first["causation_id"],
        "without a correlation id, the command's id is both"
    );
    assert_eq!(
        (first["outcome"].as_str(), first.get("retries")),
        ("committed", None)
    );

    let total = app.query(GetTotal).await.expect("query");
    assert_eq!(total, 3);
    let batches = spans.named("projection_batch");
    assert_eq!(
        batches.last(),
        Some(&fields(&[
            ("projection", "totals"),
            ("from", "1"),
            ("to", "3"),
            ("count", "2")
        ])),
        "the projection missed the other app's event: it read it and the command's from the log"
    );
}

#[tokio::test]
async fn a_transaction_span_carries_its_ids_and_outcome() {
    let spans = Spans::default();
    let _subscribed =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let app = app(&InMemoryEventStore::new(), 3);
    let request = Uuid::now_v7();

    let done = app
        .transaction_with(
            CommandMetadata::new().correlation_id(request),
            |tx| async move {
                tx.send(add("f", 1)).await?;
                tx.send(add("g", 2)).await?;
                Ok::<_, CommandError<NothingToAdd>>(())
            },
        )
        .await
        .expect("the transaction");
    let stored = app
        .store()
        .read_stream("counter-g", 1, 1)
        .await
        .expect("read");
    let causation = stored[0].metadata.causation_id.expect("a causation id");

    assert_eq!(
        spans.named("transaction"),
        [fields(&[
            ("correlation_id", &request.to_string()),
            ("causation_id", &causation.to_string()),
            ("outcome", "committed"),
            ("retries", "0"),
            ("position", &done.position.to_string()),
        ])]
    );
}
