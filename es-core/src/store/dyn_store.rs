//! The object-safe companion of [`EventStore`], for stores chosen at run time.

use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent, Snapshot};
use crate::store::{AppendResult, EventStore, ExpectedVersion, StreamAppend};

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
    /// See [`EventStore::append_streams`].
    async fn append_streams(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error>;
    /// See [`EventStore::read_stream`].
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error>;
    /// See [`EventStore::fold_stream`]. (`for<'r>` spelled out: `async_trait` would give the
    /// record one fixed lifetime.)
    async fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn for<'r> FnMut(&'r RecordedEvent) -> Result<(), Error> + Send),
    ) -> Result<usize, Error>;
    /// See [`EventStore::read_all`].
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error>;
    /// See [`EventStore::stream_version`].
    async fn stream_version(&self, stream: &str) -> Result<u64, Error>;
    /// See [`EventStore::find_event`].
    async fn find_event(&self, id: uuid::Uuid) -> Result<Option<RecordedEvent>, Error>;
    /// See [`EventStore::head`].
    fn head(&self) -> tokio::sync::watch::Receiver<u64>;
    /// See [`EventStore::save_snapshot`].
    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error>;
    /// See [`EventStore::load_snapshot`].
    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error>;
    /// See [`EventStore::save_checkpoint`].
    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error>;
    /// See [`EventStore::load_checkpoint`].
    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error>;
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
    async fn append_streams(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        EventStore::append_streams(self, parts).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        EventStore::read_stream(self, stream, from, limit).await
    }
    async fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn for<'r> FnMut(&'r RecordedEvent) -> Result<(), Error> + Send),
    ) -> Result<usize, Error> {
        EventStore::fold_stream(self, stream, from, limit, each).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        EventStore::read_all(self, after, limit).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        EventStore::stream_version(self, stream).await
    }
    async fn find_event(&self, id: uuid::Uuid) -> Result<Option<RecordedEvent>, Error> {
        EventStore::find_event(self, id).await
    }
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        EventStore::head(self)
    }
    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        EventStore::save_snapshot(self, stream, snapshot).await
    }
    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error> {
        EventStore::load_snapshot(self, stream, max_version).await
    }
    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        EventStore::save_checkpoint(self, name, position).await
    }
    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error> {
        EventStore::load_checkpoint(self, name).await
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
    async fn append_streams(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        DynEventStore::append_streams(self, parts).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        DynEventStore::read_stream(self, stream, from, limit).await
    }
    async fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn for<'r> FnMut(&'r RecordedEvent) -> Result<(), Error> + Send),
    ) -> Result<usize, Error> {
        DynEventStore::fold_stream(self, stream, from, limit, each).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        DynEventStore::read_all(self, after, limit).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        DynEventStore::stream_version(self, stream).await
    }
    async fn find_event(&self, id: uuid::Uuid) -> Result<Option<RecordedEvent>, Error> {
        DynEventStore::find_event(self, id).await
    }
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        DynEventStore::head(self)
    }
    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        DynEventStore::save_snapshot(self, stream, snapshot).await
    }
    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error> {
        DynEventStore::load_snapshot(self, stream, max_version).await
    }
    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        DynEventStore::save_checkpoint(self, name, position).await
    }
    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error> {
        DynEventStore::load_checkpoint(self, name).await
    }
}
