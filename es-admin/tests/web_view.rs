//! The web view in a real browser: headless Chromium driven through chromedriver (`WebDriver`),
//! against `es-admin serve` on a seeded SQLite file, while this process appends to the same
//! file. Without chromedriver the test fails under CI and warns loudly elsewhere.
//!
//! With `ES_SCREENSHOT=/absolute/path.png` it also saves a screenshot of the page (1280x800)
//! after 20 seconds of appends; cargo runs the test in `es-admin/`, so give an absolute path.

mod support;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use support::{DOTTED, HOSTILE, SEEDED, Server};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// How long the page may take to show what the test waits for.
const PATIENCE: Duration = Duration::from_secs(10);

/// chromedriver, killed when dropped (it ends the browsers it started).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the browser is installed; when it is not, fails under CI and warns elsewhere.
fn browser_installed() -> bool {
    if Path::new(CHROMEDRIVER).is_file() && Path::new(CHROMIUM).is_file() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the browser test, but {CHROMEDRIVER} or {CHROMIUM} is missing \
         (scripts/browser install)"
    );
    // Straight to the handle: the test harness captures what eprintln! prints.
    let _ = std::io::stderr().write_all(
        b"\n###########################################################################\n\
          ##  WARNING: chromium or chromedriver is not installed, so the web view's  ##\n\
          ##  browser test did NOT run. Install them: scripts/browser install        ##\n\
          ###########################################################################\n\n",
    );
    false
}

/// Starts chromedriver on a free port and waits until it takes sessions.
async fn start_driver() -> (Driver, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(format!("{url}/status")).send().await {
            let status: Value = response.json().await.unwrap_or_default();
            if status["value"]["ready"] == true {
                return (driver, url);
            }
        }
        assert!(
            started.elapsed() < PATIENCE,
            "chromedriver not ready after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A headless Chromium session with a fresh profile, 1280x800.
async fn open_browser(driver: &str, profile: &Path) -> Client {
    let options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--window-size=1280,800",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver)
        .await
        .expect("a browser session")
}

/// Runs `script` in the page until `done` accepts its value, for at most [`PATIENCE`].
async fn wait_until(
    browser: &Client,
    what: &str,
    script: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let value = browser.execute(script, vec![]).await.expect("run a script");
        if done(&value) {
            return value;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{what}: not after {PATIENCE:?}; last seen {value}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn text_of(id: &str) -> String {
    format!("return document.getElementById('{id}').textContent;")
}

/// Clicks the stream-list row of `stream`, found by its `data-stream` attribute.
async fn click_stream(browser: &Client, stream: &str) {
    for row in browser
        .find_all(Locator::Css("#stream-list li[data-stream]"))
        .await
        .expect("stream rows")
    {
        if row.attr("data-stream").await.expect("attribute").as_deref() == Some(stream) {
            row.click().await.expect("click the stream");
            return;
        }
    }
    panic!("no row for stream {stream:?}");
}

/// Runs `script` in the page and returns its value.
async fn run(browser: &Client, script: &str) -> Value {
    browser
        .execute(script, vec![])
        .await
        .unwrap_or_else(|error| panic!("{script}: {error}"))
}

/// Sizes the window so that the page gets `width` x `height`, the screenshot's size: the
/// window's own frame is not part of it.
async fn set_viewport(browser: &Client, width: u32, height: u32) {
    let frame = run(
        browser,
        "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
    )
    .await;
    let frame = |i: usize| {
        frame[i]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    browser
        .set_window_size(width + frame(0), height + frame(1))
        .await
        .expect("size the window");
}

const STREAM_NAMES: &str = "return Array.from(document.querySelectorAll('#stream-list \
     li[data-stream]'), (row) => row.dataset.stream);";

#[tokio::test(flavor = "multi_thread")]
async fn page_shows_the_store_follows_appends_live_and_renders_names_as_text() {
    if !browser_installed() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = support::seed(&path).await;
    let server = Server::start(&path);
    let (_driver, driver_url) = start_driver().await;
    let browser = open_browser(&driver_url, &dir.path().join("profile")).await;
    browser.goto(&server.url).await.expect("open the page");
    set_viewport(&browser, 1280, 800).await;

    shows_the_stored_totals_and_streams(&browser).await;
    follows_appends_of_another_process(&browser, &store).await;
    shows_a_hostile_stream_as_text(&browser, &store).await;

    let screenshot = screenshot(&browser, &store).await;
    assert!(screenshot.starts_with(b"\x89PNG"), "not a PNG");
    browser.close().await.expect("close the browser");
}

async fn shows_the_stored_totals_and_streams(browser: &Client) {
    assert_eq!(SEEDED, 1020, "the figures below are formatted by hand");
    wait_until(browser, "the event total", &text_of("total-events"), |v| {
        v == "1,020"
    })
    .await;
    let streams = wait_until(browser, "the stream list", STREAM_NAMES, |v| {
        v.as_array().is_some_and(|rows| rows.len() == 9)
    })
    .await;
    for name in [HOSTILE, DOTTED, "bank-account-alice", "import-2026-01"] {
        assert!(
            streams.as_array().expect("names").contains(&json!(name)),
            "{streams}"
        );
    }
    assert_eq!(run(browser, &text_of("total-streams")).await, "9");
}

/// Appends by this process, another than the server's, reach the open page without a reload.
async fn follows_appends_of_another_process(browser: &Client, store: &es_core::SqliteEventStore) {
    run(
        browser,
        "window.esTestMarker = 'set before the appends'; return null;",
    )
    .await;
    let appended = Instant::now();
    let mut positions = Vec::new();
    for (stream, amount) in [
        ("bank-account-alice", 25),
        ("bank-account-bob", 40),
        ("bank-account-erin", 5),
    ] {
        let payload = json!({"amount": amount});
        positions.push(support::append(store, stream, "MoneyDeposited", payload).await);
    }
    positions.reverse(); // newest on top
    wait_until(
        browser,
        "the appended events at the top of the live log",
        "return Array.from(document.querySelectorAll('#live-log li[data-position]'), \
         (row) => Number(row.dataset.position)).slice(0, 3);",
        |v| *v == json!(positions),
    )
    .await;
    let latency = appended.elapsed();
    assert_eq!(run(browser, &text_of("live-count")).await, "3");
    assert_eq!(run(browser, &text_of("total-events")).await, "1,023");
    let marker = run(browser, "return window.esTestMarker;").await;
    assert_eq!(marker, "set before the appends", "the page was reloaded");
    // A new stream joins the list, also without a reload.
    wait_until(browser, "the new stream in the list", STREAM_NAMES, |v| {
        v.as_array()
            .is_some_and(|names| names.contains(&json!("bank-account-erin")))
    })
    .await;
    let _ = std::io::stderr()
        .write_all(format!("the live log showed the appends after {latency:?}\n").as_bytes());
}

/// The hostile stream: its name and payloads are shown as text, nothing of them runs; an
/// event appended to it shows in it; clicking an event shows its full JSON.
async fn shows_a_hostile_stream_as_text(browser: &Client, store: &es_core::SqliteEventStore) {
    click_stream(browser, HOSTILE).await;
    wait_until(
        browser,
        "the hostile stream's title",
        &text_of("stream-title"),
        |v| v == HOSTILE,
    )
    .await;
    let versions = "return Array.from(document.querySelectorAll('#stream-events \
         li[data-version]'), (row) => Number(row.dataset.version));";
    wait_until(browser, "the hostile stream's events", versions, |v| {
        *v == json!([1, 2])
    })
    .await;
    let injected = run(
        browser,
        "return document.querySelectorAll('main script, main img, main i, \
         main b:not(.event-head b)').length;",
    )
    .await;
    assert_eq!(injected, 0, "stored markup became elements");
    let payload = run(
        browser,
        "return document.querySelector('#stream-events .payload').textContent;",
    )
    .await;
    assert!(
        payload
            .as_str()
            .expect("text")
            .contains("<img src=x onerror=alert(2)>"),
        "{payload}"
    );
    assert!(browser.get_alert_text().await.is_err(), "an alert opened");

    support::append(store, HOSTILE, "Injected<i>", json!({"third": "</script>"})).await;
    wait_until(
        browser,
        "the live event in the open stream",
        versions,
        |v| *v == json!([1, 2, 3]),
    )
    .await;

    let first = browser
        .find(Locator::Css("#stream-events li[data-version='1']"))
        .await
        .expect("the first event");
    let id = first
        .attr("data-id")
        .await
        .expect("attribute")
        .expect("an id");
    first.click().await.expect("click the event");
    let detail = wait_until(browser, "the event's JSON", &text_of("event-detail"), |v| {
        v.as_str().is_some_and(|text| text.contains(&id))
    })
    .await;
    let detail: Value = serde_json::from_str(detail.as_str().expect("text")).expect("JSON");
    assert_eq!(detail["stream"], HOSTILE);
    assert_eq!(detail["payload"]["text"], "</pre><script>alert(3)</script>");
    let close = browser
        .find(Locator::Id("event-close"))
        .await
        .expect("the close button");
    close.click().await.expect("close the event");
}

/// A screenshot of the page with a bank account open; with `ES_SCREENSHOT` set, after some
/// seconds of traffic for the chart, saved there.
async fn screenshot(browser: &Client, store: &es_core::SqliteEventStore) -> Vec<u8> {
    click_stream(browser, "bank-account-alice").await;
    wait_until(browser, "alice's events", &text_of("stream-title"), |v| {
        v == "bank-account-alice"
    })
    .await;
    let target = std::env::var_os("ES_SCREENSHOT");
    if target.is_some() {
        // Twenty seconds of uneven traffic, for the chart.
        for second in 0..20_u32 {
            for n in 0..=(second * 7 % 11) {
                let account = ["alice", "bob", "carol", "erin"][(n % 4) as usize];
                let payload = json!({"amount": 10 + second + n});
                let stream = format!("bank-account-{account}");
                support::append(store, &stream, "MoneyDeposited", payload).await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let png = browser.screenshot().await.expect("a screenshot");
    if let Some(target) = target {
        std::fs::write(&target, &png).expect("write the screenshot");
    }
    png
}
