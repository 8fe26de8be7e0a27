//! [`StoreAdmin`] for the in-memory store: every answer comes from the log under its lock.

use std::sync::{Arc, PoisonError};

use super::{InMemoryEventStore, intern};
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
        let mut names: Vec<&Arc<str>> = log
            .streams
            .keys()
            .filter(|name| name.starts_with(prefix) && ***name > *after)
            .collect();
        names.sort_unstable();
        Ok(names
            .into_iter()
            .take(limit)
            .map(|name| {
                let indexes = &log.streams[name];
                let last = &log.events[indexes[indexes.len() - 1]];
                StreamSummary {
                    stream: name.to_string(),
                    version: indexes.len() as u64,
                    last_position: last.position,
                    last_timestamp: last.metadata.timestamp,
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
        for event in &log.events {
            *names.entry(&event.name).or_default() += 1;
        }
        Ok(StoreStats {
            events: log.events.len() as u64,
            head: log.events.len() as u64,
            streams: log.streams.len() as u64,
            payload_bytes: log.events.iter().map(|e| e.payload.len() as u64).sum(),
            first_timestamp: log.events.first().map(|e| e.metadata.timestamp),
            last_timestamp: log.events.last().map(|e| e.metadata.timestamp),
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
        check_import(&events, log.events.len() as u64, |stream| {
            Ok(log.version(stream))
        })?;
        if let Some(stored) = events.iter().find_map(|e| log.ids.get(&e.id)) {
            let stored = &log.events[*stored];
            return Err(Error::DuplicateEvent {
                event_id: stored.id,
                stream: stored.stream.to_string(),
                version: stored.version,
            });
        }
        for event in events {
            let index = log.events.len();
            let stream = match log.streams.get_key_value(&*event.stream) {
                Some((shared, _)) => Arc::clone(shared),
                None => event.stream,
            };
            log.streams
                .entry(Arc::clone(&stream))
                .or_default()
                .push(index);
            log.ids.insert(event.id, index);
            let name = intern(&mut log.names, &event.name);
            log.events.push(RecordedEvent {
                stream,
                name,
                ..event
            });
        }
        let head = log.events.len() as u64;
        self.publish(head);
        Ok(head)
    }
}
