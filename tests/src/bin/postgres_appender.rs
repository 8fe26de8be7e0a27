//! Child process of the PostgreSQL SIGKILL test: appends batches until it is killed, printing
//! one line per acknowledged append.
//!
//! Usage: `postgres_appender <database URL> <schema>`. Four tasks append 3-event batches to
//! streams `killed-0` to `killed-3` with exact expected versions; the payload of the event at
//! offset `o` of the batch that starts at version `v` is `v:o`, so a reader can tell a torn
//! batch. Each acknowledged append prints `ack <stream> <first version> <id> <id> <id>`.

use std::io::Write;
use std::process::ExitCode;

use es_core::store::{EventStore, ExpectedVersion, PostgresEventStore};
use es_core::{BoxError, NewEvent};

const STREAMS: usize = 4;
const BATCH: u64 = 3;

fn main() -> ExitCode {
    es_tests::child_main(
        "postgres_appender <database URL> <schema>",
        2,
        |args| async move { run(&args[0], &args[1]).await },
    )
}

async fn run(url: &str, schema: &str) -> Result<(), BoxError> {
    let store = PostgresEventStore::builder(url)
        .schema(schema)
        .connect()
        .await?;
    let tasks: Vec<_> = (0..STREAMS)
        .map(|index| tokio::spawn(append_forever(store.clone(), format!("killed-{index}"))))
        .collect();
    // Runs until the parent kills it, unless an append fails.
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn append_forever(store: PostgresEventStore, stream: String) -> Result<(), BoxError> {
    let mut version = store.stream_version(&stream).await?;
    loop {
        let batch: Vec<NewEvent> = (0..BATCH)
            .map(|offset| {
                let payload = format!("{}:{offset}", version + 1);
                NewEvent::new("Appended", 1, payload.into_bytes())
            })
            .collect();
        let ids: Vec<String> = batch.iter().map(|event| event.id.to_string()).collect();
        let result = store
            .append(&stream, ExpectedVersion::Exact(version), batch)
            .await?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "ack {stream} {} {}",
            result.first_version,
            ids.join(" ")
        )?;
        out.flush()?;
        version = result.version;
    }
}
