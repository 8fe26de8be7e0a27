//! The query front end: a typed query goes to the hosted projection that answers it, which
//! first catches up as far as the query asks.

use std::any::{TypeId, type_name};
use std::time::Duration;

use crate::codec::Codec;
use crate::projection::{Projection, Query};
use crate::store::EventStore;

use super::projections::Host;
use super::{App, QueryError};

impl<S: EventStore, C: Codec> App<S, C> {
    /// Answers `query` from the projection that handles it. An inline projection first applies
    /// what the store has told this process of (every append of this process); a background
    /// one answers from where it is.
    ///
    /// # Errors
    /// [`QueryError::NotRegistered`] when the app does not host the projection;
    /// [`QueryError::Store`] when catching up fails (a projection stuck on an event names it).
    pub async fn query<Q: Query>(&self, query: Q) -> Result<Q::Response, QueryError> {
        let host = self.host::<Q>()?;
        if !host.background {
            let head = *self.inner.store.head().borrow();
            if host.position() < head {
                host.advance(&self.inner, head, &[]).await?;
            }
        }
        let tracked = host.state.read().await;
        Ok(query.ask(&tracked.projection))
    }

    /// Answers `query` once the projection has applied the global log up to `position`,
    /// waiting up to `timeout` for a background projection. To read your own writes, pass the
    /// [`Committed::position`](super::Committed::position) of your command (0, when it wrote
    /// nothing, is reached at once).
    ///
    /// # Errors
    /// As [`query`](Self::query), and [`QueryError::Timeout`] (with the error a background
    /// projection is stopped at, if any) when it does not get there in time.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// use es_core::prelude::*;
    ///
    /// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
    /// struct Pinged;
    ///
    /// #[derive(Command, Debug, Clone)]
    /// struct Ping { #[id] id: u32 }
    ///
    /// #[derive(Debug, Default)]
    /// struct Pinger;
    ///
    /// #[aggregate]
    /// impl Pinger {
    ///     #[handle]
    ///     fn ping(&self, _: Ping) -> Pinged { Pinged }
    ///     #[apply]
    ///     fn pinged(&mut self, _: &Pinged) {}
    /// }
    ///
    /// #[derive(Debug, Default)]
    /// struct Pings { count: u64 }
    ///
    /// #[derive(Debug)]
    /// struct CountPings;
    ///
    /// #[projection]
    /// impl Pings {
    ///     #[on]
    ///     fn pinged(&mut self, _: &Pinged) { self.count += 1; }
    ///     #[query]
    ///     fn count(&self, _: CountPings) -> u64 { self.count }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let app = App::builder(InMemoryEventStore::new())
    ///     .aggregate::<Pinger>()
    ///     .background_projection(Pings::default())
    ///     .build()?;
    /// let committed = app.send(Ping { id: 1 }).await?;
    /// let count = app
    ///     .query_at(CountPings, committed.position, Duration::from_secs(5))
    ///     .await?;
    /// assert_eq!(count, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn query_at<Q: Query>(
        &self,
        query: Q,
        position: u64,
        timeout: Duration,
    ) -> Result<Q::Response, QueryError> {
        let host = self.host::<Q>()?;
        if host.background {
            let mut applied = host.applied();
            let reached =
                tokio::time::timeout(timeout, applied.wait_for(|&at| at >= position)).await;
            if !matches!(reached, Ok(Ok(_))) {
                return Err(QueryError::Timeout {
                    projection: <Q::Projection as Projection>::NAME,
                    position,
                    reached: host.position(),
                    timeout,
                    failure: host.failure(),
                });
            }
        } else if host.position() < position {
            host.advance(&self.inner, position, &[]).await?;
        }
        let tracked = host.state.read().await;
        Ok(query.ask(&tracked.projection))
    }

    /// The position of the last event projection `P` has applied.
    ///
    /// # Errors
    /// [`QueryError::NotRegistered`] when the app does not host `P`.
    pub fn projection_position<P: Projection>(&self) -> Result<u64, QueryError> {
        Ok(self.host_of::<P>(type_name::<P>())?.position())
    }

    /// Rebuilds projection `P` from the start of the log into `fresh` (an empty read model),
    /// resetting its checkpoint; `progress` is called with the position reached after each
    /// batch (for a progress bar: the total is the store's head). Queries wait meanwhile.
    ///
    /// # Errors
    /// [`QueryError::NotRegistered`], or [`QueryError::Store`] when the replay fails (the
    /// projection then stays before the failing event).
    pub async fn rebuild<P: Projection>(
        &self,
        fresh: P,
        progress: impl FnMut(u64),
    ) -> Result<u64, QueryError> {
        let host = self.host_of::<P>(type_name::<P>())?;
        Ok(host.rebuild(&self.inner, fresh, progress).await?)
    }

    fn host<Q: Query>(&self) -> Result<&Host<Q::Projection>, QueryError> {
        self.host_of::<Q::Projection>(type_name::<Q>())
    }

    fn host_of<P: Projection>(&self, asked: &'static str) -> Result<&Host<P>, QueryError> {
        self.inner
            .hosts
            .get(&TypeId::of::<P>())
            .and_then(|host| host.downcast_ref::<Host<P>>())
            .ok_or(QueryError::NotRegistered {
                query: asked,
                projection: P::NAME,
            })
    }
}
