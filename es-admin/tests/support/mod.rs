//! What the web view's tests share: a SQLite store holding a few streams (two with hostile
//! names), and the tool serving it in its own process.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use es_core::store::{ExpectedVersion, SqliteEventStore};
use es_core::{EventStore, NewEvent};
use serde_json::{Value, json};

/// A stream name with a path separator, markup, an encoded slash, a space and a non-ASCII
/// letter: the page must show it as text, the API must find it.
pub(crate) const HOSTILE: &str = "evil/<script>alert(1)</script> %2F ü";

/// A stream name that a router or a URL parser would rewrite in a path.
pub(crate) const DOTTED: &str = "../a/%2e%2e/b?c=d&e#f";

/// Events in the bulk stream: more than one page of the API holds.
pub(crate) const BULK: u64 = 1005;

/// The events the seeded store holds.
pub(crate) const SEEDED: u64 = BULK + 15;

/// Appends one event to `stream` with `extra` metadata, returning its position.
pub(crate) async fn append_with(
    store: &SqliteEventStore,
    stream: &str,
    name: &'static str,
    payload: Value,
    extra: (&str, &str),
) -> u64 {
    let mut event = NewEvent::new(name, 1, payload.to_string());
    event.metadata.extra.insert(extra.0.into(), extra.1.into());
    store
        .append(stream, ExpectedVersion::Any, vec![event])
        .await
        .expect("append")
        .position
}

/// Appends one event to `stream`, returning its position.
pub(crate) async fn append(
    store: &SqliteEventStore,
    stream: &str,
    name: &'static str,
    payload: Value,
) -> u64 {
    append_with(store, stream, name, payload, ("user", "teller-7")).await
}

/// A store at `path` with [`SEEDED`] events: a bulk import, bank accounts, orders and the two
/// hostile streams, and two projections' checkpoints (one behind the head).
pub(crate) async fn seed(path: &Path) -> SqliteEventStore {
    let store = SqliteEventStore::open(path).await.expect("open the store");
    let bulk = (1..=BULK)
        .map(|n| NewEvent::new("RowImported", 1, json!({"row": n}).to_string()))
        .collect();
    store
        .append("import-2026-01", ExpectedVersion::NoStream, bulk)
        .await
        .expect("bulk append");
    for (account, owner) in [("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")] {
        let stream = format!("bank-account-{account}");
        append(&store, &stream, "AccountOpened", json!({"owner": owner})).await;
        append(&store, &stream, "MoneyDeposited", json!({"amount": 120})).await;
    }
    append(
        &store,
        "bank-account-alice",
        "MoneyWithdrawn",
        json!({"amount": 30}),
    )
    .await;
    for order in 1..=3 {
        let stream = format!("order/2026/{order:04}");
        let items = json!({"items": [{"sku": "tea", "quantity": order}], "note": "ring twice"});
        append(&store, &stream, "OrderPlaced", items).await;
    }
    let markup =
        json!({"note": "<img src=x onerror=alert(2)>", "text": "</pre><script>alert(3)</script>"});
    let user = ("user", "<b>ops</b>");
    append_with(&store, HOSTILE, "Injected<i>", markup, user).await;
    append_with(&store, HOSTILE, "Injected<i>", json!({"again": true}), user).await;
    append(&store, DOTTED, "Dotted", json!({})).await;
    append(
        &store,
        "bank-account-bob",
        "MoneyDeposited",
        json!({"amount": 5}),
    )
    .await;
    let head = append(
        &store,
        "bank-account-carol",
        "MoneyDeposited",
        json!({"amount": 7}),
    )
    .await;
    assert_eq!(head, SEEDED);
    store
        .save_checkpoint("balances", SEEDED - 4)
        .await
        .expect("checkpoint");
    store
        .save_checkpoint("account-history", SEEDED)
        .await
        .expect("checkpoint");
    store
}

/// The tool serving a store, killed when dropped.
pub(crate) struct Server {
    /// The server's process.
    pub(crate) child: Child,
    /// Where it listens: `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// Kept open: the server may print more, and a closed pipe would fail its writes.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts `es-admin --store STORE serve --listen 127.0.0.1:0` and reads the address it
    /// prints.
    pub(crate) fn start(store: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_es-admin"))
            .arg("--store")
            .arg(store)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start es-admin serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the address");
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("expected `listening on ADDR`, got {line:?}"))
            .to_owned();
        Self {
            child,
            url,
            _stdout: stdout,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
