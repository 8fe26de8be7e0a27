//! The bank over HTTP, as a client sees it: the built server started on a free port with its
//! own SQLite file (or a fresh PostgreSQL schema), spoken to with a real HTTP client.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// One running server; killed when dropped.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    base: String,
    /// Held open: the server's stdout stays writable for as long as it runs.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts the server on `database` with `--listen 127.0.0.1:0` and `args`, and waits for
    /// the line that tells its address.
    fn start(database: &str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bank-http"))
            .args(["--database", database, "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server");
        let mut stdout = BufReader::new(child.stdout.take().expect("its stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read its stdout");
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let status = child.wait().expect("wait for it");
            panic!("the server printed {line:?} and ended with {status}");
        };
        Self {
            base: base.to_owned(),
            child,
            _stdout: stdout,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SQLite file in a fresh directory, deleted with the directory.
fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("bank.db");
    let path = path.to_str().expect("a UTF-8 path").to_owned();
    (dir, path)
}

/// The URL of a fresh schema `bank_http_t_{name}` on the database `ES_POSTGRES_URL` names;
/// `None`, said loudly, when it is not set.
async fn postgres(name: &str) -> Option<String> {
    use es_core::store::postgres::driver::tokio_postgres;

    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        eprintln!("WARNING: PostgreSQL test {name} DID NOT RUN: ES_POSTGRES_URL is not set");
        return None;
    };
    let schema = format!("bank_http_t_{name}");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to ES_POSTGRES_URL");
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .expect("a fresh schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{separator}options=-csearch_path%3D{schema}"))
}

/// `POST`s `body` as JSON; the status and the JSON answer.
async fn post(client: &Client, url: &str, body: &Value) -> (StatusCode, Value) {
    let response = client.post(url).json(body).send().await.expect("POST");
    let status = response.status();
    (status, response.json().await.expect("a JSON answer"))
}

/// `POST`s `body` as it is, declared as JSON; the status and the JSON answer.
async fn post_raw(client: &Client, url: &str, body: &str) -> (StatusCode, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST");
    let status = response.status();
    (status, response.json().await.expect("a JSON answer"))
}

async fn get(client: &Client, url: &str) -> (StatusCode, Value) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status();
    (status, response.json().await.expect("a JSON answer"))
}

/// `POST`s and expects `expected`, answering the body.
async fn post_ok(client: &Client, url: &str, body: &Value, expected: StatusCode) -> Value {
    let (status, answer) = post(client, url, body).await;
    assert_eq!(status, expected, "POST {url} {body}: {answer}");
    answer
}

/// The account as the read model shows it once it has applied the log up to `position`.
async fn account_at(client: &Client, server: &Server, id: &str, position: u64) -> Value {
    let (status, account) = get(
        client,
        &server.url(&format!("/accounts/{id}?position={position}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    account
}

fn position(answer: &Value) -> u64 {
    answer["position"].as_u64().expect("a position")
}

/// Open, deposit, withdraw, transfer and close, each read back with its position.
async fn happy_path(server: &Server, prefix: &str) {
    let client = Client::new();
    let (alice, bob) = (format!("{prefix}alice"), format!("{prefix}bob"));
    for (id, owner) in [(&alice, "Alice"), (&bob, "Bob")] {
        let response = client
            .post(server.url("/accounts"))
            .json(&json!({"id": id, "owner": owner}))
            .send()
            .await
            .expect("POST /accounts");
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(
            response.headers()["location"],
            format!("/accounts/{id}").as_str()
        );
        let opened: Value = response.json().await.expect("JSON");
        assert_eq!((&opened["id"], &opened["version"]), (&json!(id), &json!(1)));
    }
    let deposit = server.url(&format!("/accounts/{alice}/deposits"));
    let deposited = post_ok(&client, &deposit, &json!({"amount": 100}), StatusCode::OK).await;
    assert_eq!(deposited["version"], 2);
    let withdraw = server.url(&format!("/accounts/{alice}/withdrawals"));
    let withdrawn = post_ok(&client, &withdraw, &json!({"amount": 30}), StatusCode::OK).await;
    assert!(position(&withdrawn) > position(&deposited));
    let alice_now = account_at(&client, server, &alice, position(&withdrawn)).await;
    assert_eq!(
        alice_now,
        json!({"id": alice, "owner": "Alice", "balance": 70, "closed": false})
    );

    let transfer = json!({"from": alice, "to": bob, "amount": 70});
    let transferred = post_ok(
        &client,
        &server.url("/transfers"),
        &transfer,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        transferred["versions"],
        json!({alice.as_str(): 4, bob.as_str(): 2})
    );
    let at = position(&transferred);
    assert_eq!(account_at(&client, server, &alice, at).await["balance"], 0);
    assert_eq!(account_at(&client, server, &bob, at).await["balance"], 70);

    let close = server.url(&format!("/accounts/{alice}/close"));
    let closed = post_ok(&client, &close, &json!({}), StatusCode::OK).await;
    let alice_closed = account_at(&client, server, &alice, position(&closed)).await;
    assert_eq!(alice_closed["closed"], true);

    let history_url = format!("/accounts/{alice}/history?position={}", position(&closed));
    let (status, history) = get(&client, &server.url(&history_url)).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let what: Vec<_> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["what"].as_str().expect("what").to_owned())
        .collect();
    assert_eq!(
        what,
        [
            "opened for Alice",
            "deposited 100",
            "withdrew 30",
            "withdrew 70",
            "closed"
        ]
    );
}

#[tokio::test]
async fn open_deposit_withdraw_transfer_and_close_on_sqlite() {
    let (_dir, db) = sqlite();
    happy_path(&Server::start(&db, &[]), "").await;
}

#[tokio::test]
async fn open_deposit_withdraw_transfer_and_close_on_postgres() {
    let Some(url) = postgres("happy_path").await else {
        return;
    };
    happy_path(&Server::start(&url, &[]), "").await;
}

/// Every deposit, read back at once with its position, shows: the background read model is
/// waited for, never read stale.
#[tokio::test]
async fn a_read_at_the_commands_position_sees_the_command() {
    let (_dir, db) = sqlite();
    let server = Server::start(&db, &[]);
    let client = Client::new();
    post_ok(
        &client,
        &server.url("/accounts"),
        &json!({"id": "ryw", "owner": "R"}),
        StatusCode::CREATED,
    )
    .await;
    let deposit = server.url("/accounts/ryw/deposits");
    for n in 1..=30_u64 {
        let deposited = post_ok(&client, &deposit, &json!({"amount": n}), StatusCode::OK).await;
        let account = account_at(&client, &server, "ryw", position(&deposited)).await;
        assert_eq!(account["balance"], n * (n + 1) / 2, "after deposit {n}");
        let history = format!("/accounts/ryw/history?position={}", position(&deposited));
        let (_, history) = get(&client, &server.url(&history)).await;
        assert_eq!(
            history["events"].as_array().map(Vec::len),
            Some(usize::try_from(n + 1).unwrap())
        );
    }
    // A position the log never reaches: a bounded wait, then 504.
    let server = Server::start(&db, &["--read-timeout-ms", "200"]);
    let (status, answer) = get(&client, &server.url("/accounts/ryw?position=1000000")).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{answer}");
    assert_eq!(answer["code"], "not_caught_up");
}

/// (path, body, code, message) of commands the bank refuses, on account `r` holding 10 cents
/// and an open account `s`.
const REFUSALS: &[(&str, &str, &str, &str)] = &[
    (
        "/accounts/r/withdrawals",
        r#"{"amount": 11}"#,
        "insufficient_funds",
        "insufficient funds: balance 10, requested 11",
    ),
    (
        "/accounts/r/withdrawals",
        r#"{"amount": 0}"#,
        "zero_amount",
        "the amount must be positive",
    ),
    (
        "/accounts/nobody/deposits",
        r#"{"amount": 1}"#,
        "no_such_account",
        "the account does not exist",
    ),
    (
        "/accounts",
        r#"{"id": "r", "owner": "R"}"#,
        "already_open",
        "the account is already open",
    ),
    (
        "/accounts",
        r#"{"id": "t", "owner": "\u001b[31m"}"#,
        "invalid_owner",
        "the owner's name must not be empty or contain control characters",
    ),
    (
        "/accounts/r/close",
        "{}",
        "balance_not_zero",
        "the balance must be zero to close the account, it is 10",
    ),
    (
        "/transfers",
        r#"{"from": "r", "to": "r", "amount": 1}"#,
        "same_account",
        "a transfer needs two different accounts",
    ),
    (
        "/transfers",
        r#"{"from": "r", "to": "s", "amount": 50}"#,
        "insufficient_funds",
        "insufficient funds: balance 10, requested 50",
    ),
    (
        "/accounts/r/deposits",
        r#"{"amount": 18446744073709551615}"#,
        "balance_overflow",
        "a deposit of 18446744073709551615 would overflow the balance of 10",
    ),
];

#[tokio::test]
async fn refusals_are_422_with_the_banks_message_and_change_nothing() {
    let (_dir, db) = sqlite();
    let server = Server::start(&db, &[]);
    let client = Client::new();
    let open = server.url("/accounts");
    post_ok(
        &client,
        &open,
        &json!({"id": "r", "owner": "R"}),
        StatusCode::CREATED,
    )
    .await;
    post_ok(
        &client,
        &open,
        &json!({"id": "s", "owner": "S"}),
        StatusCode::CREATED,
    )
    .await;
    let deposit = server.url("/accounts/r/deposits");
    let deposited = post_ok(&client, &deposit, &json!({"amount": 10}), StatusCode::OK).await;
    for &(path, body, code, message) in REFUSALS {
        let (status, answer) = post_raw(&client, &server.url(path), body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}: {answer}"
        );
        assert_eq!(
            answer,
            json!({"error": message, "code": code}),
            "{path} {body}"
        );
    }
    let account = account_at(&client, &server, "r", position(&deposited)).await;
    assert_eq!(account["balance"], 10);
    let (_, history) = get(&client, &server.url("/accounts/r/history")).await;
    assert_eq!(
        history["events"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );

    // Closed: every command after is refused as such.
    let close = server.url("/accounts/s/close");
    post_ok(&client, &close, &json!({}), StatusCode::OK).await;
    let (status, answer) = post(
        &client,
        &server.url("/accounts/s/deposits"),
        &json!({"amount": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer,
        json!({"error": "the account is closed", "code": "account_closed"})
    );
}

/// (path, body, the field named, words of the message) of bodies that are not a command, on
/// an open account `m`.
const BAD_BODIES: &[(&str, &str, Option<&str>, &str)] = &[
    (DEPOSIT_M, "not json", None, "not valid JSON"),
    (DEPOSIT_M, "", None, "not valid JSON"),
    (
        DEPOSIT_M,
        r#"{"amount": 5} {}"#,
        None,
        "trailing characters",
    ),
    (DEPOSIT_M, "{}", Some("amount"), "missing field `amount`"),
    (
        DEPOSIT_M,
        r#"{"amount": "5"}"#,
        Some("amount"),
        "whole number of cents",
    ),
    (
        DEPOSIT_M,
        r#"{"amount": -5}"#,
        Some("amount"),
        "integer `-5`",
    ),
    (
        DEPOSIT_M,
        r#"{"amount": 1.5}"#,
        Some("amount"),
        "floating point `1.5`",
    ),
    (
        DEPOSIT_M,
        r#"{"amount": 18446744073709551616}"#,
        Some("amount"),
        "whole number of cents from 0 to 18446744073709551615",
    ),
    (
        DEPOSIT_M,
        r#"{"amount": 5, "memo": "x"}"#,
        Some("memo"),
        "unknown field `memo`",
    ),
    (
        DEPOSIT_M,
        r#"{"amount": 1, "amount": 2}"#,
        Some("amount"),
        "duplicate field",
    ),
    (DEPOSIT_M, "[5]", None, "must be a JSON object"),
    (
        DEPOSIT_M,
        "null",
        None,
        r#"expected an object {"amount": cents}"#,
    ),
    (
        "/accounts",
        r#"{"id": "", "owner": "E"}"#,
        Some("id"),
        "must not be empty",
    ),
    (
        "/accounts",
        r#"{"id": "a\u0007b", "owner": "E"}"#,
        Some("id"),
        "control characters",
    ),
    (
        "/accounts",
        r#"{"id": 7, "owner": "E"}"#,
        Some("id"),
        "invalid type: integer `7`",
    ),
    (
        "/accounts",
        r#"{"owner": "E"}"#,
        Some("id"),
        "missing field `id`",
    ),
    (
        "/transfers",
        r#"{"from": "m", "to": "", "amount": 1}"#,
        Some("to"),
        "must not be empty",
    ),
    (
        "/accounts/a%00b/deposits",
        r#"{"amount": 1}"#,
        Some("id"),
        "control characters",
    ),
];

const DEPOSIT_M: &str = "/accounts/m/deposits";

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_field() {
    let (_dir, db) = sqlite();
    let server = Server::start(&db, &[]);
    let client = Client::new();
    let open = json!({"id": "m", "owner": "M"});
    post_ok(
        &client,
        &server.url("/accounts"),
        &open,
        StatusCode::CREATED,
    )
    .await;
    for &(path, body, field, words) in BAD_BODIES {
        let (status, answer) = post_raw(&client, &server.url(path), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        assert_eq!(answer["code"], "bad_request", "{path} {body}: {answer}");
        assert_eq!(answer["field"].as_str(), field, "{path} {body}: {answer}");
        let error = answer["error"].as_str().expect("an error message");
        assert!(
            error.contains(words),
            "{path} {body}: {error:?} lacks {words:?}"
        );
    }
    // None of it was written.
    let (_, history) = get(&client, &server.url("/accounts/m/history")).await;
    assert_eq!(
        history["events"].as_array().map(Vec::len),
        Some(1),
        "{history}"
    );
}

#[tokio::test]
async fn other_bad_requests_are_refused_with_a_json_body() {
    let (_dir, db) = sqlite();
    let server = Server::start(&db, &[]);
    let client = Client::new();
    let open = json!({"id": "m", "owner": "M"});
    post_ok(
        &client,
        &server.url("/accounts"),
        &open,
        StatusCode::CREATED,
    )
    .await;

    // Not declared as JSON: refused, not guessed.
    let response = client
        .post(server.url(DEPOSIT_M))
        .body(r#"{"amount": 1}"#)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let answer: Value = response.json().await.expect("JSON");
    let error = answer["error"].as_str().expect("an error message");
    assert!(error.contains("Content-Type: application/json"), "{error}");
    // Over the body limit.
    let huge = format!(r#"{{"amount": 1, "memo": "{}"}}"#, "x".repeat(70_000));
    let (status, answer) = post_raw(&client, &server.url(DEPOSIT_M), &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");

    for query in ["?position=x", "?position=-1", "?positon=3"] {
        let (status, answer) = get(&client, &server.url(&format!("/accounts/m{query}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
    }
    let (status, answer) = get(&client, &server.url("/nowhere")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["code"], "not_found");
    let response = client
        .delete(server.url("/accounts/m"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["code"], "method_not_allowed");
}

/// 8 tasks x 25 requests on one account, deposits and withdrawals mixed: each is accepted or
/// refused for insufficient funds, none fails, and the balance is the sum of what was
/// accepted, with one event per accepted command.
async fn concurrent_commands_on_one_account(server: &Server, id: &str) {
    let client = Client::new();
    post_ok(
        &client,
        &server.url("/accounts"),
        &json!({"id": id, "owner": "Shared"}),
        StatusCode::CREATED,
    )
    .await;
    let tasks: Vec<_> = (0..8_u64)
        .map(|task| {
            let client = client.clone();
            let deposit = server.url(&format!("/accounts/{id}/deposits"));
            let withdraw = server.url(&format!("/accounts/{id}/withdrawals"));
            tokio::spawn(async move {
                let (mut net, mut accepted, mut refused, mut last) = (0_i64, 0_usize, 0, 0);
                for request in 0..25_u64 {
                    let withdrawing = (task + request) % 3 == 0;
                    // Withdrawals larger than deposits: some are refused, at any balance.
                    let amount = (1 + (task * 25 + request) % 7) * if withdrawing { 4 } else { 1 };
                    let url = if withdrawing { &withdraw } else { &deposit };
                    let (status, answer) = post(&client, url, &json!({"amount": amount})).await;
                    match status {
                        StatusCode::OK => {
                            let signed = i64::try_from(amount).expect("small");
                            net += if withdrawing { -signed } else { signed };
                            accepted += 1;
                            last = last.max(position(&answer));
                        }
                        StatusCode::UNPROCESSABLE_ENTITY if withdrawing => {
                            assert_eq!(answer["code"], "insufficient_funds", "{answer}");
                            refused += 1;
                        }
                        other => panic!("{url} {amount}: {other} {answer}"),
                    }
                }
                (net, accepted, refused, last)
            })
        })
        .collect();
    let (mut net, mut accepted, mut refused, mut last) = (0, 0, 0, 0);
    for task in tasks {
        let (n, a, r, l) = task.await.expect("a task");
        (net, accepted, refused, last) = (net + n, accepted + a, refused + r, last.max(l));
    }
    assert_eq!(accepted + refused, 200);
    let account = account_at(&client, server, id, last).await;
    assert_eq!(account["balance"].as_i64(), Some(net), "{account}");
    let (_, history) = get(
        &client,
        &server.url(&format!("/accounts/{id}/history?position={last}")),
    )
    .await;
    let versions: Vec<_> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["version"].as_u64().expect("a version"))
        .collect();
    assert_eq!(versions, (1..=accepted as u64 + 1).collect::<Vec<_>>());
    eprintln!("8 tasks x 25 requests: {accepted} accepted, {refused} refused, balance {net}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_on_one_account_lose_nothing_on_sqlite() {
    let (_dir, db) = sqlite();
    concurrent_commands_on_one_account(&Server::start(&db, &[]), "shared").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_on_one_account_lose_nothing_on_postgres() {
    let Some(url) = postgres("concurrency").await else {
        return;
    };
    concurrent_commands_on_one_account(&Server::start(&url, &[]), "shared").await;
}

/// Two servers on one SQLite file, not allowed to retry: the commands that lose a race are
/// 409 and write nothing, the others all count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_that_outlasts_the_retries_is_409_and_writes_nothing() {
    let (_dir, db) = sqlite();
    let servers = [
        Server::start(&db, &["--max-retries", "0"]),
        Server::start(&db, &["--max-retries", "0"]),
    ];
    let client = Client::new();
    post_ok(
        &client,
        &servers[0].url("/accounts"),
        &json!({"id": "raced", "owner": "R"}),
        StatusCode::CREATED,
    )
    .await;
    let urls: Vec<_> = servers
        .iter()
        .map(|server| server.url("/accounts/raced/deposits"))
        .collect();
    let started = Instant::now();
    let (mut deposited, mut conflicts, mut last) = (0, 0, 0);
    // Rounds of 8 concurrent deposits, 4 through each server, until some have conflicted.
    while conflicts < 3 && started.elapsed() < Duration::from_secs(20) {
        let round: Vec<_> = (0..8)
            .map(|i| {
                let (client, url) = (client.clone(), urls[i % 2].clone());
                tokio::spawn(async move { post(&client, &url, &json!({"amount": 1})).await })
            })
            .collect();
        for request in round {
            let (status, answer) = request.await.expect("a request");
            match status {
                StatusCode::OK => {
                    deposited += 1;
                    last = last.max(position(&answer));
                }
                StatusCode::CONFLICT => {
                    assert_eq!(answer["code"], "conflict", "{answer}");
                    conflicts += 1;
                }
                other => panic!("{other}: {answer}"),
            }
        }
    }
    assert!(conflicts > 0, "no conflict in 20 s of racing deposits");
    for server in &servers {
        let account = account_at(&client, server, "raced", last).await;
        assert_eq!(account["balance"], deposited, "{account}");
    }
    eprintln!("{deposited} deposits accepted, {conflicts} answered 409");
}

/// Reads one server-sent event (`event:` and `data:` lines up to a blank line), skipping
/// keep-alive comments.
async fn next_event(response: &mut reqwest::Response, buffer: &mut String) -> (String, Value) {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut name, mut data) = (String::new(), String::new());
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    value.clone_into(&mut name);
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data.push_str(value);
                }
            }
            if !name.is_empty() {
                return (name, serde_json::from_str(&data).expect("JSON data"));
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
            .await
            .expect("an event within 5 s")
            .expect("read the stream")
            .expect("the stream goes on");
        buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
    }
}

#[tokio::test]
async fn the_balance_stream_sends_the_balance_then_each_change() {
    let (_dir, db) = sqlite();
    let server = Server::start(&db, &[]);
    let client = Client::new();
    let open = server.url("/accounts");
    post_ok(
        &client,
        &open,
        &json!({"id": "live", "owner": "L"}),
        StatusCode::CREATED,
    )
    .await;
    post_ok(
        &client,
        &open,
        &json!({"id": "other", "owner": "O"}),
        StatusCode::CREATED,
    )
    .await;
    let deposit = server.url("/accounts/live/deposits");
    post_ok(&client, &deposit, &json!({"amount": 40}), StatusCode::OK).await;

    let (status, _) = get(&client, &server.url("/accounts/nobody/balance/stream")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut stream = client
        .get(server.url("/accounts/live/balance/stream"))
        .send()
        .await
        .expect("GET the stream");
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();
    let (name, first) = next_event(&mut stream, &mut buffer).await;
    assert_eq!(name, "balance");
    assert_eq!(
        first,
        json!({"id": "live", "owner": "L", "balance": 40, "closed": false, "version": 2,
               "position": 3})
    );

    // Another account's changes are not this stream's.
    let other = server.url("/accounts/other/deposits");
    post_ok(&client, &other, &json!({"amount": 1}), StatusCode::OK).await;
    let mut expected = Vec::new();
    for amount in [5, 6, 7] {
        let answer = post_ok(
            &client,
            &deposit,
            &json!({"amount": amount}),
            StatusCode::OK,
        )
        .await;
        expected.push((answer["version"].clone(), position(&answer)));
    }
    let withdraw = server.url("/accounts/live/withdrawals");
    let answer = post_ok(&client, &withdraw, &json!({"amount": 8}), StatusCode::OK).await;
    expected.push((answer["version"].clone(), position(&answer)));
    let transfer = json!({"from": "other", "to": "live", "amount": 1});
    let answer = post_ok(
        &client,
        &server.url("/transfers"),
        &transfer,
        StatusCode::OK,
    )
    .await;
    expected.push((json!(7), position(&answer)));

    let mut balances = Vec::new();
    for (version, at) in expected {
        let (name, event) = next_event(&mut stream, &mut buffer).await;
        assert_eq!(name, "balance");
        assert_eq!(
            (&event["version"], event["position"].as_u64()),
            (&version, Some(at))
        );
        balances.push(event["balance"].as_u64().expect("a balance"));
    }
    assert_eq!(balances, [45, 51, 58, 50, 51]);
}

#[tokio::test]
async fn metrics_and_health_answer() {
    let (_dir, db) = sqlite();
    let server = Server::start(&db, &[]);
    let client = Client::new();
    let opened = post_ok(
        &client,
        &server.url("/accounts"),
        &json!({"id": "h", "owner": "H"}),
        StatusCode::CREATED,
    )
    .await;
    account_at(&client, &server, "h", position(&opened)).await;

    let response = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.expect("text");
    assert!(
        text.contains("# TYPE http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="POST",route="/accounts",status="201"} 1"#),
        "{text}"
    );
    // The framework's own metrics, through the same recorder.
    for expected in [
        r#"es_commands_total{aggregate="bank-account",outcome="committed"} 1"#,
        "es_command_duration_seconds_count{aggregate=\"bank-account\"} 1",
        "es_append_duration_seconds_count 1",
        "es_projection_lag_events{projection=\"balances\"}",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }

    let (status, health) = get(&client, &server.url("/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["read_models"]["balances"], position(&opened));
}

/// SIGTERM with a balance stream open: the stream ends, the server exits 0.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_ends_the_streams_and_stops_the_server() {
    let (_dir, db) = sqlite();
    let mut server = Server::start(&db, &[]);
    let client = Client::new();
    post_ok(
        &client,
        &server.url("/accounts"),
        &json!({"id": "t", "owner": "T"}),
        StatusCode::CREATED,
    )
    .await;
    let mut stream = client
        .get(server.url("/accounts/t/balance/stream"))
        .send()
        .await
        .expect("GET the stream");
    next_event(&mut stream, &mut String::new()).await;

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while stream.chunk().await.expect("read the stream").is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream did not end within 5 s");
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = server.child.try_wait().expect("the server's status") {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still running after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit}");
}
