//! Decoding stored rows as they arrive: into records, with the stream and event names shared
//! between rows, or into the borrowed view a replay folds.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_core::Stream;
use tokio_postgres::{Row, RowStream};

use super::error::{PgError, db};
use crate::error::Error;
use crate::record::{Metadata, RecordedEvent, ReplayedEvent, Timestamp};

/// The next row of a streamed query, once the server has sent it; `None` after the last.
pub(super) async fn next_row(mut rows: Pin<&mut RowStream>) -> Result<Option<Row>, Error> {
    std::future::poll_fn(|cx| rows.as_mut().poll_next(cx))
        .await
        .transpose()
        .map_err(db)
}

/// A row of [`FOLD_STREAM`](super::sql::FOLD_STREAM) as the replay sees it: name and payload
/// borrowed from the row's bytes, nothing copied.
pub(super) fn replayed<'r>(row: &'r Row, stream: &'r str) -> Result<ReplayedEvent<'r>, Error> {
    let version: i64 = row.try_get(0).map_err(db)?;
    let corrupt = |what| PgError::CorruptEvent {
        stream: stream.to_owned(),
        version,
        what,
    };
    let schema_version: i32 = row.try_get(2).map_err(db)?;
    Ok(ReplayedEvent {
        stream,
        version: u64::try_from(version).map_err(|_| corrupt("negative version"))?,
        name: row.try_get(1).map_err(db)?,
        schema_version: u16::try_from(schema_version)
            .map_err(|_| corrupt("schema version out of range"))?,
        payload: row.try_get(3).map_err(db)?,
    })
}

pub(super) fn to_u64(value: i64, position: i64, what: &'static str) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| PgError::Corrupt { position, what }.into())
}

/// The stream and event names of the rows of one read, allocated once each: a read holds runs
/// of one stream and a handful of event names.
#[derive(Default)]
pub(super) struct SharedNames {
    stream: Option<Arc<str>>,
    names: Vec<Arc<str>>,
}

impl SharedNames {
    fn stream(&mut self, stream: &str) -> Arc<str> {
        match &self.stream {
            Some(last) if **last == *stream => Arc::clone(last),
            _ => Arc::clone(self.stream.insert(Arc::from(stream))),
        }
    }

    fn name(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.names.iter().find(|known| ***known == *name) {
            return Arc::clone(known);
        }
        let name: Arc<str> = Arc::from(name);
        // Bounded: a read of many distinct names searches a short list, then allocates.
        if self.names.len() < 16 {
            self.names.push(Arc::clone(&name));
        }
        name
    }
}

pub(super) fn recorded(row: &Row, shared: &mut SharedNames) -> Result<RecordedEvent, Error> {
    let position: i64 = row.try_get(0).map_err(db)?;
    let stream: &str = row.try_get(1).map_err(db)?;
    let version: i64 = row.try_get(2).map_err(db)?;
    let schema_version: i32 = row.try_get(5).map_err(db)?;
    let payload: &[u8] = row.try_get(6).map_err(db)?;
    let extra: Option<&str> = row.try_get(10).map_err(db)?;
    let extra = match extra {
        None => BTreeMap::new(),
        Some(json) => serde_json::from_str(json).map_err(|_| PgError::Corrupt {
            position,
            what: "metadata `extra` is not a map of strings",
        })?,
    };
    Ok(RecordedEvent {
        id: row.try_get(3).map_err(db)?,
        stream: shared.stream(stream),
        version: to_u64(version, position, "negative version")?,
        position: to_u64(position, position, "negative position")?,
        name: shared.name(row.try_get(4).map_err(db)?),
        schema_version: u16::try_from(schema_version).map_err(|_| PgError::Corrupt {
            position,
            what: "schema version out of range",
        })?,
        payload: Bytes::copy_from_slice(payload),
        metadata: Metadata {
            timestamp: Timestamp(row.try_get(7).map_err(db)?),
            correlation_id: row.try_get(8).map_err(db)?,
            causation_id: row.try_get(9).map_err(db)?,
            extra,
        },
    })
}
