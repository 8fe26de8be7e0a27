//! Case 5: an event that cannot be serialized is refused above the store.

use std::convert::Infallible;
use std::future::Future;

use serde::ser::Error as _;
use serde::{Serialize, Serializer};

use super::support::{ok, read_whole, unique_stream};
use crate::aggregate::Aggregate;
use crate::app::{App, CommandError};
use crate::codec::{Codec, Json};
use crate::command::{AggregateCommand, Command};
use crate::error::Error;
use crate::event::EventSet;
use crate::store::EventStore;

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

    let app = App::builder(store.clone()).aggregate::<Probe>().build();
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
            self.total += amount;
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
