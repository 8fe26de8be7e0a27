//! Rows the typed layer cannot read (a corrupted payload, an unknown event name, a future schema
//! version), written behind the store's back with raw SQL, are errors that name the stream and
//! version; nothing panics.

use es_core::store::{EventStore, SqliteEventStore};
use es_core::{
    Aggregate, AggregateCommand, App, Codec, Command, CommandError, Error, Event, EventSet,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deposited {
    amount: u64,
}

impl Event for Deposited {
    const NAME: &'static str = "Deposited";
    const VERSION: u16 = 1;
}

#[derive(Debug, Clone, PartialEq)]
enum AccountEvent {
    Deposited(Deposited),
}

impl EventSet for AccountEvent {
    const NAMES: &'static [&'static str] = &["Deposited"];

    fn name(&self) -> &'static str {
        match self {
            Self::Deposited(_) => Deposited::NAME,
        }
    }

    fn version(&self) -> u16 {
        match self {
            Self::Deposited(_) => Deposited::VERSION,
        }
    }

    fn encode<C: Codec>(&self, codec: &C) -> Result<Vec<u8>, Error> {
        match self {
            Self::Deposited(event) => es_core::__private::encode_event(codec, event),
        }
    }

    fn decode<C: Codec>(
        codec: &C,
        name: &str,
        schema_version: u16,
        payload: &[u8],
    ) -> Result<Self, Error> {
        match name {
            Deposited::NAME => es_core::__private::decode_event(codec, schema_version, payload)
                .map(Self::Deposited),
            other => Err(es_core::__private::unknown_event(other, Self::NAMES)),
        }
    }
}

#[derive(Debug, Clone)]
struct Deposit {
    account: String,
    amount: u64,
}

impl Command for Deposit {
    type Id = str;
    fn aggregate_id(&self) -> &str {
        &self.account
    }
}

impl AggregateCommand for Deposit {
    type Aggregate = Account;
    fn into_command(self) -> Self {
        self
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

#[derive(Debug, Default, Clone, PartialEq)]
struct Account {
    balance: u64,
}

impl Aggregate for Account {
    const NAME: &'static str = "account";
    type Event = AccountEvent;
    type Command = Deposit;
    type Error = Never;
    type Services = ();

    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Deposited(deposited) => self.balance += deposited.amount,
        }
    }

    async fn handle(&self, command: Deposit, (): &()) -> Result<Vec<AccountEvent>, Never> {
        Ok(vec![AccountEvent::Deposited(Deposited {
            amount: command.amount,
        })])
    }
}

/// Inserts one row behind the store's back, at the next position and version.
fn insert_raw(
    path: &std::path::Path,
    stream: &str,
    name: &str,
    schema_version: i64,
    payload: &[u8],
) -> rusqlite::Result<()> {
    let raw = rusqlite::Connection::open(path)?;
    raw.execute(
        "INSERT INTO events (position, stream, version, event_id, name, schema_version, payload, \
         timestamp) VALUES ((SELECT COALESCE(MAX(position), 0) + 1 FROM events), ?1, \
         (SELECT COALESCE(MAX(version), 0) + 1 FROM events WHERE stream = ?1), ?2, ?3, ?4, ?5, 0)",
        rusqlite::params![
            stream,
            &uuid::Uuid::now_v7().as_bytes()[..],
            name,
            schema_version,
            payload
        ],
    )?;
    Ok(())
}

fn deposit(account: &str) -> Deposit {
    Deposit {
        account: account.to_owned(),
        amount: 10,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_rows_are_errors_naming_stream_and_version()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("typed.db");
    let store = SqliteEventStore::open(&path).await?;
    let app = App::builder(store.clone())
        .aggregate::<Account>()
        .build()
        .expect("build the app");
    for account in ["corrupt", "unknown", "future"] {
        app.send(deposit(account)).await?;
        app.send(deposit(account)).await?;
    }
    insert_raw(
        &path,
        "account-corrupt",
        "Deposited",
        1,
        b"{\"amount\": \"not a number\"",
    )?;
    insert_raw(&path, "account-unknown", "Withdrawn", 1, b"{\"amount\": 5}")?;
    insert_raw(&path, "account-future", "Deposited", 7, b"{\"amount\": 5}")?;
    assert_eq!(store.stream_version("account-corrupt").await?, 3);

    // A fresh app: nothing cached, every load replays from the file.
    let app = App::builder(store.clone())
        .aggregate::<Account>()
        .build()
        .expect("build the app");
    let load = app.load::<Account>("corrupt").await.map(|(state, _)| state);
    match &load {
        Err(CommandError::Store(Error::Decode {
            stream,
            version,
            event,
            ..
        })) => {
            assert_eq!(
                (stream.as_str(), *version, event.as_str()),
                ("account-corrupt", 3, "Deposited")
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let message = load.expect_err("checked above").to_string();
    assert!(
        message.contains("account-corrupt") && message.contains("version 3"),
        "{message}"
    );

    let send = app.send(deposit("unknown")).await;
    match &send {
        Err(CommandError::Store(Error::UnknownEvent {
            stream,
            version,
            event,
            known,
        })) => {
            assert_eq!(
                (stream.as_str(), *version, event.as_str()),
                ("account-unknown", 3, "Withdrawn")
            );
            assert_eq!(*known, ["Deposited"]);
        }
        other => panic!("expected an unknown event error, got {other:?}"),
    }
    let message = send.expect_err("checked above").to_string();
    assert!(
        message.contains("account-unknown") && message.contains("version 3"),
        "{message}"
    );

    let future = app.load::<Account>("future").await.map(|(state, _)| state);
    match &future {
        Err(CommandError::Store(Error::FutureSchema {
            stream,
            version,
            schema_version,
            ..
        })) => {
            assert_eq!(
                (stream.as_str(), *version, *schema_version),
                ("account-future", 3, 7)
            );
        }
        other => panic!("expected a future schema error, got {other:?}"),
    }
    // Nothing was appended on top of the unreadable rows.
    assert_eq!(store.stream_version("account-unknown").await?, 3);
    Ok(())
}
