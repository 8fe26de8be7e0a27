//! Following the global log: catch up from a position, then wait for new appends.

use std::collections::VecDeque;
use std::time::Duration;

use crate::error::Error;
use crate::record::RecordedEvent;
use crate::store::EventStore;

/// How many events a subscription reads per round trip.
const BATCH: usize = 512;

/// A reader of the global log that catches up from a position and then follows live appends,
/// each event exactly once, in order.
///
/// It waits on the store's [`head`](EventStore::head) hint and polls every `poll_interval` as a
/// fallback, so appends the hint missed (another process, a dropped notification) are found late
/// but never lost.
#[derive(Debug)]
pub struct Subscription<S> {
    store: S,
    after: u64,
    buffer: VecDeque<RecordedEvent>,
    head: tokio::sync::watch::Receiver<u64>,
    poll_interval: Duration,
}

impl<S: EventStore> Subscription<S> {
    /// Follows `store` from the first event after position `after` (0: from the start).
    pub fn new(store: S, after: u64) -> Self {
        let head = store.head();
        Self {
            store,
            after,
            buffer: VecDeque::new(),
            head,
            poll_interval: Duration::from_millis(500),
        }
    }

    /// Sets how long to wait for a hint before reading anyway (default 500 ms, at least 1 ms).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The position of the last event handed out (or the starting position).
    pub fn position(&self) -> u64 {
        self.after
    }

    /// The next event of the global log, waiting for it if the reader has caught up.
    ///
    /// # Errors
    /// The store's read error; the subscription stays at its position, so calling again retries.
    pub async fn next(&mut self) -> Result<RecordedEvent, Error> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.after = event.position;
                return Ok(event);
            }
            // Mark the hint seen before reading, so an append racing the read wakes the wait.
            self.head.borrow_and_update();
            let batch = self.store.read_all(self.after, BATCH).await?;
            if batch.is_empty() {
                // A change or a timeout both lead to another read; a closed hint means polling.
                if let Ok(Err(_closed)) =
                    tokio::time::timeout(self.poll_interval, self.head.changed()).await
                {
                    tokio::time::sleep(self.poll_interval).await;
                }
            }
            self.buffer.extend(batch);
        }
    }
}
