//! Snapshots of aggregates: a new cache entry starts from the stream's newest snapshot, and a
//! snapshot is saved every `snapshot_every` events, in the background.

use std::sync::Arc;

use crate::aggregate::Aggregate;
use crate::codec::Codec;
use crate::error::Error;
use crate::record::Snapshot;
use crate::store::EventStore;

use super::App;
use super::cache::Hydrated;

impl<S: EventStore, C: Codec> App<S, C> {
    /// Starts a new entry from the stream's newest snapshot, when the aggregate takes snapshots
    /// and one of its schema version decodes; otherwise leaves it empty, to be replayed.
    pub(super) async fn restore<A: Aggregate>(
        &self,
        stream: &str,
        hydrated: &mut Hydrated<A>,
    ) -> Result<(), Error> {
        let Some(policy) = A::SNAPSHOT else {
            return Ok(());
        };
        let Some(snapshot) = self.inner.store.load_snapshot(stream, u64::MAX).await? else {
            return Ok(());
        };
        if snapshot.schema_version != policy.schema_version {
            tracing::debug!(
                snapshot = snapshot.version,
                schema_version = snapshot.schema_version,
                "snapshot of another schema version; replaying the stream"
            );
            return Ok(());
        }
        match A::decode_snapshot(&self.inner.codec, &snapshot.payload) {
            Some(Ok(state)) => {
                hydrated.state = state;
                hydrated.version = snapshot.version;
                hydrated.snapshot_version = snapshot.version;
            }
            Some(Err(error)) => tracing::warn!(
                snapshot = snapshot.version,
                error = %error,
                "cannot decode the snapshot of stream `{stream}` at version {}; replaying the stream",
                snapshot.version
            ),
            None => {}
        }
        Ok(())
    }

    /// Saves a snapshot of the state when the stream has grown by the aggregate's `every`
    /// events since the last one. The save runs in its own task: a snapshot is a cache, so the
    /// command neither waits for it nor fails with it.
    pub(super) fn snapshot_if_due<A: Aggregate>(&self, stream: &str, hydrated: &mut Hydrated<A>) {
        let Some(policy) = A::SNAPSHOT else {
            return;
        };
        if !snapshot_due(hydrated.version, hydrated.snapshot_version, policy.every) {
            return;
        }
        // Marked as taken either way: a state that does not serialize is not retried per event.
        hydrated.snapshot_version = hydrated.version;
        match hydrated.state.encode_snapshot(&self.inner.codec) {
            Some(Ok(payload)) => {
                let snapshot = Snapshot {
                    version: hydrated.version,
                    schema_version: policy.schema_version,
                    payload: payload.into(),
                };
                let inner = Arc::clone(&self.inner);
                let stream = stream.to_owned();
                tokio::spawn(async move {
                    let version = snapshot.version;
                    if let Err(error) = inner.store.save_snapshot(&stream, snapshot).await {
                        tracing::warn!(
                            error = %error,
                            "cannot save the snapshot of stream `{stream}` at version {version}"
                        );
                    }
                });
            }
            Some(Err(error)) => tracing::warn!(
                error = %error,
                "cannot serialize the state of stream `{stream}` for a snapshot"
            ),
            None => {}
        }
    }
}

/// Whether a state at `version` is due a snapshot when the last one is at `last`: after
/// `every` events (0 means every event), never before.
fn snapshot_due(version: u64, last: u64, every: u64) -> bool {
    version >= last.saturating_add(every.max(1))
}

#[cfg(test)]
mod tests {
    use super::snapshot_due;

    #[test]
    fn a_snapshot_is_due_every_n_events_after_the_last() {
        assert!(
            !snapshot_due(0, 0, 10),
            "an empty stream has nothing to snapshot"
        );
        assert!(!snapshot_due(9, 0, 10));
        assert!(snapshot_due(10, 0, 10));
        assert!(!snapshot_due(19, 10, 10));
        assert!(
            snapshot_due(25, 10, 10),
            "a catch-up that jumps past the mark"
        );
        assert!(snapshot_due(1, 0, 0), "every 0 events means every event");
        assert!(
            !snapshot_due(u64::MAX - 1, u64::MAX - 5, 10),
            "the mark saturates instead of wrapping to a due snapshot"
        );
    }
}
