//! Cases 20 (typed side) and 21: loading an aggregate from its newest snapshot plus the tail of
//! its stream, and falling back to a full replay when the snapshot is of another schema version
//! or does not decode. They go through [`App`] with a hand-written aggregate.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::support::{HANG_GUARD, POLL, ok, unique_stream};
use crate::aggregate::{Aggregate, SnapshotPolicy};
use crate::app::{App, CommandError};
use crate::codec::{BoxError, Codec, Json};
use crate::command::{AggregateCommand, Command};
use crate::error::Error;
use crate::event::EventSet;
use crate::record::{NewEvent, Snapshot};
use crate::store::{EventStore, ExpectedVersion};

/// How often [`Tally`] snapshots.
const EVERY: u64 = 4;
/// The schema version of [`Tally`]'s snapshots.
const SCHEMA: u16 = 2;

/// Case 20, typed side: the app saves a snapshot every `snapshot_every` events; a new app
/// starts from the newest snapshot and replays only the tail (shown by a planted snapshot whose
/// state no replay could give); a snapshot of an older schema version, or one that does not
/// decode, is ignored and the stream is replayed in full.
///
/// # Panics
/// On a violation of the contract.
pub async fn snapshot_restores_state<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "snapshot_restores_state";
    let id = unique_stream(CASE);
    let stream = Tally::stream_name(&id);
    let app = App::builder(store.clone())
        .aggregate::<Tally>()
        .build()
        .expect("build the app");
    let mut events = Vec::new();
    for n in 1..=10 {
        let event = if n % 3 == 0 {
            TallyEvent::Doubled
        } else {
            TallyEvent::Added(n)
        };
        events.push(event.clone());
        let sent = app.send(Append::new(&id, vec![event])).await;
        ok(CASE, "send", sent.map_err(store_error));
    }
    let saved = wait_for_snapshot(CASE, store, &stream, 8).await;
    assert_eq!(
        (saved.version, saved.schema_version),
        (8, SCHEMA),
        "{CASE}: the newest snapshot after 10 events, one every {EVERY}"
    );
    let decoded: Tally = Json
        .decode(&saved.payload)
        .expect("a snapshot the app wrote");
    assert_eq!(decoded, fold(&events[..8]), "{CASE}: the snapshot's state");

    let planted = Tally {
        value: 1_000_000,
        events: 10,
    };
    plant(
        CASE,
        store,
        &stream,
        10,
        SCHEMA,
        Json.encode(&planted).expect("JSON"),
    )
    .await;
    let (state, version) = load(CASE, store, &id).await;
    assert_eq!(
        (state, version),
        (planted.clone(), 10),
        "{CASE}: a new app must start from the newest snapshot, not replay"
    );

    let id = unique_stream(CASE);
    let stream = Tally::stream_name(&id);
    let events: Vec<TallyEvent> = (1..=6).map(TallyEvent::Added).collect();
    append_raw(CASE, store, &stream, &events).await;
    let replayed = fold(&events);
    plant(
        CASE,
        store,
        &stream,
        5,
        SCHEMA - 1,
        Json.encode(&planted).expect("JSON"),
    )
    .await;
    let (state, version) = load(CASE, store, &id).await;
    assert_eq!(
        (state, version),
        (replayed.clone(), 6),
        "{CASE}: a snapshot of an older schema version must be ignored"
    );
    plant(CASE, store, &stream, 6, SCHEMA, b"{not json".to_vec()).await;
    let (state, version) = load(CASE, store, &id).await;
    assert_eq!(
        (state, version),
        (replayed, 6),
        "{CASE}: a snapshot that does not decode must fall back to replay"
    );
}

/// Case 21: for seeded random event sequences and a random snapshot point `k`, the state a new
/// app loads from the snapshot at `k` plus the tail equals the state of a full replay.
///
/// # Panics
/// On a violation of the contract, naming the seed.
pub async fn snapshot_plus_tail_equals_replay<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "snapshot_plus_tail_equals_replay";
    for seed in 1..=24_u64 {
        let mut random = XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let len = 1 + random.below(40);
        let events: Vec<TallyEvent> = (0..len)
            .map(|_| match random.below(4) {
                0 => TallyEvent::Doubled,
                _ => TallyEvent::Added(i64::try_from(random.below(200)).expect("small") - 100),
            })
            .collect();
        let k = random.below(len + 1);
        let id = unique_stream(CASE);
        let stream = Tally::stream_name(&id);
        append_raw(CASE, store, &stream, &events).await;
        let at_k = fold(&events[..usize::try_from(k).expect("small")]);
        let payload = at_k
            .encode_snapshot(&Json)
            .expect("Tally takes snapshots")
            .expect("JSON");
        plant(CASE, store, &stream, k, SCHEMA, payload).await;
        let (state, version) = load(CASE, store, &id).await;
        assert_eq!(
            (state, version),
            (fold(&events), len),
            "{CASE}: seed {seed}, {len} events, snapshot at {k}: snapshot + tail differs from replay"
        );
    }
}

async fn wait_for_snapshot<S: EventStore>(
    case: &str,
    store: &S,
    stream: &str,
    version: u64,
) -> Snapshot {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        let found = ok(
            case,
            "load_snapshot",
            store.load_snapshot(stream, u64::MAX).await,
        );
        if let Some(snapshot) = found.filter(|snapshot| snapshot.version >= version) {
            return snapshot;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{case}: no snapshot at version {version} of `{stream}` after {HANG_GUARD:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

async fn plant<S: EventStore>(
    case: &str,
    store: &S,
    stream: &str,
    version: u64,
    schema_version: u16,
    payload: Vec<u8>,
) {
    let snapshot = Snapshot {
        version,
        schema_version,
        payload: Bytes::from(payload),
    };
    ok(
        case,
        "save_snapshot",
        store.save_snapshot(stream, snapshot).await,
    );
}

/// Loads through a new app, so nothing is cached.
async fn load<S: EventStore + Clone>(case: &str, store: &S, id: &str) -> (Tally, u64) {
    let app = App::builder(store.clone())
        .aggregate::<Tally>()
        .build()
        .expect("build the app");
    ok(
        case,
        "load",
        app.load::<Tally>(id).await.map_err(store_error),
    )
}

/// Appends the events below the app, so that it saves no snapshot of its own.
async fn append_raw<S: EventStore>(case: &str, store: &S, stream: &str, events: &[TallyEvent]) {
    let batch = events
        .iter()
        .map(|event| {
            let payload = event.encode(&Json).expect("JSON");
            NewEvent::new(event.name(), 1, payload)
        })
        .collect();
    let appended = store.append(stream, ExpectedVersion::NoStream, batch).await;
    ok(case, "append", appended);
}

fn fold(events: &[TallyEvent]) -> Tally {
    let mut state = Tally::default();
    for event in events {
        state.apply(event);
    }
    state
}

fn store_error(error: CommandError<Infallible>) -> Error {
    match error {
        CommandError::Store(error) => error,
        other => panic!("unexpected command error: {other}"),
    }
}

struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Order matters (doubling after adding is not adding after doubling), so a tail applied in the
/// wrong place shows.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Tally {
    value: i64,
    events: u64,
}

#[derive(Debug, Clone, PartialEq)]
enum TallyEvent {
    Added(i64),
    Doubled,
}

impl EventSet for TallyEvent {
    const NAMES: &'static [&'static str] = &["TallyAdded", "TallyDoubled"];

    fn name(&self) -> &'static str {
        match self {
            Self::Added(_) => "TallyAdded",
            Self::Doubled => "TallyDoubled",
        }
    }

    fn version(&self) -> u16 {
        1
    }

    fn encode<C: Codec>(&self, codec: &C) -> Result<Vec<u8>, Error> {
        let encoded = match self {
            Self::Added(amount) => codec.encode(amount),
            Self::Doubled => codec.encode(&()),
        };
        encoded.map_err(|source| Error::Encode {
            event: self.name().to_owned(),
            source,
        })
    }

    fn decode<C: Codec>(
        codec: &C,
        name: &str,
        _schema_version: u16,
        payload: &[u8],
    ) -> Result<Self, Error> {
        let decode_error = |source| Error::Decode {
            stream: String::new(),
            version: 0,
            event: name.to_owned(),
            source,
        };
        match name {
            "TallyAdded" => codec.decode(payload).map(Self::Added).map_err(decode_error),
            "TallyDoubled" => codec
                .decode::<()>(payload)
                .map(|()| Self::Doubled)
                .map_err(decode_error),
            _ => Err(crate::__private::unknown_event(name, Self::NAMES)),
        }
    }
}

#[derive(Debug, Clone)]
struct Append {
    id: String,
    events: Vec<TallyEvent>,
}

impl Append {
    fn new(id: &str, events: Vec<TallyEvent>) -> Self {
        Self {
            id: id.to_owned(),
            events,
        }
    }
}

impl Command for Append {
    type Id = str;

    fn aggregate_id(&self) -> &str {
        &self.id
    }
}

impl AggregateCommand for Append {
    type Aggregate = Tally;

    fn into_command(self) -> Append {
        self
    }
}

impl Aggregate for Tally {
    const NAME: &'static str = "conformance-tally";
    type Event = TallyEvent;
    type Command = Append;
    type Error = Infallible;
    type Services = ();
    const SNAPSHOT: Option<SnapshotPolicy> = Some(SnapshotPolicy {
        every: EVERY,
        schema_version: SCHEMA,
    });

    fn encode_snapshot<C: Codec>(&self, codec: &C) -> Option<Result<Vec<u8>, BoxError>> {
        Some(codec.encode(self))
    }

    fn decode_snapshot<C: Codec>(codec: &C, payload: &[u8]) -> Option<Result<Self, BoxError>> {
        Some(codec.decode(payload))
    }

    fn apply(&mut self, event: &TallyEvent) {
        self.events += 1;
        match event {
            TallyEvent::Added(amount) => self.value += amount,
            TallyEvent::Doubled => self.value *= 2,
        }
    }

    fn handle(
        &self,
        command: Append,
        (): &(),
    ) -> impl Future<Output = Result<Vec<TallyEvent>, Infallible>> + Send {
        std::future::ready(Ok(command.events))
    }
}
