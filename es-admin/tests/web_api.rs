//! The web view's JSON API and live stream over plain HTTP, against `es-admin serve` running
//! in its own process on a seeded SQLite file.

mod support;

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::{BULK, DOTTED, HOSTILE, SEEDED, Server};

/// Query parameters, as names and values.
type Query<'a> = &'a [(&'a str, &'a str)];

/// A seeded store, the tool serving it, and a client.
struct Setup {
    _dir: tempfile::TempDir,
    store: es_core::SqliteEventStore,
    server: Server,
    client: Client,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = support::seed(&path).await;
    let server = Server::start(&path);
    Setup {
        _dir: dir,
        store,
        server,
        client: Client::new(),
    }
}

impl Setup {
    /// GETs `path` with `query`, returning the status and the body as JSON.
    async fn get(&self, path: &str, query: Query<'_>) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.server.url))
            .query(query)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let content_type = response.headers()[reqwest::header::CONTENT_TYPE].clone();
        assert_eq!(
            content_type, "application/json",
            "{path}: every answer is JSON"
        );
        (status, response.json().await.expect("a JSON body"))
    }
}

/// Reads an SSE response until its text holds `wanted`, for at most 10 s.
async fn read_until(response: &mut reqwest::Response, wanted: &str) -> String {
    let mut text = String::new();
    let read = async {
        while !text.contains(wanted) {
            let chunk = response.chunk().await.expect("read the stream");
            let chunk = chunk.expect("the stream ended before the event came");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .is_err()
    {
        panic!("no {wanted:?} within 10 s; received: {text}");
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_stream_names_are_found_listed_and_returned_verbatim() {
    let setup = setup().await;
    for name in [HOSTILE, DOTTED] {
        let (status, body) = setup.get("/api/stream", &[("name", name)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["stream"], name);
        let events = body["events"].as_array().expect("events");
        assert!(!events.is_empty(), "{name}: {body}");
        assert!(events.iter().all(|event| event["stream"] == name));
    }
    let (_, body) = setup.get("/api/stream", &[("name", HOSTILE)]).await;
    assert_eq!(body["version"], 2);
    assert_eq!(body["events"][0]["name"], "Injected<i>");
    assert_eq!(
        body["events"][0]["payload"]["note"],
        "<img src=x onerror=alert(2)>"
    );
    assert_eq!(body["events"][0]["extra"]["user"], "<b>ops</b>");

    let (_, body) = setup
        .get("/api/streams", &[("prefix", "evil/<script>")])
        .await;
    let listed: Vec<&Value> = body["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .collect();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["stream"], HOSTILE);
    assert_eq!(listed[0]["version"], 2);
    // A `%` in a prefix is a character, not a wildcard.
    let (_, body) = setup.get("/api/streams", &[("prefix", "%")]).await;
    assert_eq!(body["streams"], json!([]), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_is_found_by_id_unknown_is_404_and_malformed_is_400() {
    let setup = setup().await;
    let before_last = (SEEDED - 1).to_string();
    let (_, log) = setup
        .get("/api/log", &[("after", &before_last), ("limit", "1")])
        .await;
    let known = &log["events"][0];
    let id = known["id"].as_str().expect("an id");
    let (status, event) = setup.get(&format!("/api/events/{id}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&event, known);

    let unknown = uuid::Uuid::now_v7();
    let (status, body) = setup.get(&format!("/api/events/{unknown}"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains(&unknown.to_string())
    );

    let (status, body) = setup.get("/api/events/not-a-uuid", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["parameter"], "id");

    let (status, body) = setup.get("/api/nothing/here", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_parameters_are_400_naming_the_parameter() {
    let setup = setup().await;
    let long = "x".repeat(256);
    let cases: [(&str, Query<'_>, &str); 9] = [
        ("/api/log", &[("after", "-1")], "after"),
        ("/api/log", &[("limit", "0")], "limit"),
        ("/api/log", &[("limit", "ten")], "limit"),
        ("/api/streams", &[("limit", "1e3")], "limit"),
        ("/api/stream", &[], "name"),
        ("/api/stream", &[("name", "tab\there")], "name"),
        ("/api/stream", &[("name", &long)], "name"),
        ("/api/stream", &[("name", "ok"), ("from", "first")], "from"),
        ("/api/live", &[("after", "head")], "after"),
    ];
    for (path, query, parameter) in cases {
        let (status, body) = setup.get(path, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {query:?}: {body}");
        assert_eq!(body["parameter"], parameter, "{path} {query:?}: {body}");
        assert!(body["error"].as_str().expect("error").contains(parameter));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_are_capped_at_1000_and_pages_chain() {
    let setup = setup().await;
    let (_, first) = setup.get("/api/log", &[("limit", "1000000")]).await;
    assert_eq!(first["events"].as_array().expect("events").len(), 1000);
    assert_eq!(first["next"], 1000);
    let (_, rest) = setup.get("/api/log", &[("after", "1000")]).await;
    let rest = rest["events"].as_array().expect("events");
    assert_eq!(rest.len() as u64, SEEDED - 1000);
    assert_eq!(rest[0]["position"], 1001);

    let (_, stream) = setup
        .get(
            "/api/stream",
            &[("name", "import-2026-01"), ("limit", "5000")],
        )
        .await;
    assert_eq!(stream["events"].as_array().expect("events").len(), 1000);
    assert_eq!(stream["version"], BULK);
    assert_eq!(stream["next"], 1001);
    let (_, tail) = setup
        .get(
            "/api/stream",
            &[("name", "import-2026-01"), ("from", "1001")],
        )
        .await;
    assert_eq!(
        tail["events"].as_array().expect("events").len() as u64,
        BULK - 1000
    );
    assert_eq!(tail["next"], Value::Null);

    let (_, streams) = setup.get("/api/streams", &[("limit", "2")]).await;
    let after = streams["next"].as_str().expect("a next page");
    let (_, more) = setup
        .get("/api/streams", &[("limit", "2"), ("after", after)])
        .await;
    assert!(more["streams"][0]["stream"].as_str().expect("a stream") > after);
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_and_projections_count_the_store() {
    let setup = setup().await;
    let (code, stats) = setup.get("/api/stats", &[]).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(stats["events"], SEEDED);
    assert_eq!(stats["head"], SEEDED);
    assert_eq!(stats["streams"], 9);
    assert_eq!(stats["checkpoints"], 2);

    let (_, projections) = setup.get("/api/projections", &[]).await;
    assert_eq!(projections["head"], SEEDED);
    let lag = |name: &str| {
        projections["projections"]
            .as_array()
            .expect("projections")
            .iter()
            .find(|p| p["projection"] == name)
            .map(|p| p["lag"].clone())
    };
    assert_eq!(lag("balances"), Some(json!(4)));
    assert_eq!(lag("account-history"), Some(json!(0)));
}

#[tokio::test(flavor = "multi_thread")]
async fn live_delivers_an_event_appended_by_another_process() {
    let setup = setup().await;
    let mut live = setup
        .client
        .get(format!("{}/api/live", setup.server.url))
        .send()
        .await
        .expect("open the live stream");
    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(
        live.headers()[reqwest::header::CONTENT_TYPE],
        "text/event-stream"
    );
    // Without `after` the stream starts at the head: the first event it sends is the new one.
    let position = support::append(
        &setup.store,
        "bank-account-dave",
        "AccountOpened",
        json!({"owner": "Dave"}),
    )
    .await;
    let text = read_until(&mut live, "\n\n").await;
    assert!(text.contains("event: event\n"), "{text}");
    assert!(text.contains(&format!("id: {position}\n")), "{text}");
    let data = text
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .expect("a data line");
    let event: Value = serde_json::from_str(data).expect("the event as JSON");
    assert_eq!(event["stream"], "bank-account-dave");
    assert_eq!(event["payload"]["owner"], "Dave");
}

#[tokio::test(flavor = "multi_thread")]
async fn live_resumes_after_the_last_event_id_a_browser_sends() {
    let setup = setup().await;
    let mut live = setup
        .client
        .get(format!("{}/api/live?after=0", setup.server.url))
        .header("Last-Event-ID", (SEEDED - 1).to_string())
        .send()
        .await
        .expect("open the live stream");
    let text = read_until(&mut live, "\n\n").await;
    assert!(text.contains(&format!("id: {SEEDED}\n")), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_under_another_host_name_is_refused() {
    let setup = setup().await;
    let url = format!("{}/api/stats", setup.server.url);
    let own = setup.client.get(&url).send().await.expect("request");
    assert_eq!(own.status(), StatusCode::OK);
    // What a page of another site sends after rebinding its name to 127.0.0.1.
    let port = url
        .split(':')
        .nth(2)
        .and_then(|rest| rest.split('/').next())
        .unwrap();
    let rebound = setup
        .client
        .get(&url)
        .header(reqwest::header::HOST, format!("attacker.example:{port}"))
        .send()
        .await
        .expect("request");
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    let localhost = setup
        .client
        .get(&url)
        .header(reqwest::header::HOST, format!("localhost:{port}"))
        .send()
        .await
        .expect("request");
    assert_eq!(localhost.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_is_served_with_its_types_and_a_content_security_policy() {
    let setup = setup().await;
    for (path, content_type, marker) in [
        ("/", "text/html; charset=utf-8", "id=\"live-log\""),
        ("/app.js", "text/javascript; charset=utf-8", "EventSource"),
        ("/style.css", "text/css; charset=utf-8", "#live-log"),
    ] {
        let response = setup
            .client
            .get(format!("{}{path}", setup.server.url))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert_eq!(
            headers[reqwest::header::CONTENT_TYPE],
            content_type,
            "{path}"
        );
        let policy = headers[reqwest::header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
        let body = response.text().await.expect("body");
        assert!(body.contains(marker), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_server_while_a_live_stream_is_open() {
    let mut setup = setup().await;
    let mut live = setup
        .client
        .get(format!(
            "{}/api/live?after={}",
            setup.server.url,
            SEEDED - 1
        ))
        .send()
        .await
        .expect("open the live stream");
    read_until(&mut live, "\n\n").await;
    let pid = setup.server.child.id().to_string();
    let sent = std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = setup.server.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    // The stream was ended, not cut: the client reads its end.
    let ended = tokio::time::timeout(Duration::from_secs(5), live.chunk()).await;
    assert!(matches!(ended, Ok(Ok(None))), "{ended:?}");
}
