//! [`StoreAdmin`] for the in-memory store: every answer comes from the log under its lock.

use std::sync::{Arc, PoisonError};

use super::InMemoryEventStore;
use crate::error::Error;
use crate::record::RecordedEvent;
use crate::store::{StoreAdmin, StoreStats, StoredSnapshot, StreamSummary, check_import};

#[async_trait::async_trait]
impl StoreAdmin for InMemoryEventStore {
    async fn streams(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<StreamSummary>, Error> {
        let log = self.read();
        let mut streams: Vec<(&Arc<str>, &[u32])> = log
            .streams()
            .filter(|(name, _)| name.starts_with(prefix) && ***name > *after)
            .collect();
        streams.sort_unstable_by_key(|(name, _)| *name);
        Ok(streams
            .into_iter()
            .take(limit)
            .map(|(name, indexes)| {
                let last = indexes[indexes.len() - 1] as usize;
                StreamSummary {
                    stream: name.to_string(),
                    version: indexes.len() as u64,
                    last_position: last as u64 + 1,
                    last_timestamp: log.timestamp(last),
                }
            })
            .collect())
    }

    async fn last_position(&self) -> Result<u64, Error> {
        Ok(self.len() as u64)
    }

    async fn stats(&self) -> Result<StoreStats, Error> {
        let (snapshots, checkpoints) = {
            let derived = self.derived();
            let snapshots = derived
                .snapshots
                .values()
                .map(std::collections::BTreeMap::len);
            (
                snapshots.sum::<usize>() as u64,
                derived.checkpoints.len() as u64,
            )
        };
        let log = self.read();
        let mut names = std::collections::BTreeMap::<&str, u64>::new();
        let mut payload_bytes = 0;
        for (name, size) in log.names_and_sizes() {
            *names.entry(name).or_default() += 1;
            payload_bytes += size as u64;
        }
        let last = log.len().checked_sub(1);
        Ok(StoreStats {
            events: log.len() as u64,
            head: log.len() as u64,
            streams: log.streams().count() as u64,
            payload_bytes,
            first_timestamp: last.map(|_| log.timestamp(0)),
            last_timestamp: last.map(|last| log.timestamp(last)),
            names: names.into_iter().map(|(n, c)| (n.to_owned(), c)).collect(),
            snapshots,
            checkpoints,
        })
    }

    async fn checkpoints(&self) -> Result<Vec<(String, u64)>, Error> {
        let mut all: Vec<_> = self
            .derived()
            .checkpoints
            .iter()
            .map(|(name, &position)| (name.clone(), position))
            .collect();
        all.sort_unstable();
        Ok(all)
    }

    async fn snapshots(
        &self,
        after: Option<(&str, u64)>,
        limit: usize,
    ) -> Result<Vec<StoredSnapshot>, Error> {
        let derived = self.derived();
        let mut all: Vec<StoredSnapshot> = derived
            .snapshots
            .iter()
            .flat_map(|(stream, by_version)| {
                by_version.values().map(|snapshot| StoredSnapshot {
                    stream: stream.clone(),
                    snapshot: snapshot.clone(),
                })
            })
            .filter(|s| after.is_none_or(|after| (s.stream.as_str(), s.snapshot.version) > after))
            .collect();
        all.sort_unstable_by(|a, b| {
            (&a.stream, a.snapshot.version).cmp(&(&b.stream, b.snapshot.version))
        });
        all.truncate(limit);
        Ok(all)
    }

    async fn import(&self, events: Vec<RecordedEvent>) -> Result<u64, Error> {
        let mut log = self
            .inner
            .log
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        check_import(&events, log.len() as u64, |stream| Ok(log.version(stream)))?;
        log.check_import_room(events.len())?;
        if let Some((stored, event_id)) = events
            .iter()
            .find_map(|e| log.find(e.id).map(|index| (index, e.id)))
        {
            let (stream, version) = log.place(stored);
            return Err(Error::DuplicateEvent {
                event_id,
                stream: stream.to_string(),
                version,
            });
        }
        for event in events {
            log.import(event);
        }
        let head = log.len() as u64;
        self.publish(head);
        Ok(head)
    }
}
