//! Idempotency keys: a command sent again with a key already used on its stream gets the
//! original outcome back, found by the event ids derived from the key, and writes nothing.

use crate::aggregate::Aggregate;
use crate::codec::Codec;
use crate::error::Error;
use crate::record::NewEvent;
use crate::store::EventStore;

use super::metadata::idempotent_id;
use super::replay::REPLAY_BATCH;
use super::{App, Committed};

impl<S: EventStore, C: Codec> App<S, C> {
    /// The outcome of the command that used idempotency `key` on `stream` before, if one did:
    /// its events are found by the ids derived from the key.
    pub(super) async fn original_outcome<A: Aggregate>(
        &self,
        stream: &str,
        key: &str,
        retries: u32,
    ) -> Result<Option<Committed<A>>, Error> {
        let Some(first) = self
            .inner
            .store
            .find_event(idempotent_id(stream, key, 0))
            .await?
        else {
            return Ok(None);
        };
        let mut events = Vec::new();
        let mut last = None;
        let mut from = first.version;
        'read: loop {
            let records = self
                .inner
                .store
                .read_stream(stream, from, REPLAY_BATCH)
                .await?;
            for record in &records {
                if record.id != idempotent_id(stream, key, events.len()) {
                    break 'read;
                }
                events.push(record.decode(&self.inner.codec)?);
                last = Some((record.version, record.position));
            }
            if records.len() < REPLAY_BATCH {
                break;
            }
            from += REPLAY_BATCH as u64;
        }
        Ok(last.map(|(version, position)| Committed {
            stream: stream.to_owned(),
            events,
            version,
            position,
            retries,
            duplicate: true,
        }))
    }
}

/// Whether the events `store` holds after `version` of `stream` are those of `sent` (name and
/// payload): a keyed append that the store answered with an earlier append's result may find
/// another sender's events there.
pub(super) async fn stored_as_sent<S: EventStore>(
    store: &S,
    stream: &str,
    version: u64,
    sent: Option<&[NewEvent]>,
) -> Result<bool, Error> {
    let sent = sent.unwrap_or_default();
    let stored = store.read_stream(stream, version + 1, sent.len()).await?;
    Ok(stored.len() == sent.len()
        && stored
            .iter()
            .zip(sent)
            .all(|(stored, sent)| *stored.name == *sent.name && stored.payload == sent.payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ExpectedVersion, InMemoryEventStore};

    fn event(name: &'static str, payload: &'static str) -> NewEvent {
        NewEvent::new(name, 1, payload)
    }

    #[tokio::test]
    async fn a_keyed_append_is_ours_only_when_the_store_holds_what_was_sent() {
        let store = InMemoryEventStore::new();
        let ours = vec![event("Added", "1"), event("Added", "2")];
        store
            .append("s", ExpectedVersion::NoStream, vec![event("Opened", "0")])
            .await
            .unwrap();
        store
            .append("s", ExpectedVersion::Exact(1), ours.clone())
            .await
            .unwrap();
        assert!(stored_as_sent(&store, "s", 1, Some(&ours)).await.unwrap());
        let other_payload = vec![event("Added", "1"), event("Added", "3")];
        assert!(
            !stored_as_sent(&store, "s", 1, Some(&other_payload))
                .await
                .unwrap()
        );
        let other_name = vec![event("Added", "1"), event("Removed", "2")];
        assert!(
            !stored_as_sent(&store, "s", 1, Some(&other_name))
                .await
                .unwrap()
        );
        assert!(
            !stored_as_sent(&store, "s", 2, Some(&ours)).await.unwrap(),
            "the store holds less than was sent after that version"
        );
    }
}
