//! [`StoreAdmin`] for PostgreSQL: counts and lists in plain queries, the import in one
//! transaction under the append lock row, so it takes its place in the global order like an
//! append and wakes listeners the same way.

use bytes::Bytes;
use tokio_postgres::IsolationLevel;
use uuid::Uuid;

use super::PostgresEventStore;
use super::error::{PgError, db, to_bigint};
use super::listen::advance;
use super::row::to_u64;
use super::writer::extra_json;
use crate::error::Error;
use crate::record::{RecordedEvent, Snapshot, Timestamp};
use crate::store::{StoreAdmin, StoreStats, StoredSnapshot, StreamSummary, check_import};

/// Streams in the order of the `(stream, version)` index (the database's collation), found by
/// walking the index from name to next name (one probe per stream, not a scan of every event),
/// each with its last event. Under a byte-order collation (C, POSIX, C.UTF-8: what the store's
/// scripts create) the names with the prefix are contiguous, so the walk stops at the first
/// name past them; under another (`en_US`, ICU) they need not be, so it walks on to the end of
/// the index and the filter drops the others.
const STREAMS: &str = "WITH RECURSIVE bytewise(yes) AS ( \
         SELECT (to_jsonb(d) ->> 'datlocprovider') IS DISTINCT FROM 'i' \
             AND d.datcollate IN ('C', 'POSIX', 'C.UTF-8', 'C.utf8') \
         FROM pg_database d WHERE d.datname = current_database()), \
     walk(stream) AS ( \
         (SELECT stream FROM es_events WHERE stream >= $1 AND stream > $2 \
          ORDER BY stream LIMIT 1) \
         UNION ALL \
         SELECT (SELECT e.stream FROM es_events e WHERE e.stream > w.stream \
                 ORDER BY e.stream LIMIT 1) \
         FROM walk w WHERE w.stream IS NOT NULL \
             AND (starts_with(w.stream, $1) OR NOT (SELECT yes FROM bytewise))) \
     SELECT w.stream, l.version, l.position, l.timestamp_us FROM walk w \
     CROSS JOIN LATERAL (SELECT version, position, timestamp_us FROM es_events e \
         WHERE e.stream = w.stream ORDER BY version DESC LIMIT 1) l \
     WHERE w.stream IS NOT NULL AND starts_with(w.stream, $1) LIMIT $3";

const STATS: &str = "SELECT count(*), coalesce(max(position), 0), count(DISTINCT stream), \
     coalesce(sum(octet_length(payload)), 0)::bigint, \
     (SELECT timestamp_us FROM es_events ORDER BY position LIMIT 1), \
     (SELECT timestamp_us FROM es_events ORDER BY position DESC LIMIT 1), \
     (SELECT count(*) FROM es_snapshots), (SELECT count(*) FROM es_checkpoints) \
     FROM es_events";

const NAMES: &str = "SELECT name, count(*) FROM es_events GROUP BY name ORDER BY name";

const CHECKPOINTS: &str = "SELECT name, position FROM es_checkpoints ORDER BY name COLLATE \"C\"";

const SNAPSHOTS: &str = "SELECT stream, version, schema_version, payload FROM es_snapshots \
     WHERE (stream COLLATE \"C\", version) > ($1, $2) \
     ORDER BY stream COLLATE \"C\", version LIMIT $3";

const LOCK: &str = "SELECT FROM es_append_lock WHERE id = 1 FOR UPDATE";

const HEAD: &str = "SELECT coalesce(max(position), 0) FROM es_events";

const VERSIONS: &str = "SELECT s.stream, coalesce((SELECT e.version FROM es_events e \
     WHERE e.stream = s.stream ORDER BY e.version DESC LIMIT 1), 0) \
     FROM unnest($1::text[]) AS s(stream)";

const STORED_ID: &str = "SELECT id, stream, version FROM es_events WHERE id = ANY ($1) LIMIT 1";

const INSERT: &str = "INSERT INTO es_events (position, stream, version, id, name, \
     schema_version, payload, timestamp_us, correlation_id, causation_id, extra) \
     SELECT u.position, u.stream, u.version, u.id, u.name, u.schema_version, u.payload, \
     u.timestamp_us, u.correlation_id, u.causation_id, u.extra::jsonb \
     FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::integer[], \
     $7::bytea[], $8::bigint[], $9::uuid[], $10::uuid[], $11::text[]) \
     AS u(position, stream, version, id, name, schema_version, payload, timestamp_us, \
     correlation_id, causation_id, extra)";

const NOTIFY: &str = "SELECT pg_notify(left('es_head:' || current_schema(), 63), $1::text)";

#[async_trait::async_trait]
impl StoreAdmin for PostgresEventStore {
    async fn streams(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<StreamSummary>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let rows = client
            .query(STREAMS, &[&prefix, &after, &limit])
            .await
            .map_err(db)?;
        rows.iter()
            .map(|row| {
                let position: i64 = row.try_get(2).map_err(db)?;
                Ok(StreamSummary {
                    stream: row.try_get(0).map_err(db)?,
                    version: to_u64(row.try_get(1).map_err(db)?, position, "negative version")?,
                    last_position: to_u64(position, position, "negative position")?,
                    last_timestamp: Timestamp(row.try_get(3).map_err(db)?),
                })
            })
            .collect()
    }

    async fn last_position(&self) -> Result<u64, Error> {
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let head: i64 = client
            .query_one(HEAD, &[])
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        to_u64(head, head, "negative position")
    }

    async fn stats(&self) -> Result<StoreStats, Error> {
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let row = client.query_one(STATS, &[]).await.map_err(db)?;
        let count = |index: usize| -> Result<u64, Error> {
            Ok(u64::try_from(row.try_get::<_, i64>(index).map_err(db)?).unwrap_or(0))
        };
        let timestamp = |index: usize| -> Result<Option<Timestamp>, Error> {
            Ok(row
                .try_get::<_, Option<i64>>(index)
                .map_err(db)?
                .map(Timestamp))
        };
        let names = client.query(NAMES, &[]).await.map_err(db)?;
        Ok(StoreStats {
            events: count(0)?,
            head: count(1)?,
            streams: count(2)?,
            payload_bytes: count(3)?,
            first_timestamp: timestamp(4)?,
            last_timestamp: timestamp(5)?,
            names: names
                .iter()
                .map(|row| {
                    let count: i64 = row.try_get(1).map_err(db)?;
                    Ok((
                        row.try_get(0).map_err(db)?,
                        u64::try_from(count).unwrap_or(0),
                    ))
                })
                .collect::<Result<_, Error>>()?,
            snapshots: count(6)?,
            checkpoints: count(7)?,
        })
    }

    async fn checkpoints(&self) -> Result<Vec<(String, u64)>, Error> {
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let rows = client.query(CHECKPOINTS, &[]).await.map_err(db)?;
        rows.iter()
            .map(|row| {
                let position: i64 = row.try_get(1).map_err(db)?;
                Ok((
                    row.try_get(0).map_err(db)?,
                    to_u64(position, 0, "negative checkpoint")?,
                ))
            })
            .collect()
    }

    async fn snapshots(
        &self,
        after: Option<(&str, u64)>,
        limit: usize,
    ) -> Result<Vec<StoredSnapshot>, Error> {
        // ("", -1) sorts before every stored snapshot.
        let (stream, version) = match after {
            Some((stream, version)) => (stream, to_bigint("snapshot version", version)?),
            None => ("", -1),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.inner.pool.get().await.map_err(PgError::from)?;
        let rows = client
            .query(SNAPSHOTS, &[&stream, &version, &limit])
            .await
            .map_err(db)?;
        rows.iter()
            .map(|row| {
                let stream: String = row.try_get(0).map_err(db)?;
                let version: i64 = row.try_get(1).map_err(db)?;
                let schema_version: i32 = row.try_get(2).map_err(db)?;
                let payload: &[u8] = row.try_get(3).map_err(db)?;
                let corrupt = |what| PgError::CorruptSnapshot {
                    stream: stream.clone(),
                    version,
                    what,
                };
                Ok(StoredSnapshot {
                    snapshot: Snapshot {
                        version: u64::try_from(version).map_err(|_| corrupt("negative version"))?,
                        schema_version: u16::try_from(schema_version)
                            .map_err(|_| corrupt("schema version out of range"))?,
                        payload: Bytes::copy_from_slice(payload),
                    },
                    stream,
                })
            })
            .collect()
    }

    async fn import(&self, events: Vec<RecordedEvent>) -> Result<u64, Error> {
        let mut client = self.inner.pool.get().await.map_err(PgError::from)?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(db)?;
        // As a group commit does: a client that stalls while holding the lock (a suspended
        // copy, a cut network) holds up every append only this long.
        tx.batch_execute("SET LOCAL idle_in_transaction_session_timeout = '5s'")
            .await
            .map_err(db)?;
        // The lock first: the head and the versions read after it stay true until commit.
        tx.execute(LOCK, &[]).await.map_err(db)?;
        let head: i64 = tx
            .query_one(HEAD, &[])
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        let head = to_u64(head, head, "negative position")?;
        let Some(last) = events.last().map(|event| event.position) else {
            return Ok(head);
        };
        let mut streams: Vec<&str> = events.iter().map(|event| &*event.stream).collect();
        streams.sort_unstable();
        streams.dedup();
        let stored: std::collections::HashMap<String, i64> = tx
            .query(VERSIONS, &[&streams])
            .await
            .map_err(db)?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(db)?;
        check_import(&events, head, |stream| {
            let version = stored.get(stream).copied().unwrap_or(0);
            to_u64(version, 0, "negative version")
        })?;
        let ids: Vec<Uuid> = events.iter().map(|event| event.id).collect();
        if let Some(row) = tx.query_opt(STORED_ID, &[&ids]).await.map_err(db)? {
            let version: i64 = row.try_get(2).map_err(db)?;
            return Err(Error::DuplicateEvent {
                event_id: row.try_get(0).map_err(db)?,
                stream: row.try_get(1).map_err(db)?,
                version: to_u64(version, 0, "negative version")?,
            });
        }
        insert(&tx, &events).await?;
        tx.execute(NOTIFY, &[&last.to_string()]).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        // This instance's readers need not wait for the notification to come back.
        advance(&self.inner.head, to_bigint("position", last)?);
        Ok(last)
    }
}

/// Inserts `events` (checked) in one statement, column by column.
async fn insert(
    tx: &tokio_postgres::Transaction<'_>,
    events: &[RecordedEvent],
) -> Result<(), Error> {
    let bigints = |value: fn(&RecordedEvent) -> u64, what| {
        events
            .iter()
            .map(|event| to_bigint(what, value(event)))
            .collect::<Result<Vec<i64>, Error>>()
    };
    let positions = bigints(|event| event.position, "position")?;
    let versions = bigints(|event| event.version, "version")?;
    let streams: Vec<&str> = events.iter().map(|e| &*e.stream).collect();
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let names: Vec<&str> = events.iter().map(|e| &*e.name).collect();
    let schema_versions: Vec<i32> = events.iter().map(|e| i32::from(e.schema_version)).collect();
    let payloads: Vec<&[u8]> = events.iter().map(|e| &e.payload[..]).collect();
    let timestamps: Vec<i64> = events.iter().map(|e| e.metadata.timestamp.0).collect();
    let correlations: Vec<Option<Uuid>> =
        events.iter().map(|e| e.metadata.correlation_id).collect();
    let causations: Vec<Option<Uuid>> = events.iter().map(|e| e.metadata.causation_id).collect();
    let extras: Vec<Option<String>> = events.iter().map(|e| extra_json(&e.metadata)).collect();
    tx.execute(
        INSERT,
        &[
            &positions,
            &streams,
            &versions,
            &ids,
            &names,
            &schema_versions,
            &payloads,
            &timestamps,
            &correlations,
            &causations,
            &extras,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}
