//! Child process of the SQLite kill test: appends batches to a SQLite store until it is killed,
//! printing one line per acknowledged append.
//!
//! Usage: `sqlite_writer <database file> <tasks>`. Task `t` appends to stream `kill-{t}` with
//! the exact expected version; batches hold 1 to 4 events whose payloads name their batch and
//! its size, so a reader can tell a torn batch. Each acknowledged append prints
//! `ACK <stream> <first version> <version> <first position> <position> <id>,<id>..`.

use std::process::ExitCode;

use es_core::store::{EventStore, ExpectedVersion, SqliteEventStore};
use es_core::{Error, NewEvent};
use uuid::Uuid;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(tasks)) = (args.next(), args.next()) else {
        eprintln!("usage: sqlite_writer <database file> <tasks>");
        return ExitCode::FAILURE;
    };
    let Ok(tasks) = tasks.parse::<usize>() else {
        eprintln!("<tasks> must be a number");
        return ExitCode::FAILURE;
    };
    let store = match SqliteEventStore::open(&path).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("cannot open {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let writers: Vec<_> = (0..tasks)
        .map(|task| tokio::spawn(append_forever(store.clone(), format!("kill-{task}"))))
        .collect();
    for writer in writers {
        match writer.await {
            Ok(Err(error)) => {
                eprintln!("append failed: {error}");
                return ExitCode::FAILURE;
            }
            Err(panic) => {
                eprintln!("writer task failed: {panic}");
                return ExitCode::FAILURE;
            }
            Ok(Ok(())) => {}
        }
    }
    ExitCode::SUCCESS
}

async fn append_forever(store: SqliteEventStore, stream: String) -> Result<(), Error> {
    let mut version = store.stream_version(&stream).await?;
    for round in 0_u64.. {
        let size = 1 + round % 4;
        let batch = Uuid::now_v7();
        let events: Vec<NewEvent> = (0..size)
            .map(|index| {
                let payload = format!(r#"{{"batch":"{batch}","index":{index},"size":{size}}}"#);
                NewEvent::new("Appended", 1, payload.into_bytes())
            })
            .collect();
        let ids: Vec<String> = events.iter().map(|event| event.id.to_string()).collect();
        let result = store
            .append(&stream, ExpectedVersion::Exact(version), events)
            .await?;
        version = result.version;
        println!(
            "ACK {stream} {} {} {} {} {}",
            result.first_version,
            result.version,
            result.first_position,
            result.position,
            ids.join(",")
        );
    }
    Ok(())
}
