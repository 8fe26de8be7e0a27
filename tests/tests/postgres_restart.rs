//! Case 16: two store instances on one database see each other's appends, and a live subscriber
//! resumes after the database restarts. Alone in its file: the restart drops every connection.
//! Restarts with `scripts/postgres restart` when the database is the script's cluster, otherwise
//! terminates every other connection to the database.

mod postgres_support;

use std::time::Duration;

use es_core::store::{EventStore, ExpectedVersion, PostgresEventStore, Subscription};
use es_core::{AppendResult, Error, NewEvent, RecordedEvent};
use postgres_support::{raw, store, url_in};

async fn restart_database(url: &str, schema: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres");
    let run = |command: &'static str| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("bash")
                .arg(script)
                .arg(command)
                .stderr(std::process::Stdio::null())
                .output()
        })
    };
    // The script's own cluster, if that is the one under test: restart it for real.
    let ours = run("url").await.unwrap().is_ok_and(|output| {
        output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == url
    });
    if ours {
        let output = run("restart")
            .await
            .unwrap()
            .expect("run scripts/postgres restart");
        assert!(output.status.success(), "scripts/postgres restart failed");
        eprintln!("restarted the database with scripts/postgres restart");
    } else {
        let client = raw(url, schema).await;
        let killed: i64 = client
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        eprintln!("terminated {killed} connections (the database is not scripts/postgres's)");
    }
}

/// Appends, retrying the same batch (an idempotent retry) while connections come back.
async fn append_retrying(
    store: &PostgresEventStore,
    stream: &str,
    events: Vec<NewEvent>,
) -> AppendResult {
    for _ in 0..100 {
        match store
            .append(stream, ExpectedVersion::Any, events.clone())
            .await
        {
            Ok(result) => return result,
            Err(Error::Backend(error)) => {
                eprintln!("append failed while the database restarts, retrying: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(other) => panic!("{other}"),
        }
    }
    panic!("the store never recovered after the restart");
}

async fn next_retrying(subscription: &mut Subscription<PostgresEventStore>) -> RecordedEvent {
    for _ in 0..100 {
        match tokio::time::timeout(Duration::from_secs(30), subscription.next()).await {
            Ok(Ok(event)) => return event,
            Ok(Err(error)) => {
                eprintln!("subscription read failed, retrying: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(elapsed) => panic!("the subscriber waited 30 s for an event: {elapsed}"),
        }
    }
    panic!("the subscriber never recovered after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_and_a_subscriber_survive_a_database_restart() {
    let Some((a, url, schema)) = store("restart").await else {
        return;
    };
    let b = PostgresEventStore::connect(&url_in(&url, &schema))
        .await
        .unwrap();
    let mut b_head = b.head();
    let mut subscription =
        Subscription::new(b.clone(), 0).poll_interval(Duration::from_millis(200));

    let first = NewEvent::new("Happened", 1, &b"1"[..]);
    let r1 = append_retrying(&a, "node-a", vec![first.clone()]).await;
    let seen = next_retrying(&mut subscription).await;
    assert_eq!((seen.id, seen.position), (first.id, r1.position));
    let from_b = b
        .append(
            "node-b",
            ExpectedVersion::NoStream,
            vec![NewEvent::new("Happened", 1, &b"2"[..])],
        )
        .await
        .unwrap();
    assert_eq!(
        a.read_all(r1.position, 10).await.unwrap()[0].position,
        from_b.position
    );
    assert_eq!(
        next_retrying(&mut subscription).await.position,
        from_b.position
    );

    restart_database(&url, &schema).await;

    let after = NewEvent::new("Happened", 1, &b"3"[..]);
    let r3 = append_retrying(&a, "node-a", vec![after.clone()]).await;
    assert_eq!(
        r3.position,
        from_b.position + 1,
        "no position lost or reused across the restart"
    );
    let seen = next_retrying(&mut subscription).await;
    assert_eq!(
        (seen.id, seen.position),
        (after.id, r3.position),
        "resumed exactly once, in order"
    );
    // B's listener reconnected: its head hint reaches the new position.
    tokio::time::timeout(
        Duration::from_secs(30),
        b_head.wait_for(|&p| p >= r3.position),
    )
    .await
    .expect("B's head hint moves again after the restart")
    .unwrap();
    let r4 = append_retrying(&b, "node-b", vec![NewEvent::new("Happened", 1, &b"4"[..])]).await;
    assert_eq!(next_retrying(&mut subscription).await.position, r4.position);
    assert_eq!(a.stream_version("node-b").await.unwrap(), 2);
}
