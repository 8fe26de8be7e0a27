//! Event evolution on every store: payloads stored by older code are upcast on read; an event
//! name the code does not know, or a schema version newer than it, is an error that names the
//! stream, the version and the event, and nothing is lost.

use es_core::prelude::*;
use es_core::testing::TestFixture;
use es_core::{CommandError, Error, JsonValue, NewEvent, json};

/// v1 `{"name": ..}`; v2 renamed it `owner`; v3 added `currency`.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 3, upcasters = [v1_to_v2, v2_to_v3])]
struct AccountOpened {
    owner: String,
    currency: String,
}

fn v1_to_v2(mut payload: JsonValue) -> JsonValue {
    json!({ "owner": payload["name"].take() })
}

fn v2_to_v3(mut payload: JsonValue) -> JsonValue {
    payload["currency"] = json!("EUR");
    payload
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Renamed {
    owner: String,
}

#[derive(Command, Debug, Clone)]
struct Rename {
    #[id]
    account: String,
    owner: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Account {
    owner: String,
    currency: String,
}

#[aggregate]
impl Account {
    #[handle]
    fn rename(&self, cmd: Rename) -> Renamed {
        Renamed { owner: cmd.owner }
    }

    #[apply]
    fn opened(&mut self, e: &AccountOpened) {
        self.owner.clone_from(&e.owner);
        self.currency.clone_from(&e.currency);
    }

    #[apply]
    fn renamed(&mut self, e: &Renamed) {
        self.owner.clone_from(&e.owner);
    }
}

async fn old_events_are_upcast<S: EventStore + Clone>(store: S) {
    for (id, schema_version, payload) in [
        ("v1", 1, r#"{"name":"Ada"}"#),
        ("v2", 2, r#"{"owner":"Ada"}"#),
        ("v3", 3, r#"{"owner":"Ada","currency":"EUR"}"#),
    ] {
        let stream = Account::stream_name(&id);
        let old = NewEvent::new("AccountOpened", schema_version, payload);
        store
            .append(&stream, ExpectedVersion::NoStream, vec![old])
            .await
            .expect("append an old event");
        let app = App::builder(store.clone())
            .aggregate::<Account>()
            .build()
            .expect("build the app");
        let (state, version) = app.load::<Account>(&id).await.expect("load");
        let want = Account {
            owner: "Ada".into(),
            currency: "EUR".into(),
        };
        assert_eq!(
            (state, version),
            (want, 1),
            "schema version {schema_version}"
        );
        let renamed = app
            .send(Rename {
                account: id.into(),
                owner: "Grace".into(),
            })
            .await
            .expect("a command on an upcast stream");
        assert_eq!(renamed.version, 2);
        let stored = store.read_stream(&stream, 1, 10).await.expect("read");
        assert_eq!(
            (stored[0].schema_version, &stored[0].payload[..]),
            (schema_version, payload.as_bytes()),
            "upcasting never rewrites the stored event"
        );
    }
}

async fn unreadable_events_are_named<S: EventStore + Clone>(store: S) {
    let app = App::builder(store.clone())
        .aggregate::<Account>()
        .build()
        .expect("build the app");
    let cases = [
        ("unknown", NewEvent::new("AccountFrozen", 1, "{}")),
        (
            "future",
            NewEvent::new("AccountOpened", 4, r#"{"owner":"Ada","currency":"EUR"}"#),
        ),
        ("garbled", NewEvent::new("AccountOpened", 1, "{not json")),
    ];
    for (id, unreadable) in cases {
        let stream = Account::stream_name(&id);
        let opened = NewEvent::new("Renamed", 1, r#"{"owner":"Ada"}"#);
        store
            .append(&stream, ExpectedVersion::NoStream, vec![opened, unreadable])
            .await
            .expect("append");
        let error = match app.load::<Account>(&id).await {
            Err(CommandError::Store(error)) => error,
            other => panic!("{id}: expected a store error, got {other:?}"),
        };
        let text = error.to_string();
        assert!(
            text.contains(&format!("version 2 of stream `{stream}`")),
            "{id}: {text}"
        );
        match (id, &error) {
            ("unknown", Error::UnknownEvent { event, .. }) => assert_eq!(event, "AccountFrozen"),
            (
                "future",
                Error::FutureSchema {
                    event,
                    schema_version,
                    supported,
                    ..
                },
            ) => {
                assert_eq!(
                    (event.as_str(), *schema_version, *supported),
                    ("AccountOpened", 4, 3)
                );
            }
            ("garbled", Error::Decode { event, .. }) => assert_eq!(event, "AccountOpened"),
            _ => panic!("{id}: wrong error {error:?}"),
        }
        let kept = store.read_stream(&stream, 1, 10).await.expect("read");
        assert_eq!(kept.len(), 2, "{id}: nothing is lost");
    }
}

#[tokio::test]
async fn memory_upcasts_old_events() {
    old_events_are_upcast(InMemoryEventStore::new()).await;
    unreadable_events_are_named(InMemoryEventStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_upcasts_old_events() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteEventStore::open(dir.path().join("events.db"))
        .await
        .expect("open");
    old_events_are_upcast(store.clone()).await;
    unreadable_events_are_named(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upcasts_old_events() {
    let Some((store, _url, _schema)) = postgres_support::store("upcasting").await else {
        return;
    };
    old_events_are_upcast(store.clone()).await;
    unreadable_events_are_named(store).await;
}

#[tokio::test]
async fn the_fixture_loads_old_payloads_from_files() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/account_opened_v1.json"
    );
    let state = TestFixture::<Account>::new()
        .given_stored_file("AccountOpened", 1, path)
        .when(Rename {
            account: "a".into(),
            owner: "Grace".into(),
        })
        .await
        .then_expect_events(Renamed {
            owner: "Grace".into(),
        });
    assert_eq!(state.currency, "EUR");
}

mod postgres_support;
