//! SIGKILL at random moments: a child process appends batches to a SQLite file under the default
//! synchronous mode and prints each acknowledged append; it is killed again and again. After each
//! kill every acknowledged append is present, no batch is torn, the global log is gapless, and
//! the next append gets the right version.

#![cfg(unix)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use es_core::store::{EventStore, ExpectedVersion, SqliteEventStore};
use es_core::{NewEvent, RecordedEvent};
use uuid::Uuid;

const KILLS: usize = 60;
const TASKS: usize = 4;

/// One acknowledged append, as the child printed it.
struct Ack {
    stream: String,
    first_version: u64,
    version: u64,
    first_position: u64,
    position: u64,
    ids: Vec<Uuid>,
}

fn parse(line: &str) -> Option<Ack> {
    let mut fields = line.strip_prefix("ACK ")?.split(' ');
    let stream = fields.next()?.to_owned();
    let mut number = || fields.next()?.parse::<u64>().ok();
    let (first_version, version, first_position, position) =
        (number()?, number()?, number()?, number()?);
    let ids = fields
        .next()?
        .split(',')
        .map(Uuid::parse_str)
        .collect::<Result<_, _>>()
        .ok()?;
    Some(Ack {
        stream,
        first_version,
        version,
        first_position,
        position,
        ids,
    })
}

/// A small xorshift generator: random kill moments without another dependency.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Runs the child until its first acknowledged append, lets it run a random while longer,
/// kills it with SIGKILL and returns every line it printed.
fn run_and_kill(path: &std::path::Path, random: &mut Random) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sqlite_writer"))
        .arg(path)
        .arg(TASKS.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the writer starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    // Half the kills land before or during the first appends, half while it is in full flow.
    if random.below(2) == 0 {
        if let Ok(line) = lines.recv_timeout(Duration::from_secs(10)) {
            printed.push(line);
        }
    }
    std::thread::sleep(Duration::from_micros(random.below(30_000)));
    child.kill().expect("SIGKILL is delivered");
    let status = child.wait().expect("the writer is reaped");
    assert_eq!(
        status.signal(),
        Some(9),
        "the writer stopped on its own: {status}"
    );
    reader.join().expect("the reader thread finishes");
    printed.extend(lines.try_iter());
    printed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_sigkill() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("killed.db");
    let seed = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let mut random = Random(u64::try_from(seed % u128::from(u64::MAX))? | 1);
    let started = Instant::now();
    let mut acknowledged: Vec<Ack> = Vec::new();
    for kill in 1..=KILLS {
        let printed = run_and_kill(&path, &mut random);
        acknowledged.extend(printed.iter().filter_map(|line| parse(line)));
        let store = SqliteEventStore::open(&path).await?;
        let all = read_everything(&store).await?;
        check(&all, &acknowledged, kill);
        // The next append lands right after what is stored.
        let stream = format!("kill-{}", kill % TASKS);
        let version = store.stream_version(&stream).await?;
        let next = store
            .append(
                &stream,
                ExpectedVersion::Exact(version),
                vec![batch_event(1, 0)],
            )
            .await?;
        assert_eq!(
            (next.first_version, next.version),
            (version + 1, version + 1)
        );
        assert_eq!(next.position, all.len() as u64 + 1);
        acknowledged.push(Ack {
            stream,
            first_version: next.first_version,
            version: next.version,
            first_position: next.first_position,
            position: next.position,
            ids: vec![],
        });
    }
    let store = SqliteEventStore::open(&path).await?;
    let all = read_everything(&store).await?;
    check(&all, &acknowledged, KILLS);
    println!(
        "{KILLS} kills with SIGKILL, {} acknowledged appends verified, {} events stored, in {:.1?}",
        acknowledged.len(),
        all.len(),
        started.elapsed()
    );
    assert!(
        acknowledged.len() > KILLS,
        "the writer acknowledged too few appends to test"
    );
    Ok(())
}

fn batch_event(size: u64, index: u64) -> NewEvent {
    let batch = Uuid::now_v7();
    NewEvent::new(
        "Appended",
        1,
        format!(r#"{{"batch":"{batch}","index":{index},"size":{size}}}"#).into_bytes(),
    )
}

async fn read_everything(store: &SqliteEventStore) -> Result<Vec<RecordedEvent>, es_core::Error> {
    let mut all: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = all.last().map_or(0, |event| event.position);
        let batch = store.read_all(after, 2_000).await?;
        if batch.is_empty() {
            return Ok(all);
        }
        all.extend(batch);
    }
}

/// Every acknowledged append is stored where it was acknowledged; every batch is whole and
/// contiguous; positions and versions have no gaps.
fn check(all: &[RecordedEvent], acknowledged: &[Ack], kill: usize) {
    for (index, event) in all.iter().enumerate() {
        assert_eq!(
            event.position,
            index as u64 + 1,
            "after kill {kill}: gap in the global log"
        );
    }
    let mut versions: HashMap<&str, u64> = HashMap::new();
    let mut batches: HashMap<String, Vec<&RecordedEvent>> = HashMap::new();
    for event in all {
        let last = versions.entry(&event.stream).or_default();
        assert_eq!(
            event.version,
            *last + 1,
            "after kill {kill}: gap in {}",
            event.stream
        );
        *last = event.version;
        let payload: serde_json::Value =
            serde_json::from_slice(&event.payload).expect("payloads are JSON");
        let batch = payload["batch"].as_str().expect("a batch id").to_owned();
        batches.entry(batch).or_default().push(event);
    }
    for (batch, events) in &batches {
        let size = serde_json::from_slice::<serde_json::Value>(&events[0].payload)
            .expect("payloads are JSON")["size"]
            .as_u64()
            .expect("a batch size");
        assert_eq!(
            events.len() as u64,
            size,
            "after kill {kill}: batch {batch} is torn"
        );
        for pair in events.windows(2) {
            assert_eq!(
                pair[1].version,
                pair[0].version + 1,
                "batch {batch} is not contiguous"
            );
            assert_eq!(
                pair[1].position,
                pair[0].position + 1,
                "batch {batch} is not contiguous"
            );
        }
    }
    for ack in acknowledged {
        for (offset, position) in (ack.first_position..=ack.position).enumerate() {
            let event = all
                .get(usize::try_from(position).expect("a small position") - 1)
                .unwrap_or_else(|| {
                    panic!("after kill {kill}: acknowledged position {position} is lost")
                });
            assert_eq!(&*event.stream, ack.stream);
            assert_eq!(event.version, ack.first_version + offset as u64);
            if let Some(id) = ack.ids.get(offset) {
                assert_eq!(
                    event.id, *id,
                    "after kill {kill}: acknowledged event differs"
                );
            }
        }
        assert_eq!(
            ack.version - ack.first_version,
            ack.position - ack.first_position
        );
    }
}
