//! Hydrating an aggregate: the events appended after the cached version (or after the newest
//! snapshot, for a new entry), folded into its state straight from the store's records.

use crate::aggregate::Aggregate;
use crate::codec::Codec;
use crate::error::Error;
use crate::store::EventStore;

use super::App;
use super::cache::Hydrated;

/// How many events a replay reads per round trip.
pub(super) const REPLAY_BATCH: usize = 1024;

impl<S: EventStore, C: Codec> App<S, C> {
    /// Applies the events appended after the cached version: for a new entry, those after its
    /// newest snapshot, or all of them.
    pub(super) async fn catch_up<A: Aggregate>(
        &self,
        stream: &str,
        hydrated: &mut Hydrated<A>,
    ) -> Result<(), Error> {
        if !hydrated.restored {
            hydrated.restored = true;
            self.restore(stream, hydrated).await?;
        }
        loop {
            let from = hydrated.version + 1;
            let codec = &self.inner.codec;
            let read = self
                .inner
                .store
                .fold_stream(stream, from, REPLAY_BATCH, &mut |replayed| {
                    let event: A::Event = replayed.decode(codec)?;
                    hydrated.apply(stream, &event, replayed.version)
                })
                .await?;
            if read < REPLAY_BATCH {
                hydrated.fresh = true;
                self.snapshot_if_due(stream, hydrated);
                return Ok(());
            }
        }
    }
}
