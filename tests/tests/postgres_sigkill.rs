//! Case 17: a child process appending batches is killed with SIGKILL at random moments, many
//! times; afterwards every acknowledged append is present, no batch is torn, and the next append
//! gets the right version. The child is the `postgres_appender` binary.

mod postgres_support;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use es_core::NewEvent;
use es_core::store::{EventStore, ExpectedVersion};
use postgres_support::store;
use uuid::Uuid;

const KILLS: usize = 50;
const STREAMS: usize = 4;
const BATCH: u64 = 3;
const BATCH_LEN: usize = 3;

fn random_below(bound: u64) -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    hasher.finish() % bound
}

fn stream(index: usize) -> String {
    format!("killed-{index}")
}

struct Ack {
    stream: String,
    first_version: u64,
    ids: Vec<Uuid>,
}

/// Runs the child `KILLS` times, each killed with SIGKILL after a random delay; its acks.
fn kill_children(url: &str, schema: &str) -> Vec<Ack> {
    let mut acks = Vec::new();
    for _ in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_postgres_appender"))
            .args([url, schema])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child");
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut words = line.split_whitespace();
                if words.next() != Some("ack") {
                    continue;
                }
                let stream = words.next().unwrap().to_owned();
                let first_version = words.next().unwrap().parse().unwrap();
                let ids = words.map(|id| id.parse().unwrap()).collect();
                acks.push(Ack {
                    stream,
                    first_version,
                    ids,
                });
            }
            acks
        });
        // Anywhere from before the first append to a few dozen batches in.
        std::thread::sleep(Duration::from_millis(20 + random_below(300)));
        child.kill().expect("SIGKILL the child"); // `kill` is SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child was killed, it did not finish");
        acks.extend(reader.join().unwrap());
    }
    acks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_sigkill() {
    let Some((store, url, schema)) = store("sigkill").await else {
        return;
    };
    let started = Instant::now();
    let acks = tokio::task::spawn_blocking(move || kill_children(&url, &schema))
        .await
        .unwrap();

    // Every acknowledged batch is stored whole, where it was acknowledged.
    for ack in &acks {
        let stored = store
            .read_stream(&ack.stream, ack.first_version, BATCH_LEN)
            .await
            .unwrap();
        let ids: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
        assert_eq!(
            ids, ack.ids,
            "acknowledged batch at {} v{} is missing",
            ack.stream, ack.first_version
        );
    }
    // No torn batch: every stream holds whole batches, each event where its batch put it.
    let mut stored_batches = 0;
    for index in 0..STREAMS {
        let stream = stream(index);
        let events = store.read_stream(&stream, 1, usize::MAX).await.unwrap();
        assert_eq!(
            events.len() as u64 % BATCH,
            0,
            "{stream} holds a torn batch"
        );
        for (i, event) in events.iter().enumerate() {
            let version = i as u64 + 1;
            let first = version - (version - 1) % BATCH;
            assert_eq!(event.version, version);
            assert_eq!(
                std::str::from_utf8(&event.payload).unwrap(),
                format!("{first}:{}", (version - 1) % BATCH),
                "{stream} v{version} belongs to another batch"
            );
            if (version - 1) % BATCH > 0 {
                assert_eq!(
                    event.position,
                    events[i - 1].position + 1,
                    "a batch is contiguous in the global log"
                );
            }
        }
        stored_batches += events.len() as u64 / BATCH;
        // The next append gets the right version.
        let current = store.stream_version(&stream).await.unwrap();
        assert_eq!(current, events.len() as u64);
        let next = store
            .append(
                &stream,
                ExpectedVersion::Exact(current),
                vec![NewEvent::new("After", 1, &b"x"[..])],
            )
            .await
            .unwrap();
        assert_eq!(next.first_version, current + 1);
    }
    eprintln!(
        "SIGKILL: {KILLS} kills in {:.1?}; {} batches acknowledged, {stored_batches} stored \
         (stored but unacknowledged: {}), 0 torn, 0 lost",
        started.elapsed(),
        acks.len(),
        stored_batches - acks.len() as u64,
    );
    assert!(stored_batches >= acks.len() as u64);
    assert!(
        acks.len() >= KILLS,
        "the children acknowledged only {} appends in {KILLS} runs",
        acks.len()
    );
}
