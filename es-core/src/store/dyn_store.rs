//! The object-safe companion of [`EventStore`], for stores chosen at run time.

use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent};
use crate::store::{AppendResult, EventStore, ExpectedVersion};

/// [`EventStore`] behind a pointer: `dyn DynEventStore` (and so `Arc<dyn DynEventStore>`)
/// implements [`EventStore`] again, so
/// a store picked at run time (`--database sqlite:..` or `postgres://..`) plugs in anywhere.
#[async_trait::async_trait]
pub trait DynEventStore: Send + Sync + 'static {
    /// See [`EventStore::append`].
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error>;
    /// See [`EventStore::read_stream`].
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error>;
    /// See [`EventStore::read_all`].
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error>;
    /// See [`EventStore::stream_version`].
    async fn stream_version(&self, stream: &str) -> Result<u64, Error>;
    /// See [`EventStore::head`].
    fn head(&self) -> tokio::sync::watch::Receiver<u64>;
}

#[async_trait::async_trait]
impl<S: EventStore> DynEventStore for S {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        EventStore::append(self, stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        EventStore::read_stream(self, stream, from, limit).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        EventStore::read_all(self, after, limit).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        EventStore::stream_version(self, stream).await
    }
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        EventStore::head(self)
    }
}

impl EventStore for dyn DynEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        DynEventStore::append(self, stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        DynEventStore::read_stream(self, stream, from, limit).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        DynEventStore::read_all(self, after, limit).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        DynEventStore::stream_version(self, stream).await
    }
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        DynEventStore::head(self)
    }
}
