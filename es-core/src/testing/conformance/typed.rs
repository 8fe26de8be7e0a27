//! Case 5: an event that cannot be serialized, or whose `apply` panics, is refused above the
//! store; and what the command path records through the store: command metadata and
//! idempotency keys.

use std::convert::Infallible;
use std::future::Future;

use serde::ser::Error as _;
use serde::{Serialize, Serializer};

use super::support::{ok, read_whole, unique_stream};
use crate::aggregate::Aggregate;
use crate::app::{App, CommandError, CommandMetadata};
use crate::codec::{Codec, Json};
use crate::command::{AggregateCommand, Command};
use crate::error::Error;
use crate::event::EventSet;
use crate::record::NewEvent;
use crate::store::{EventStore, ExpectedVersion};

/// Case 5: a command whose events include one the codec cannot serialize fails with
/// [`Error::Encode`] naming that event (with the codec's error as its source), never
/// [`Error::Backend`]; nothing of the batch reaches the store; the aggregate keeps working.
/// Serialization is the typed layer's job, so the case goes through [`App`] with a hand-written
/// aggregate.
///
/// # Panics
/// On a violation of the contract.
pub async fn unencodable_event_rejected<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "unencodable_event_rejected";
    let direct = ProbeEvent::Broken.encode(&Json);
    assert!(
        matches!(&direct, Err(Error::Encode { event, .. }) if event == "ProbeBroken"),
        "{CASE}: encoding a failing payload gave {direct:?}"
    );

    let app = App::builder(store.clone())
        .aggregate::<Probe>()
        .build()
        .expect("build the app");
    let id = unique_stream(CASE);
    let stream = Probe::stream_name(&id);
    let first = app.send(Record::new(&id, vec![ProbeEvent::Fine(1)])).await;
    let first = ok(
        CASE,
        "a command with encodable events",
        first.map_err(store_error),
    );
    assert_eq!(
        first.version, 1,
        "{CASE}: the first command got version {}",
        first.version
    );

    let mixed = vec![ProbeEvent::Fine(2), ProbeEvent::Broken, ProbeEvent::Fine(3)];
    match app.send(Record::new(&id, mixed)).await {
        Err(CommandError::Store(Error::Encode { event, source })) => {
            assert_eq!(
                event, "ProbeBroken",
                "{CASE}: the encode error names the wrong event"
            );
            assert!(
                source.to_string().contains("cannot be serialized"),
                "{CASE}: the encode error lost the codec's error: {source}"
            );
        }
        other => panic!("{CASE}: expected CommandError::Store(Error::Encode), got {other:?}"),
    }
    let stored = read_whole(CASE, store, &stream, 100).await;
    assert_eq!(
        stored.len(),
        1,
        "{CASE}: part of an unencodable batch was stored: {stored:?}"
    );

    let after = app.send(Record::new(&id, vec![ProbeEvent::Fine(4)])).await;
    let after = ok(
        CASE,
        "a command after the refused one",
        after.map_err(store_error),
    );
    assert_eq!(
        after.version, 2,
        "{CASE}: the refused command consumed a version"
    );
    let (state, version) = ok(
        CASE,
        "load",
        app.load::<Probe>(&id).await.map_err(store_error),
    );
    assert_eq!(
        (state.total, version),
        (5, 2),
        "{CASE}: the aggregate replays wrong"
    );
}

/// Case 5: an `apply` that panics (here: an overflow) on a command's own event stores nothing
/// of the command and comes back as [`Error::Apply`] naming the stream, version and event; a
/// stored event whose `apply` panics makes loading its stream that error, never a panic, and
/// other streams keep working.
///
/// # Panics
/// On a violation of the contract.
pub async fn panicking_apply_stores_nothing<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "panicking_apply_stores_nothing";
    let app = App::builder(store.clone())
        .aggregate::<Probe>()
        .build()
        .expect("build the app");
    let id = unique_stream(CASE);
    let stream = Probe::stream_name(&id);
    let first = app.send(Record::new(&id, vec![ProbeEvent::Fine(1)])).await;
    ok(CASE, "a first command", first.map_err(store_error));
    let overflowing = vec![ProbeEvent::Fine(2), ProbeEvent::Fine(u32::MAX)];
    match app.send(Record::new(&id, overflowing)).await {
        Err(CommandError::Store(Error::Apply {
            stream: named,
            version,
            event,
            source,
        })) => {
            assert_eq!(
                (named.as_str(), version, event.as_str()),
                (stream.as_str(), 3, "ProbeFine"),
                "{CASE}: the apply error names the wrong event"
            );
            assert!(
                source.message().contains("overflow"),
                "{CASE}: the apply error lost the panic's message: {source}"
            );
        }
        other => panic!("{CASE}: expected CommandError::Store(Error::Apply), got {other:?}"),
    }
    let stored = read_whole(CASE, store, &stream, 100).await;
    assert_eq!(
        stored.len(),
        1,
        "{CASE}: a command whose apply panicked stored events: {stored:?}"
    );
    let after = app.send(Record::new(&id, vec![ProbeEvent::Fine(4)])).await;
    let after = ok(
        CASE,
        "a command after the panic",
        after.map_err(store_error),
    );
    assert_eq!(after.version, 2, "{CASE}: the state after the panic");

    let poisoned_id = unique_stream(CASE);
    let poisoned = Probe::stream_name(&poisoned_id);
    let overflowing = [u32::MAX, 1].map(|amount| {
        let payload = Json.encode(&amount).expect("a number encodes");
        NewEvent::new("ProbeFine", 1, payload)
    });
    let appended = store
        .append(&poisoned, ExpectedVersion::NoStream, overflowing.to_vec())
        .await;
    ok(CASE, "appending the poisoned stream", appended);
    for attempt in ["first", "second"] {
        match app
            .send(Record::new(&poisoned_id, vec![ProbeEvent::Fine(1)]))
            .await
        {
            Err(CommandError::Store(Error::Apply {
                stream, version, ..
            })) => assert_eq!(
                (stream.as_str(), version),
                (poisoned.as_str(), 2),
                "{CASE}: the replay's apply error names the wrong event ({attempt} attempt)"
            ),
            other => {
                panic!("{CASE}: a stream whose replay panics gave {other:?} ({attempt} attempt)")
            }
        }
    }
    let still = app.send(Record::new(&id, vec![ProbeEvent::Fine(5)])).await;
    let still = ok(
        CASE,
        "the first stream, after a poisoned one",
        still.map_err(store_error),
    );
    assert_eq!(
        still.version, 3,
        "{CASE}: the first stream after a poisoned one"
    );
}

/// The command path's metadata: every event of a command records the command's correlation id
/// (its own id when none is given), its id as causation id, and its user key-values.
///
/// # Panics
/// On a violation of the contract.
pub async fn command_metadata_recorded<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "command_metadata_recorded";
    let app = App::builder(store.clone())
        .aggregate::<Probe>()
        .build()
        .expect("build the app");
    let id = unique_stream(CASE);
    let stream = Probe::stream_name(&id);
    let (command_id, correlation_id) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let meta = CommandMetadata::new()
        .command_id(command_id)
        .correlation_id(correlation_id)
        .with("user", "alice")
        .with("tenant", "über \"quoted\"");
    let sent = app
        .send_with(
            Record::new(&id, vec![ProbeEvent::Fine(1), ProbeEvent::Fine(2)]),
            meta,
        )
        .await;
    ok(CASE, "send_with", sent.map_err(store_error));
    for _ in 0..2 {
        let sent = app.send(Record::new(&id, vec![ProbeEvent::Fine(3)])).await;
        ok(CASE, "send", sent.map_err(store_error));
    }
    let stored = read_whole(CASE, store, &stream, 100).await;
    for event in &stored[..2] {
        let meta = &event.metadata;
        assert_eq!(
            (meta.correlation_id, meta.causation_id),
            (Some(correlation_id), Some(command_id)),
            "{CASE}: version {}: the command's ids",
            event.version
        );
        assert_eq!(meta.extra.len(), 2, "{CASE}: the user key-values");
        assert_eq!(meta.extra["user"], "alice", "{CASE}: the user key-values");
    }
    let plain: Vec<_> = stored[2..].iter().map(|event| &event.metadata).collect();
    for meta in &plain {
        assert!(
            meta.causation_id.is_some() && meta.correlation_id == meta.causation_id,
            "{CASE}: without metadata, the command's own id correlates: {meta:?}"
        );
        assert!(meta.extra.is_empty(), "{CASE}: no key-values were given");
    }
    assert_ne!(
        plain[0].causation_id, plain[1].causation_id,
        "{CASE}: two commands share an id"
    );
}

/// Idempotent commands: a command whose idempotency key was already used on its stream returns
/// the original outcome (marked `duplicate`) and writes nothing, also from another app (a cold
/// cache, another node) and when two apps race with the same key; the same key on another
/// stream, or another key, is a new command.
///
/// # Panics
/// On a violation of the contract.
pub async fn idempotent_commands<S: EventStore + Clone>(store: &S) {
    const CASE: &str = "idempotent_commands";
    let app = App::builder(store.clone())
        .aggregate::<Probe>()
        .build()
        .expect("build the app");
    let id = unique_stream(CASE);
    let stream = Probe::stream_name(&id);
    let keyed = |key: &str| CommandMetadata::new().idempotency_key(key);
    let first = app
        .send_with(
            Record::new(&id, vec![ProbeEvent::Fine(1), ProbeEvent::Fine(2)]),
            keyed("k1"),
        )
        .await;
    let first = ok(CASE, "first send", first.map_err(store_error));
    assert!(!first.duplicate, "{CASE}: a new key is not a duplicate");

    let other_app = App::builder(store.clone())
        .aggregate::<Probe>()
        .build()
        .expect("build the app");
    for (who, app) in [("the same app", &app), ("another app", &other_app)] {
        // Different events under the same key: the key decides, not the payload.
        let again = app
            .send_with(Record::new(&id, vec![ProbeEvent::Fine(9)]), keyed("k1"))
            .await;
        let again = ok(CASE, "resend", again.map_err(store_error));
        assert!(again.duplicate, "{CASE}: {who}: a used key is a duplicate");
        assert_eq!(
            (&again.events, again.version, again.position),
            (&first.events, first.version, first.position),
            "{CASE}: {who}: a duplicate returns the original outcome"
        );
    }
    let next = app
        .send_with(Record::new(&id, vec![ProbeEvent::Fine(4)]), keyed("k2"))
        .await;
    let next = ok(CASE, "another key", next.map_err(store_error));
    assert_eq!(
        (next.version, next.duplicate),
        (3, false),
        "{CASE}: another key"
    );
    let elsewhere = unique_stream(CASE);
    let sent = app
        .send_with(
            Record::new(&elsewhere, vec![ProbeEvent::Fine(5)]),
            keyed("k1"),
        )
        .await;
    let sent = ok(CASE, "the key on another stream", sent.map_err(store_error));
    assert!(!sent.duplicate, "{CASE}: keys are per stream");

    let racing = (1..=4).map(|n| {
        let app = App::builder(store.clone())
            .aggregate::<Probe>()
            .build()
            .expect("build the app");
        let id = id.clone();
        tokio::spawn(async move {
            app.send_with(Record::new(&id, vec![ProbeEvent::Fine(n)]), keyed("race"))
                .await
        })
    });
    let mut outcomes = Vec::new();
    for task in racing {
        let outcome = task.await.expect("a racing sender");
        outcomes.push(ok(CASE, "racing send", outcome.map_err(store_error)));
    }
    let written = outcomes.iter().filter(|outcome| !outcome.duplicate).count();
    assert_eq!(written, 1, "{CASE}: exactly one racing sender writes");
    assert!(
        outcomes
            .windows(2)
            .all(|pair| pair[0].events == pair[1].events),
        "{CASE}: every racing sender gets the one outcome: {outcomes:?}"
    );
    let stored = read_whole(CASE, store, &stream, 100).await;
    assert_eq!(
        stored.len(),
        4,
        "{CASE}: duplicates wrote events: {stored:?}"
    );
}

fn store_error(error: CommandError<Infallible>) -> Error {
    match error {
        CommandError::Store(error) => error,
        other => panic!("unexpected command error: {other}"),
    }
}

/// A payload whose `Serialize` always fails, whatever the codec.
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<Ser: Serializer>(&self, _: Ser) -> Result<Ser::Ok, Ser::Error> {
        Err(Ser::Error::custom("this payload cannot be serialized"))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum ProbeEvent {
    Fine(u32),
    Broken,
}

impl EventSet for ProbeEvent {
    const NAMES: &'static [&'static str] = &["ProbeFine", "ProbeBroken"];

    fn name(&self) -> &'static str {
        match self {
            Self::Fine(_) => "ProbeFine",
            Self::Broken => "ProbeBroken",
        }
    }

    fn version(&self) -> u16 {
        1
    }

    fn encode<C: Codec>(&self, codec: &C) -> Result<Vec<u8>, Error> {
        let encoded = match self {
            Self::Fine(amount) => codec.encode(amount),
            Self::Broken => codec.encode(&Unserializable),
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
        match name {
            "ProbeFine" => codec
                .decode(payload)
                .map(Self::Fine)
                .map_err(|source| Error::Decode {
                    stream: String::new(),
                    version: 0,
                    event: name.to_owned(),
                    source,
                }),
            _ => Err(crate::__private::unknown_event(name, Self::NAMES)),
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Probe {
    total: u32,
}

#[derive(Debug, Clone)]
struct Record {
    id: String,
    events: Vec<ProbeEvent>,
}

impl Record {
    fn new(id: &str, events: Vec<ProbeEvent>) -> Self {
        Self {
            id: id.to_owned(),
            events,
        }
    }
}

impl Command for Record {
    type Id = str;

    fn aggregate_id(&self) -> &str {
        &self.id
    }
}

impl AggregateCommand for Record {
    type Aggregate = Probe;

    fn into_command(self) -> Record {
        self
    }
}

impl Aggregate for Probe {
    const NAME: &'static str = "conformance-probe";
    type Event = ProbeEvent;
    type Command = Record;
    type Error = Infallible;
    type Services = ();

    fn apply(&mut self, event: &ProbeEvent) {
        if let ProbeEvent::Fine(amount) = event {
            self.total = self
                .total
                .checked_add(*amount)
                .expect("probe total overflows");
        }
    }

    fn handle(
        &self,
        command: Record,
        (): &(),
    ) -> impl Future<Output = Result<Vec<ProbeEvent>, Infallible>> + Send {
        std::future::ready(Ok(command.events))
    }
}
