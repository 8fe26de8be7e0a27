//! Decoding stored rows into records, with the stream and event names shared between rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use rusqlite::Row;
use uuid::Uuid;

use super::error::SqliteError;
use super::writer::stored_u64;
use crate::record::{Metadata, RecordedEvent, Snapshot, Timestamp};

/// Turns rows into [`RecordedEvent`]s, sharing the `Arc<str>` of a stream or name that repeats.
pub(super) struct Decoder {
    stream: Option<Arc<str>>,
    name: Option<Arc<str>>,
}

impl Decoder {
    pub(super) fn new(stream: Option<Arc<str>>) -> Self {
        Self { stream, name: None }
    }

    pub(super) fn decode(&mut self, row: &Row<'_>) -> Result<RecordedEvent, SqliteError> {
        let position: i64 = row.get(0)?;
        let malformed = |what| SqliteError::Malformed { position, what };
        let stream = shared(&mut self.stream, row.get_ref(1)?.as_str()?);
        let version: i64 = row.get(2)?;
        let id = Uuid::from_slice(row.get_ref(3)?.as_blob()?)
            .map_err(|_| malformed("the event id is not 16 bytes"))?;
        let name = shared(&mut self.name, row.get_ref(4)?.as_str()?);
        let schema_version = u16::try_from(row.get::<_, i64>(5)?)
            .map_err(|_| malformed("the schema version is not a 16-bit number"))?;
        let payload = Bytes::copy_from_slice(row.get_ref(6)?.as_blob()?);
        let timestamp = Timestamp(row.get(7)?);
        let correlation_id =
            optional_uuid(row, 8).map_err(|()| malformed("the correlation id is not 16 bytes"))?;
        let causation_id =
            optional_uuid(row, 9).map_err(|()| malformed("the causation id is not 16 bytes"))?;
        let extra = match row.get_ref(10)?.as_str_or_null()? {
            None => BTreeMap::new(),
            Some(json) => serde_json::from_str(json)
                .map_err(|source| SqliteError::Metadata { position, source })?,
        };
        Ok(RecordedEvent {
            id,
            stream,
            version: stored_u64(version),
            position: stored_u64(position),
            name,
            schema_version,
            payload,
            metadata: Metadata {
                timestamp,
                correlation_id,
                causation_id,
                extra,
            },
        })
    }
}

/// The snapshot of `stream` in the columns `first..first + 3` of `row`: version, schema
/// version, payload.
pub(super) fn snapshot(row: &Row<'_>, first: usize, stream: &str) -> Result<Snapshot, SqliteError> {
    let version: i64 = row.get(first)?;
    let schema_version = u16::try_from(row.get::<_, i64>(first + 1)?).map_err(|_| {
        SqliteError::MalformedSnapshot {
            stream: stream.to_owned(),
            version,
        }
    })?;
    Ok(Snapshot {
        version: stored_u64(version),
        schema_version,
        payload: Bytes::copy_from_slice(row.get_ref(first + 2)?.as_blob()?),
    })
}

/// The cached `Arc` when it holds `text`, else a new one, cached.
fn shared(cache: &mut Option<Arc<str>>, text: &str) -> Arc<str> {
    match cache {
        Some(cached) if **cached == *text => Arc::clone(cached),
        _ => Arc::clone(cache.insert(Arc::from(text))),
    }
}

fn optional_uuid(row: &Row<'_>, column: usize) -> Result<Option<Uuid>, ()> {
    match row.get_ref(column).map_err(|_| ())?.as_blob_or_null() {
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => Uuid::from_slice(bytes).map(Some).map_err(|_| ()),
        Err(_) => Err(()),
    }
}
