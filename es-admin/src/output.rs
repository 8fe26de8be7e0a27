//! What the tool prints: text for people by default, one JSON object per line with `--json`.

use std::fmt::Write as _;
use std::io::Write;

use es_core::store::{StoreStats, StreamSummary};
use es_core::{RecordedEvent, Timestamp};
use serde_json::{Value, json};

use crate::Failure;

/// Where results go, and in which form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether results are JSON lines.
    pub(crate) fn json(self) -> bool {
        self.json
    }

    /// Prints one result: `text` for people, or `value` as one JSON line.
    ///
    /// # Errors
    /// [`Failure::Closed`] when the reader went away (`| head`): the tool stops quietly.
    pub(crate) fn emit(
        self,
        text: impl FnOnce() -> String,
        value: impl FnOnce() -> Value,
    ) -> Result<(), Failure> {
        let mut stdout = std::io::stdout().lock();
        let written = if self.json {
            writeln!(stdout, "{}", value())
        } else {
            writeln!(stdout, "{}", text())
        };
        written
            .and_then(|()| stdout.flush())
            .map_err(|_| Failure::Closed)
    }

    /// Prints a stored event; `full`: with its metadata and its payload pretty-printed.
    pub(crate) fn event(self, event: &RecordedEvent, full: bool) -> Result<(), Failure> {
        self.emit(|| event_text(event, full), || record_json(event))
    }
}

/// A stored event as one JSON object: the payload as JSON when it is, else as hex.
pub(crate) fn record_json(event: &RecordedEvent) -> Value {
    let mut value = json!({
        "position": event.position,
        "stream": &*event.stream,
        "version": event.version,
        "id": event.id,
        "name": &*event.name,
        "schema_version": event.schema_version,
        "timestamp": event.metadata.timestamp.to_string(),
        "correlation_id": event.metadata.correlation_id,
        "causation_id": event.metadata.causation_id,
        "extra": event.metadata.extra,
    });
    match serde_json::from_slice::<Value>(&event.payload) {
        Ok(payload) => value["payload"] = payload,
        Err(_) => value["payload_hex"] = Value::String(hex(&event.payload)),
    }
    value
}

/// A stream as listed, as one JSON object.
pub(crate) fn stream_json(stream: &StreamSummary) -> Value {
    json!({
        "stream": stream.stream,
        "version": stream.version,
        "last_position": stream.last_position,
        "last_timestamp": stream.last_timestamp.to_string(),
    })
}

/// A store's totals as one JSON object; `store` names it.
pub(crate) fn stats_json(store: &str, stats: &StoreStats) -> Value {
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string());
    json!({
        "store": store,
        "events": stats.events,
        "head": stats.head,
        "streams": stats.streams,
        "payload_bytes": stats.payload_bytes,
        "first_timestamp": time(stats.first_timestamp),
        "last_timestamp": time(stats.last_timestamp),
        "names": stats.names.iter().map(|(name, count)| json!({"name": name, "events": count})).collect::<Vec<_>>(),
        "snapshots": stats.snapshots,
        "checkpoints": stats.checkpoints,
    })
}

/// A projection's checkpoint and how far it is behind `head`, as one JSON object.
pub(crate) fn projection_json(name: &str, position: u64, head: u64) -> Value {
    json!({"projection": name, "position": position, "head": head, "lag": head.saturating_sub(position)})
}

/// The event for people: position, stream, version, name and time on one line; with `full`,
/// its ids and metadata and the payload pretty-printed below; else the payload on the line.
fn event_text(event: &RecordedEvent, full: bool) -> String {
    let head = format!(
        "@{} {} v{} {} {}",
        event.position,
        printable(&event.stream),
        event.version,
        printable(&event.name),
        event.metadata.timestamp
    );
    let payload = serde_json::from_slice::<Value>(&event.payload);
    if !full {
        return match payload {
            Ok(payload) => format!("{head}  {payload}"),
            Err(_) => format!("{head}  ({} bytes, not JSON)", event.payload.len()),
        };
    }
    let mut text = format!(
        "{head}\n  id {}  schema version {}",
        event.id, event.schema_version
    );
    let id = |id: Option<uuid::Uuid>| id.map_or_else(|| "-".to_owned(), |id| id.to_string());
    let _ = write!(
        text,
        "\n  correlation {}  causation {}",
        id(event.metadata.correlation_id),
        id(event.metadata.causation_id)
    );
    for (key, value) in &event.metadata.extra {
        let _ = write!(text, "\n  {}: {}", printable(key), printable(value));
    }
    let body = match payload {
        Ok(payload) => serde_json::to_string_pretty(&payload).unwrap_or_default(),
        Err(_) => format!(
            "({} bytes, not JSON) {}",
            event.payload.len(),
            hex(&event.payload)
        ),
    };
    for line in body.lines() {
        text.push_str("\n    ");
        text.push_str(line);
    }
    text
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// `text` with its control characters escaped (`\u{1b}`): names and metadata are written by
/// whoever appends, and raw escape sequences would rewrite the operator's terminal.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_debug().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}
