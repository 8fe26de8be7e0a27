//! The object-safe companion of [`EventStore`], and [`AnyEventStore`]: a store chosen at run
//! time as one concrete type.

use std::sync::Arc;

use crate::error::Error;
use crate::record::{NewEvent, RecordedEvent, ReplayedEvent, Snapshot};
use crate::store::{AppendResult, EventStore, ExpectedVersion, StreamAppend};

/// [`EventStore`] as a trait object, for a store picked at run time (`--database sqlite:..` or
/// `postgres://..`): use it as [`AnyEventStore`], which implements [`EventStore`] again.
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
    /// event one fixed lifetime.)
    async fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn for<'r> FnMut(ReplayedEvent<'r>) -> Result<(), Error> + Send),
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
        each: &mut (dyn for<'r> FnMut(ReplayedEvent<'r>) -> Result<(), Error> + Send),
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

/// A store chosen at run time (`--database sqlite:..` or `postgres://..`), as one concrete
/// type: any [`EventStore`] behind an `Arc<dyn DynEventStore>`. Cheap to clone; plugs in
/// wherever an `EventStore` goes, and the futures of an `App<AnyEventStore>` are `Send`, so
/// they run in spawned tasks and web handlers.
///
/// (A bare `Arc<dyn DynEventStore>` is not an `EventStore`: futures over it would carry the
/// trait object's lifetime, which the compiler cannot prove `Send` for every lifetime.)
///
/// # Examples
/// ```
/// use es_core::{AnyEventStore, EventStore, InMemoryEventStore};
///
/// let store = AnyEventStore::new(InMemoryEventStore::new());
/// assert_eq!(*store.head().borrow(), 0);
/// ```
#[derive(Clone)]
pub struct AnyEventStore(Arc<dyn DynEventStore>);

impl AnyEventStore {
    /// `store`, behind the object-safe companion trait.
    pub fn new(store: impl EventStore) -> Self {
        Self(Arc::new(store))
    }
}

impl From<Arc<dyn DynEventStore>> for AnyEventStore {
    fn from(store: Arc<dyn DynEventStore>) -> Self {
        Self(store)
    }
}

impl std::fmt::Debug for AnyEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnyEventStore")
            .field("head", &*self.0.head().borrow())
            .finish_non_exhaustive()
    }
}

impl EventStore for AnyEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, Error> {
        DynEventStore::append(&*self.0, stream, expected, events).await
    }
    async fn append_streams(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>, Error> {
        DynEventStore::append_streams(&*self.0, parts).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        DynEventStore::read_stream(&*self.0, stream, from, limit).await
    }
    async fn fold_stream(
        &self,
        stream: &str,
        from: u64,
        limit: usize,
        each: &mut (dyn for<'r> FnMut(ReplayedEvent<'r>) -> Result<(), Error> + Send),
    ) -> Result<usize, Error> {
        DynEventStore::fold_stream(&*self.0, stream, from, limit, each).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, Error> {
        DynEventStore::read_all(&*self.0, after, limit).await
    }
    async fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        DynEventStore::stream_version(&*self.0, stream).await
    }
    async fn find_event(&self, id: uuid::Uuid) -> Result<Option<RecordedEvent>, Error> {
        DynEventStore::find_event(&*self.0, id).await
    }
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        DynEventStore::head(&*self.0)
    }
    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), Error> {
        DynEventStore::save_snapshot(&*self.0, stream, snapshot).await
    }
    async fn load_snapshot(
        &self,
        stream: &str,
        max_version: u64,
    ) -> Result<Option<Snapshot>, Error> {
        DynEventStore::load_snapshot(&*self.0, stream, max_version).await
    }
    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), Error> {
        DynEventStore::save_checkpoint(&*self.0, name, position).await
    }
    async fn load_checkpoint(&self, name: &str) -> Result<u64, Error> {
        DynEventStore::load_checkpoint(&*self.0, name).await
    }
}
