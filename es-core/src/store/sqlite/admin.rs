//! [`StoreAdmin`] for SQLite: counts and lists from the read connections, the import through the
//! single writer, so it commits in the global order like an append.

use std::sync::Arc;

use rusqlite::{Connection, ErrorCode, OptionalExtension};

use super::SqliteEventStore;
use super::error::{SqliteError, to_sql_int};
use super::row::snapshot;
use super::writer::{INSERT, Row, insert_row, read_head, stored_u64, stream_version};
use crate::error::Error;
use crate::record::{RecordedEvent, Timestamp};
use crate::store::{StoreAdmin, StoreStats, StoredSnapshot, StreamSummary, check_import};

#[async_trait::async_trait]
impl StoreAdmin for SqliteEventStore {
    async fn streams(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<StreamSummary>, Error> {
        let (prefix, after) = (prefix.to_owned(), after.to_owned());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            // The bare columns take the values of the row with the greatest version. Names with
            // the prefix are contiguous in byte order: the index range ends below the prefix
            // followed by the greatest character, so a short last page does not read on to the
            // end of the log (a name with that noncharacter right after the prefix is missed).
            let mut statement = conn.prepare_cached(
                "SELECT stream, MAX(version), position, timestamp FROM events \
                 WHERE stream >= ?1 AND stream > ?2 \
                 AND (?1 = '' OR stream < ?1 || char(1114111)) \
                 AND substr(stream, 1, length(?1)) = ?1 \
                 GROUP BY stream ORDER BY stream LIMIT ?3",
            )?;
            let rows = statement.query_map((&prefix, &after, limit), |row| {
                Ok(StreamSummary {
                    stream: row.get(0)?,
                    version: stored_u64(row.get(1)?),
                    last_position: stored_u64(row.get(2)?),
                    last_timestamp: Timestamp(row.get(3)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn last_position(&self) -> Result<u64, Error> {
        self.read(read_head).await
    }

    async fn stats(&self) -> Result<StoreStats, Error> {
        self.read(|conn| {
            // One read transaction: every total from the same state of the log.
            let conn = &conn.unchecked_transaction()?;
            let count = |sql: &str| -> Result<u64, SqliteError> {
                Ok(stored_u64(conn.query_row(sql, [], |row| row.get(0))?))
            };
            let timestamp = |sql: &str| -> Result<Option<Timestamp>, SqliteError> {
                Ok(conn
                    .query_row(sql, [], |row| row.get(0))
                    .optional()?
                    .map(Timestamp))
            };
            let mut names = conn.prepare("SELECT name, COUNT(*) FROM events GROUP BY name")?;
            let names = names
                .query_map([], |row| Ok((row.get(0)?, stored_u64(row.get(1)?))))?
                .collect::<Result<_, _>>()?;
            Ok(StoreStats {
                events: count("SELECT COUNT(*) FROM events")?,
                head: read_head(conn)?,
                streams: count("SELECT COUNT(DISTINCT stream) FROM events")?,
                payload_bytes: count("SELECT COALESCE(SUM(length(payload)), 0) FROM events")?,
                first_timestamp: timestamp(
                    "SELECT timestamp FROM events ORDER BY position LIMIT 1",
                )?,
                last_timestamp: timestamp(
                    "SELECT timestamp FROM events ORDER BY position DESC LIMIT 1",
                )?,
                names,
                snapshots: count("SELECT COUNT(*) FROM snapshots")?,
                checkpoints: count("SELECT COUNT(*) FROM checkpoints")?,
            })
        })
        .await
    }

    async fn checkpoints(&self) -> Result<Vec<(String, u64)>, Error> {
        self.read(|conn| {
            let mut statement =
                conn.prepare_cached("SELECT name, position FROM checkpoints ORDER BY name")?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, stored_u64(row.get(1)?))))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn snapshots(
        &self,
        after: Option<(&str, u64)>,
        limit: usize,
    ) -> Result<Vec<StoredSnapshot>, Error> {
        // ("", -1) sorts before every stored snapshot.
        let (stream, version) = match after {
            Some((stream, version)) => (stream.to_owned(), to_sql_int("version", version)?),
            None => (String::new(), -1),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT stream, version, schema_version, payload FROM snapshots \
                 WHERE (stream, version) > (?1, ?2) ORDER BY stream, version LIMIT ?3",
            )?;
            let mut rows = statement.query((&stream, version, limit))?;
            let mut snapshots = Vec::new();
            while let Some(row) = rows.next()? {
                let stream: String = row.get(0)?;
                let snapshot = snapshot(row, 1, &stream)?;
                snapshots.push(StoredSnapshot { stream, snapshot });
            }
            Ok(snapshots)
        })
        .await
    }

    async fn import(&self, events: Vec<RecordedEvent>) -> Result<u64, Error> {
        let Some(last) = events.last().map(|event| event.position) else {
            return self.last_position().await;
        };
        let events = Arc::new(events);
        self.write_request(Box::new(move |conn| import(conn, &events)), true)
            .await?;
        Ok(last)
    }
}

/// Checks `events` against the log as the writer's transaction sees it, and inserts them.
fn import(conn: &Connection, events: &[RecordedEvent]) -> Result<(), SqliteError> {
    let head = read_head(conn)?;
    check_import(events, head, |stream| Ok(stream_version(conn, stream)?))
        .map_err(SqliteError::Refused)?;
    let mut statement = conn.prepare_cached(INSERT)?;
    for event in events {
        let row = Row {
            position: event.position,
            stream: &event.stream,
            version: event.version,
            id: event.id,
            name: &event.name,
            schema_version: event.schema_version,
            payload: &event.payload,
            metadata: &event.metadata,
        };
        match insert_row(&mut statement, &row) {
            Err(SqliteError::Sqlite(error))
                if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) =>
            {
                // The checks leave one constraint to fail: an id stored before.
                return Err(SqliteError::Refused(duplicate(conn, event)?));
            }
            other => other?,
        }
    }
    Ok(())
}

/// The error naming where `event`'s id is already stored.
fn duplicate(conn: &Connection, event: &RecordedEvent) -> Result<Error, SqliteError> {
    let stored = conn
        .query_row(
            "SELECT stream, version FROM events WHERE event_id = ?1",
            [&event.id.as_bytes()[..]],
            |row| Ok((row.get::<_, String>(0)?, stored_u64(row.get(1)?))),
        )
        .optional()?;
    let (stream, version) = stored.unwrap_or_else(|| (event.stream.to_string(), event.version));
    Ok(Error::DuplicateEvent {
        stream,
        version,
        event_id: event.id,
    })
}
