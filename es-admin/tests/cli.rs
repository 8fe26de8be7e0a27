//! The store tool as operators run it: the built binary against real stores, its output for
//! people and for scripts, and its exit codes.

use std::path::Path;
use std::process::{Command, Output};

use es_core::store::SqliteEventStore;
use es_core::{EventStore, ExpectedVersion, NewEvent, Snapshot};
use serde_json::Value;

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_es-admin"))
        .args(args)
        .env_remove("ES_STORE")
        .output()
        .expect("run es-admin")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

fn event(name: &str, amount: u64) -> NewEvent {
    NewEvent::new(name.to_owned(), 1, format!(r#"{{"amount":{amount}}}"#))
}

/// A SQLite store with `accounts` streams of `per_stream` events each, one snapshot and one
/// checkpoint.
async fn filled(path: &Path, accounts: u64, per_stream: u64) -> SqliteEventStore {
    let store = SqliteEventStore::open(path).await.unwrap();
    for account in 0..accounts {
        let events = (0..per_stream).map(|n| event("Deposited", n + 1)).collect();
        store
            .append(
                &format!("account-{account}"),
                ExpectedVersion::NoStream,
                events,
            )
            .await
            .unwrap();
    }
    let snapshot = Snapshot {
        version: 1,
        schema_version: 1,
        payload: "{\"balance\":1}".into(),
    };
    store.save_snapshot("account-0", snapshot).await.unwrap();
    store.save_checkpoint("balances", 2).await.unwrap();
    store
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test]
async fn inspects_a_store_for_people_and_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let store = filled(&db, 3, 2).await;
    let odd = "odd stream/with spaces";
    store
        .append(
            odd,
            ExpectedVersion::NoStream,
            vec![NewEvent::new("Raw", 1, vec![0xff, 0x00])],
        )
        .await
        .unwrap();
    drop(store);
    let db = path_str(&db);

    let streams = tool(&["--store", db, "--json", "streams", "--prefix", "account-"]);
    assert!(streams.status.success());
    let names: Vec<_> = json_lines(&streams)
        .iter()
        .map(|s| s["stream"].clone())
        .collect();
    assert_eq!(names, ["account-0", "account-1", "account-2"]);
    let limited = tool(&["--store", db, "streams", "--limit", "2"]);
    assert_eq!(stdout(&limited).lines().count(), 2);

    let read = tool(&["--store", db, "--json", "read", "account-1", "--from", "2"]);
    let events = json_lines(&read);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["version"], 2);
    assert_eq!(events[0]["payload"]["amount"], 2);
    let text = stdout(&tool(&["--store", db, "read", "account-1"]));
    assert!(
        text.contains("@3 account-1 v1 Deposited") && text.contains("\"amount\": 1"),
        "{text}"
    );
    // A payload that is not JSON is shown as hex, not lost.
    let raw = json_lines(&tool(&["--store", db, "--json", "read", odd]));
    assert_eq!(raw[0]["payload_hex"], "ff00");

    let id = events[0]["id"].as_str().unwrap().to_owned();
    let found = json_lines(&tool(&["--store", db, "--json", "event", &id]));
    assert_eq!(found[0]["stream"], "account-1");
    let missing = tool(&[
        "--store",
        db,
        "event",
        "01a2a0b1-0000-7000-8000-000000000000",
    ]);
    assert_eq!(missing.status.code(), Some(1));

    let tail = json_lines(&tool(&["--store", db, "--json", "tail", "-n", "2"]));
    let positions: Vec<_> = tail
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, [6, 7]);
    let from = json_lines(&tool(&["--store", db, "--json", "tail", "--from", "5"]));
    assert_eq!(from.len(), 3);

    let stats = json_lines(&tool(&["--store", db, "--json", "stats"]));
    assert_eq!(stats[0]["events"], 7);
    assert_eq!(stats[0]["streams"], 4);
    assert_eq!(stats[0]["snapshots"], 1);
    let projections = json_lines(&tool(&["--store", db, "--json", "projections"]));
    assert_eq!(projections[0]["projection"], "balances");
    assert_eq!(projections[0]["lag"], 5);

    // Usage errors: exit 2, with the reason.
    let no_file = tool(&["--store", "/nonexistent/bank.db", "stats"]);
    assert_eq!(no_file.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_file.stderr).contains("no SQLite file"));
    assert_eq!(tool(&["stats"]).status.code(), Some(2));
    assert_eq!(
        tool(&["--store", db, "read", "bad\u{7}name"]).status.code(),
        Some(2)
    );
    assert_eq!(
        tool(&["--store", "mysql://x", "stats"]).status.code(),
        Some(2)
    );
}

#[tokio::test]
async fn tail_follow_prints_events_appended_by_another_process() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let store = filled(&db, 1, 1).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_es-admin"))
        .args([
            "--store",
            path_str(&db),
            "--json",
            "tail",
            "--from",
            "1",
            "--follow",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["position"], 1);
    store
        .append(
            "account-0",
            ExpectedVersion::Exact(1),
            vec![event("Withdrawn", 7)],
        )
        .await
        .unwrap();
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(
        (second["position"].as_u64(), second["name"].as_str()),
        (Some(2), Some("Withdrawn"))
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Opens a store file and changes it behind the store's back, as a broken disk or a hand-run
/// SQL statement might: the database's own guards (triggers) dropped first.
fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS events_refuse_update; DROP TRIGGER IF EXISTS events_refuse_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

fn violations(db: &str) -> (Option<i32>, Vec<String>) {
    let output = tool(&["--store", db, "--json", "verify"]);
    let kinds = json_lines(&output)
        .iter()
        .filter_map(|line| line["violation"].as_str().map(str::to_owned))
        .collect();
    (output.status.code(), kinds)
}

#[tokio::test]
async fn verify_passes_a_sound_store_and_names_each_broken_invariant() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sound.db");
    drop(filled(&db, 4, 3).await);
    let sound = tool(&["--store", path_str(&db), "verify"]);
    assert!(
        sound.status.success(),
        "{}",
        String::from_utf8_lossy(&sound.stderr)
    );
    assert!(stdout(&sound).contains("12 events in 4 streams, positions 1 to 12: no violations"));

    // A deleted event leaves a gap in the log and one in its stream; a version changed from 2
    // to 7 breaks the sequence twice (1 to 7, then 7 to 3).
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "gap",
            "DELETE FROM events WHERE position = 5",
            &["gap", "version"],
        ),
        (
            "version",
            "UPDATE events SET version = 7 WHERE position = 2",
            &["version", "version"],
        ),
        (
            "payload",
            "UPDATE events SET payload = X'7b7b' WHERE position = 3",
            &["payload"],
        ),
        (
            "snapshot",
            "UPDATE snapshots SET version = 9",
            &["snapshot"],
        ),
    ];
    for (name, sql, kind) in cases {
        let broken = dir.path().join(format!("{name}.db"));
        std::fs::copy(&db, &broken).unwrap();
        tamper(&broken, sql);
        let (code, kinds) = violations(path_str(&broken));
        assert_eq!(code, Some(1), "{name}: exit 1 on a violation");
        assert_eq!(kinds, kind, "{name}");
    }
    let ahead = dir.path().join("checkpoint.db");
    std::fs::copy(&db, &ahead).unwrap();
    let store = SqliteEventStore::open(&ahead).await.unwrap();
    store.save_checkpoint("balances", 99).await.unwrap();
    drop(store);
    assert_eq!(
        violations(path_str(&ahead)),
        (Some(1), vec!["checkpoint".to_owned()])
    );
    // Opaque payloads: the JSON check is skipped on request.
    let opaque = dir.path().join("payload.db");
    let skipped = tool(&["--store", path_str(&opaque), "verify", "--opaque-payloads"]);
    assert!(skipped.status.success());
}

/// Both stores hold the same log, snapshots and checkpoints.
async fn assert_same(source: &impl EventStore, target: &impl EventStore) {
    let ours = source.read_all(0, usize::MAX).await.unwrap();
    let theirs = target.read_all(0, usize::MAX).await.unwrap();
    assert_eq!(ours.len(), theirs.len());
    assert!(ours == theirs, "the copy differs from the source");
    assert_eq!(
        source.load_snapshot("account-0", u64::MAX).await.unwrap(),
        target.load_snapshot("account-0", u64::MAX).await.unwrap()
    );
    assert_eq!(
        target.load_checkpoint("balances").await.unwrap(),
        source.load_checkpoint("balances").await.unwrap()
    );
}

#[tokio::test]
async fn copies_between_sqlite_files_and_refuses_a_foreign_target() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("from.db"), dir.path().join("to.db"));
    let source = filled(&from, 5, 4).await;
    let copy = tool(&[
        "--json",
        "copy",
        "--from",
        path_str(&from),
        "--to",
        path_str(&to),
        "--batch",
        "3",
    ]);
    assert!(
        copy.status.success(),
        "{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    let lines = json_lines(&copy);
    assert_eq!(
        lines.len(),
        7 + 1,
        "a progress line per batch, then the summary"
    );
    assert_eq!(lines[7]["events"], 20);
    let target = SqliteEventStore::open(&to).await.unwrap();
    assert_same(&source, &target).await;
    // A read model's checkpoint left behind: it starts over in the target.
    let skipped = dir.path().join("skipped.db");
    let copy = tool(&[
        "copy",
        "--from",
        path_str(&from),
        "--to",
        path_str(&skipped),
        "--skip-checkpoint",
        "balances",
    ]);
    assert!(copy.status.success());
    let skipped = SqliteEventStore::open(&skipped).await.unwrap();
    assert_eq!(skipped.load_checkpoint("balances").await.unwrap(), 0);
    // Again: nothing to do, nothing duplicated.
    let again = tool(&["copy", "--from", path_str(&from), "--to", path_str(&to)]);
    assert!(
        stdout(&again).contains("copied 0 events (resumed after position 20"),
        "{}",
        stdout(&again)
    );
    assert!(tool(&["--store", path_str(&to), "verify"]).status.success());

    // A target with a log of its own: refused, untouched.
    let foreign = dir.path().join("foreign.db");
    drop(filled(&foreign, 1, 2).await);
    let refused = tool(&[
        "copy",
        "--from",
        path_str(&from),
        "--to",
        path_str(&foreign),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a copy of this source"));
    let foreign_store = SqliteEventStore::open(&foreign).await.unwrap();
    assert_eq!(
        foreign_store.read_all(0, usize::MAX).await.unwrap().len(),
        2
    );
    // A target longer than the source: refused.
    let shorter = dir.path().join("shorter.db");
    drop(filled(&shorter, 1, 1).await);
    let refused = tool(&["copy", "--from", path_str(&shorter), "--to", path_str(&to)]);
    assert_eq!(refused.status.code(), Some(1));
    let same = tool(&["copy", "--from", path_str(&to), "--to", path_str(&to)]);
    assert_eq!(same.status.code(), Some(2));
    // The same file spelled another way is the same store too.
    let spelled = format!("{}/./to.db", dir.path().display());
    let same = tool(&["copy", "--from", path_str(&to), "--to", &spelled]);
    assert_eq!(same.status.code(), Some(2));
}

#[tokio::test]
async fn a_checkpoint_is_never_copied_past_the_copied_log() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("from.db"), dir.path().join("to.db"));
    let source = filled(&from, 2, 2).await;
    // A projection of the running source that got ahead of what the copy read.
    source.save_checkpoint("ahead", 99).await.unwrap();
    drop(source);
    let copy = tool(&["copy", "--from", path_str(&from), "--to", path_str(&to)]);
    assert!(copy.status.success());
    let target = SqliteEventStore::open(&to).await.unwrap();
    assert_eq!(target.load_checkpoint("ahead").await.unwrap(), 4);
}

#[tokio::test]
async fn a_file_that_is_no_event_store_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap();
    drop(conn);
    let before = std::fs::read(&other).unwrap();
    let refused = tool(&["--store", path_str(&other), "stats"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not an event store"));
    assert_eq!(std::fs::read(&other).unwrap(), before, "not a byte changed");
}

#[tokio::test]
async fn control_characters_in_stored_names_and_metadata_are_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("escape.db");
    let store = SqliteEventStore::open(&db).await.unwrap();
    let mut event = NewEvent::new("Evil\u{1b}[2J", 1, "{}");
    event
        .metadata
        .extra
        .insert("agent".into(), "x\u{1b}]0;pwned\u{7}".into());
    store
        .append("s", ExpectedVersion::NoStream, vec![event])
        .await
        .unwrap();
    drop(store);
    for args in [&["read", "s"][..], &["tail"], &["stats"]] {
        let mut all = vec!["--store", path_str(&db)];
        all.extend_from_slice(args);
        let text = stdout(&tool(&all));
        assert!(!text.contains('\u{1b}'), "{args:?}: {text}");
        assert!(text.contains("Evil\\u{1b}[2J"), "{args:?}: {text}");
    }
}

/// A URL of a fresh schema of the test PostgreSQL, or `None` (said loudly) without one.
async fn postgres_schema(name: &str) -> Option<String> {
    use std::io::Write;
    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL tests"
        );
        let _ = writeln!(
            std::io::stderr(),
            "WARNING: `{name}` DID NOT RUN: ES_POSTGRES_URL is not set"
        );
        return None;
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let schema = format!("es_t_{name}");
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{separator}options=-csearch_path%3D{schema}"))
}

/// Starts a copy, kills it (SIGKILL) once part of the log is in the target, checks the target
/// holds a prefix, resumes, and checks both sides are equal.
async fn copy_killed_and_resumed(from: &Path, to: &str, target: &impl EventStore) {
    let source = filled(from, 200, 250).await;
    let total = 200 * 250;
    let mut child = Command::new(env!("CARGO_BIN_EXE_es-admin"))
        .args([
            "copy",
            "--from",
            path_str(from),
            "--to",
            to,
            "--batch",
            "500",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let copied = loop {
        let head = target.read_all(0, 1).await.map_or(0, |e| e.len());
        if head > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            break target.read_all(0, usize::MAX).await.unwrap().len();
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the copy ended before it was killed: {status}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    // A COMMIT the server received before the kill still completes after it.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let held = target.read_all(0, usize::MAX).await.unwrap();
    assert!(
        held.len() >= copied && held.len() < total,
        "killed midway: {} of {total}",
        held.len()
    );
    assert_eq!(held.len() % 500, 0, "whole batches only");
    let ours = source.read_all(0, held.len()).await.unwrap();
    assert!(ours == held, "the target holds a prefix of the source");

    let resumed = tool(&["copy", "--from", path_str(from), "--to", to]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let said = stdout(&resumed);
    assert!(
        said.contains(&format!("resumed after position {}", held.len())),
        "{said}"
    );
    assert_same(&source, target).await;
    let verified = tool(&["--store", to, "verify"]);
    assert!(verified.status.success(), "{}", stdout(&verified));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_sqlite_killed_midway_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("from.db"), dir.path().join("to.db"));
    // The target exists before the copy, so the test can watch it fill.
    let target = SqliteEventStore::open(&to).await.unwrap();
    copy_killed_and_resumed(&from, path_str(&to), &target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_sqlite_to_postgres_killed_midway_resumes() {
    let Some(url) = postgres_schema("admin_copy").await else {
        return;
    };
    // A schema without the store's tables: named as such, exit 2.
    let empty = tool(&["--store", &url, "stats"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no es_events table"));
    let dir = tempfile::tempdir().unwrap();
    let target = es_core::store::PostgresEventStore::connect(&url)
        .await
        .unwrap();
    target.migrate().await.unwrap();
    copy_killed_and_resumed(&dir.path().join("from.db"), &url, &target).await;
}
