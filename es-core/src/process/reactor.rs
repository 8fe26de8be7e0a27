//! Reactors: the stateless case. An event leads to commands (each keyed by the event's id, so
//! a redelivered event sends nothing twice) and to side effects done in the handler itself,
//! delivered at least once: the checkpoint moves past an event only once its handler succeeded.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::clock::{Clock, SystemClock};
use super::lease::{Holding, Lease};
use super::runner::Progress;
use super::steps::Steps;
use crate::app::{App, Sent};
use crate::codec::{BoxError, Codec, Json};
use crate::error::{Error, catch_panic_async};
use crate::projection::EventMeta;
use crate::record::RecordedEvent;
use crate::store::EventStore;

/// Reacts to events without state of its own: `#[reactor]` implements it from an `impl`
/// block's `#[on]` methods.
pub trait Reactor: Send + Sync + 'static {
    /// The reactor's name: its checkpoint and lease are named after it.
    const NAME: &'static str;

    /// What its handlers may use besides the event (a mailer, a client).
    type Services: Send + Sync + 'static;

    /// Reacts to `meta`'s event when it handles it: does its side effects, and gives the
    /// commands to send; no steps for an event it does not handle (not decoded).
    ///
    /// # Errors
    /// The handler's error, or a decoding error: the event is delivered again later.
    fn react<C: Codec>(
        &self,
        meta: EventMeta<'_>,
        codec: &C,
        services: &Self::Services,
    ) -> impl Future<Output = Result<Steps, BoxError>> + Send;
}

/// Runs reactor `R` over an app, one node at a time (a lease, as for process managers).
pub struct ReactorRunner<R: Reactor, S, C = Json> {
    app: App<S, C>,
    reactor: R,
    services: R::Services,
    clock: Arc<dyn Clock>,
    lease: Lease,
}

impl<R: Reactor, S, C> std::fmt::Debug for ReactorRunner<R, S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReactorRunner")
            .field("reactor", &R::NAME)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl<R: Reactor, S: EventStore, C: Codec> ReactorRunner<R, S, C> {
    /// A runner of `reactor` over `app`, with `services` for its handlers, the system clock and
    /// a lease of 10 s.
    pub fn new(app: App<S, C>, reactor: R, services: R::Services) -> Self {
        Self {
            app,
            reactor,
            services,
            clock: Arc::new(SystemClock),
            lease: Lease::new(R::NAME, Uuid::now_v7(), Duration::from_secs(10)),
        }
    }

    /// Reads time for the lease from `clock`.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long the lease lasts without renewal (default 10 s).
    #[must_use]
    pub fn lease(mut self, ttl: Duration) -> Self {
        self.lease = Lease::new(R::NAME, Uuid::now_v7(), ttl);
        self
    }

    /// Runs until stopped: [`run_once`](Self::run_once), then waits for the log to grow or
    /// `poll` to pass. An error (a failed side effect) is logged and the event retried.
    pub async fn run(mut self, poll: Duration) {
        let mut head = self.app.store().head();
        loop {
            if let Err(error) = self.run_once().await {
                tracing::warn!(reactor = R::NAME, %error, "reactor failed; retrying the event");
            }
            let _ = tokio::time::timeout(poll, head.changed()).await;
        }
    }

    /// Holding the lease, reacts to the events after the checkpoint, up to the end of the log.
    ///
    /// # Errors
    /// The first handler's or store's error; the checkpoint stays before that event.
    pub async fn run_once(&mut self) -> Result<Progress, Error> {
        let mut progress = Progress::default();
        if self.lease.hold(self.app.store(), &*self.clock).await? == Holding::Elsewhere {
            return Ok(progress);
        }
        progress.leading = true;
        let name = format!("reactor-{}", R::NAME);
        let mut checkpoint = self.app.store().load_checkpoint(&name).await?;
        loop {
            let batch = self.app.store().read_all(checkpoint, 256).await?;
            let Some(last) = batch.last().map(|record| record.position) else {
                break;
            };
            for record in &batch {
                // Renewed as it goes: a long backlog must not outlive the lease.
                if self.lease.hold(self.app.store(), &*self.clock).await? == Holding::Elsewhere {
                    self.app.store().save_checkpoint(&name, checkpoint).await?;
                    return Ok(progress);
                }
                let reacted = self.react(record).await;
                if reacted.is_err() {
                    // At least once: the failed event is the next one delivered.
                    self.app.store().save_checkpoint(&name, checkpoint).await?;
                }
                if reacted? {
                    progress.events += 1;
                }
                checkpoint = record.position;
            }
            self.app.store().save_checkpoint(&name, last).await?;
            if batch.len() < 256 {
                break;
            }
        }
        progress.position = checkpoint;
        Ok(progress)
    }

    /// Reacts to one event; whether the reactor handled it.
    async fn react(&self, record: &RecordedEvent) -> Result<bool, Error> {
        let reacted = catch_panic_async(self.reactor.react(
            self.app.meta(record),
            self.app.codec(),
            &self.services,
        ))
        .await
        .unwrap_or_else(|panic| Err(Box::new(panic)));
        let steps = reacted.map_err(|source| Error::Reaction {
            reactor: R::NAME,
            stream: record.stream.to_string(),
            version: record.version,
            position: record.position,
            event: record.name.to_string(),
            source,
        })?;
        if !steps.deadlines.is_empty() {
            tracing::warn!(
                reactor = R::NAME,
                "a reactor has no deadlines; use a process manager"
            );
        }
        let handled = !steps.commands.is_empty();
        for (index, outgoing) in steps.commands.iter().enumerate() {
            let key = format!("{}:{}:{index}", R::NAME, record.id);
            let correlation = record.metadata.correlation_id;
            if let Sent::Refused(refusal) =
                self.app.send_outgoing(outgoing, key, correlation).await?
            {
                tracing::info!(
                    reactor = R::NAME,
                    command = refusal.command_type(),
                    reason = refusal.message(),
                    "a reactor's command was refused"
                );
            }
        }
        Ok(handled)
    }
}
