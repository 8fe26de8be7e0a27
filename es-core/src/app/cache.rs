//! The bounded cache of hydrated aggregates, one lock per stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::aggregate::Aggregate;
use crate::error::{Error, catch_panic};
use crate::event::EventSet;

/// An aggregate's state as of a stream version.
pub(super) struct Hydrated<A> {
    pub(super) state: A,
    pub(super) version: u64,
    /// Whether `state` is known to be at the stream's head (false: read the tail first).
    pub(super) fresh: bool,
    /// The version of the newest snapshot known to be stored (loaded or saved); 0 for none.
    pub(super) snapshot_version: u64,
    /// Whether the newest snapshot was looked for: done once, before the first replay.
    pub(super) restored: bool,
    /// Set while `apply` runs, and from applying a command's events until their append is
    /// known stored. Still set when a command next takes the entry: `apply` panicked half-way,
    /// or the sending future was dropped before the append settled (a timeout, a client gone)
    /// and the store may not hold those events. The state is then rebuilt, not trusted.
    untrusted: bool,
}

impl<A: Aggregate> Hydrated<A> {
    fn empty() -> Self {
        Self {
            state: A::default(),
            version: 0,
            fresh: false,
            snapshot_version: 0,
            restored: false,
            untrusted: false,
        }
    }

    /// Applies a command's `events`, to be appended after the current version, before they are
    /// stored; [`settle`](Self::settle) once they are. A panic in `apply` comes back as its
    /// error and discards the state.
    pub(super) fn apply_unsettled(
        &mut self,
        stream: &str,
        events: &[A::Event],
    ) -> Result<(), Error> {
        self.untrusted = true;
        for (event, version) in events.iter().zip(self.version + 1..) {
            if let Err(error) = self.apply_one(stream, event, version) {
                self.discard();
                return Err(error);
            }
        }
        Ok(())
    }

    /// Marks the events applied by [`apply_unsettled`](Self::apply_unsettled) as stored.
    pub(super) fn settle(&mut self) {
        self.untrusted = false;
    }

    /// Applies `event`, recorded at `version`, to the state. A panic in the aggregate's
    /// `apply` comes back as an error naming the event, and leaves the entry untrusted: it is
    /// emptied (to be restored from the store) when next locked.
    pub(super) fn apply(
        &mut self,
        stream: &str,
        event: &A::Event,
        version: u64,
    ) -> Result<(), Error> {
        self.untrusted = true;
        self.apply_one(stream, event, version)?;
        self.untrusted = false;
        Ok(())
    }

    fn apply_one(&mut self, stream: &str, event: &A::Event, version: u64) -> Result<(), Error> {
        catch_panic(|| self.state.apply(event)).map_err(|source| Error::Apply {
            stream: stream.to_owned(),
            version,
            event: event.name().to_owned(),
            source,
        })?;
        self.version = version;
        Ok(())
    }

    /// Drops the state, so the next command restores it from the store: for a state that holds
    /// events the store may not have.
    pub(super) fn discard(&mut self) {
        *self = Self::empty();
    }
}

/// A lock per hydrated stream: commands to one stream queue on it, the rest run in parallel.
pub(super) type Entry<A> = Arc<tokio::sync::Mutex<Hydrated<A>>>;

/// Waits for the entry's lock; an entry left untrusted (by a panicking `apply`, or by a command
/// whose future was dropped before its append settled) comes back empty.
pub(super) async fn lock<A: Aggregate>(
    entry: &Entry<A>,
) -> tokio::sync::MutexGuard<'_, Hydrated<A>> {
    let mut hydrated = entry.lock().await;
    if hydrated.untrusted {
        *hydrated = Hydrated::empty();
    }
    hydrated
}

pub(super) struct Cache<A> {
    capacity: usize,
    /// std's `SipHash` on purpose: the names carry aggregate ids from outside, chosen keys.
    entries: Mutex<HashMap<String, Entry<A>>>,
}

impl<A: Aggregate> Cache<A> {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// The entry for `stream`, created empty (version 0, not fresh) when absent, or, with a
    /// capacity of 0 (no cache), when no command holds it.
    pub(super) fn entry(&self, stream: &str) -> Entry<A> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get(stream) {
            // With no cache, an entry is shared only while commands use it: one left idle
            // is forgotten, so the next command reads the stream.
            if self.capacity > 0 || Arc::strong_count(entry) > 1 {
                return Arc::clone(entry);
            }
        }
        if self.capacity == 0 {
            evict_idle(&mut entries, 0);
        } else if entries.len() >= self.capacity {
            evict_idle(&mut entries, self.capacity - self.capacity / 10 - 1);
        }
        let entry = Arc::new(tokio::sync::Mutex::new(Hydrated::empty()));
        entries.insert(stream.to_owned(), Arc::clone(&entry));
        entry
    }
}

/// Drops idle entries (no command holds them) until at most `keep` remain. Eviction is in
/// arbitrary order and done a tenth of the capacity at a time, so its scan is amortized; an
/// evicted aggregate is simply replayed (or restored from its snapshot) when next used.
fn evict_idle<A>(entries: &mut HashMap<String, Entry<A>>, keep: usize) {
    let mut excess = entries.len().saturating_sub(keep);
    entries.retain(|_, entry| {
        if excess > 0 && Arc::strong_count(entry) == 1 {
            excess -= 1;
            false
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_drops_only_idle_entries() {
        let mut entries: HashMap<String, Entry<()>> = (0..10)
            .map(|n| {
                (
                    n.to_string(),
                    Arc::new(tokio::sync::Mutex::new(Hydrated::empty_unit())),
                )
            })
            .collect();
        let in_use = Arc::clone(&entries["7"]);
        evict_idle(&mut entries, 0);
        assert_eq!(entries.keys().collect::<Vec<_>>(), ["7"]);
        drop(in_use);
        evict_idle(&mut entries, 1);
        assert_eq!(entries.len(), 1, "never below `keep`");
    }

    impl Hydrated<()> {
        fn empty_unit() -> Self {
            Self {
                state: (),
                version: 0,
                fresh: false,
                snapshot_version: 0,
                restored: false,
                untrusted: false,
            }
        }
    }
}
