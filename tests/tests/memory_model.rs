//! Property test: random sequences of appends (random streams, expectations, batch sizes, and
//! retries of earlier batches) on `InMemoryEventStore` against a model of one `Vec` per stream.

use es_core::{AppendResult, Error, EventStore, ExpectedVersion, InMemoryEventStore, NewEvent};
use proptest::prelude::*;
use uuid::Uuid;

const STREAMS: [&str; 3] = ["model-a", "model-b", "model-c"];

#[derive(Debug, Clone)]
enum Op {
    /// A batch of new events.
    Append {
        stream: usize,
        expected: ExpectedVersion,
        len: usize,
    },
    /// An earlier successful batch again (a retry), to any stream, with any expectation.
    Retry {
        batch: usize,
        stream: usize,
        expected: ExpectedVersion,
    },
}

fn expectation() -> impl Strategy<Value = ExpectedVersion> {
    prop_oneof![
        Just(ExpectedVersion::Any),
        Just(ExpectedVersion::NoStream),
        Just(ExpectedVersion::StreamExists),
        (0_u64..6).prop_map(ExpectedVersion::Exact),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..STREAMS.len(), expectation(), 0_usize..4)
            .prop_map(|(stream, expected, len)| Op::Append { stream, expected, len }),
        1 => (any::<usize>(), 0..STREAMS.len(), expectation())
            .prop_map(|(batch, stream, expected)| Op::Retry { batch, stream, expected }),
    ]
}

/// What the model knows: each stream's ids, the global log, and every stored batch.
#[derive(Default)]
struct Model {
    streams: [Vec<Uuid>; 3],
    global: Vec<(usize, Uuid)>,
    batches: Vec<(usize, Vec<NewEvent>, AppendResult)>,
}

impl Model {
    /// The outcome the contract prescribes for appending `events` to `stream`.
    fn append(
        &mut self,
        stream: usize,
        expected: ExpectedVersion,
        events: &[NewEvent],
        retry_of: Option<usize>,
    ) -> Result<AppendResult, String> {
        if let Some(index) = retry_of {
            let (at, _, original) = &self.batches[index];
            if *at == stream && expected.matches(original.first_version - 1) {
                return Ok(*original);
            }
            return Err(format!(
                "duplicate {} in {} at {}",
                events[0].id, STREAMS[*at], original.first_version
            ));
        }
        let actual = self.streams[stream].len() as u64;
        if !expected.matches(actual) {
            return Err(format!(
                "conflict {} {expected:?} {actual}",
                STREAMS[stream]
            ));
        }
        let head = self.global.len() as u64;
        let count = events.len() as u64;
        for event in events {
            self.streams[stream].push(event.id);
            self.global.push((stream, event.id));
        }
        let result = AppendResult {
            first_version: actual + 1,
            version: actual + count,
            first_position: head + 1,
            position: head + count,
        };
        if !events.is_empty() {
            self.batches.push((stream, events.to_vec(), result));
        }
        Ok(result)
    }
}

/// The store's outcome in the model's terms (positions of an empty batch are unspecified).
fn observed(
    result: Result<AppendResult, Error>,
    empty: bool,
    model: &Model,
) -> Result<AppendResult, String> {
    match result {
        Ok(result) if empty => Ok(AppendResult {
            first_version: result.version + 1,
            first_position: model.global.len() as u64 + 1,
            position: model.global.len() as u64,
            ..result
        }),
        Ok(result) => Ok(result),
        Err(Error::Conflict {
            stream,
            expected,
            actual,
        }) => Err(format!("conflict {stream} {expected:?} {actual}")),
        Err(Error::DuplicateEvent {
            stream,
            version,
            event_id,
        }) => Err(format!("duplicate {event_id} in {stream} at {version}")),
        Err(other) => Err(format!("unexpected error {other:?}")),
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = InMemoryEventStore::new();
        let mut model = Model::default();
        for op in ops {
            let (stream, expected, events, retry_of) = match op {
                Op::Append {
                    stream,
                    expected,
                    len,
                } => {
                    let events = (0..len)
                        .map(|n| NewEvent::new("Modelled", 1, format!("{n}")))
                        .collect::<Vec<_>>();
                    (stream, expected, events, None)
                }
                Op::Retry { .. } if model.batches.is_empty() => continue,
                Op::Retry {
                    batch,
                    stream,
                    expected,
                } => {
                    let index = batch % model.batches.len();
                    (
                        stream,
                        expected,
                        model.batches[index].1.clone(),
                        Some(index),
                    )
                }
            };
            let empty = events.is_empty();
            let result = store
                .append(STREAMS[stream], expected, events.clone())
                .await;
            let got = observed(result, empty, &model);
            let want = model.append(stream, expected, &events, retry_of);
            prop_assert_eq!(got, want);
        }
        for (index, name) in STREAMS.iter().enumerate() {
            let stored = store
                .read_stream(name, 1, usize::MAX)
                .await
                .expect("read_stream");
            let ids: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
            prop_assert_eq!(&ids, &model.streams[index]);
            let versions: Vec<u64> = stored.iter().map(|e| e.version).collect();
            prop_assert_eq!(versions, (1..=ids.len() as u64).collect::<Vec<_>>());
        }
        let global = store.read_all(0, usize::MAX).await.expect("read_all");
        let got: Vec<(usize, Uuid)> = global
            .iter()
            .map(|e| {
                (
                    STREAMS
                        .iter()
                        .position(|s| *s == &*e.stream)
                        .expect("a model stream"),
                    e.id,
                )
            })
            .collect();
        prop_assert_eq!(got, model.global.clone());
        let positions: Vec<u64> = global.iter().map(|e| e.position).collect();
        prop_assert_eq!(positions, (1..=global.len() as u64).collect::<Vec<_>>());
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn appends_follow_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops)?;
    }
}
