//! The projections an app hosts and the query bus that routes to them.
//!
//! An inline projection is advanced by the app itself: by `send`, right after its append (so a
//! query after `send` sees the command's effect), and by `query`, up to the newest position the
//! store has told this process of. A background projection is advanced by a task that follows
//! the log. Both apply the log in global order, each event once: an advance takes the
//! projection's lock and reads whatever lies between its position and the target, so events of
//! concurrent commands and of other processes are never skipped or applied twice.

use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::{RwLock, RwLockWriteGuard, watch};

use crate::codec::Codec;
use crate::error::{Error, Panicked, catch_panic, projection_failed};
use crate::observability;
use crate::projection::runner;
use crate::projection::{EventMeta, Projection};
use crate::record::{RecordedEvent, RecordedEventRef};
use crate::store::EventStore;

use super::Inner;

/// How many events an advance reads per round trip.
const BATCH: usize = 4096;

/// How long a background projection waits for a hint of new events before reading anyway.
const POLL: Duration = Duration::from_millis(500);

/// The longest a failing background projection waits before retrying the event it failed on.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A projection's state and the position of the last event applied to it.
pub(super) struct Tracked<P> {
    pub(super) projection: P,
    pub(super) position: u64,
    /// The event an `#[on]` method panicked on, and the panic: the state may be half-changed,
    /// so nothing more is applied to it (each advance reports this) until a rebuild.
    poisoned: Option<(RecordedEvent, Panicked)>,
}

impl<P> Tracked<P> {
    fn new(projection: P) -> Self {
        Self {
            projection,
            position: 0,
            poisoned: None,
        }
    }
}

/// One hosted projection.
pub(super) struct Host<P> {
    pub(super) state: RwLock<Tracked<P>>,
    /// The position applied, for waiters.
    applied: watch::Sender<u64>,
    pub(super) background: bool,
    /// The error a background run is stuck on, until it gets past it.
    failure: Mutex<Option<String>>,
}

impl<P: Projection> Host<P> {
    pub(super) fn new(projection: P, background: bool) -> Self {
        Self {
            state: RwLock::new(Tracked::new(projection)),
            applied: watch::channel(0).0,
            background,
            failure: Mutex::new(None),
        }
    }

    pub(super) fn position(&self) -> u64 {
        *self.applied.borrow()
    }

    pub(super) fn applied(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    pub(super) fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_failure(&self, failure: Option<String>) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = failure;
    }

    /// Applies, in order, the events after the projection's position up to `target` at least
    /// (or to the end of the log), taking `known` (a command's own records) without a read when
    /// they come next. Returns the position reached; on an error the projection stays before
    /// the event that failed.
    pub(super) async fn advance<S: EventStore, C: Codec>(
        &self,
        app: &Inner<S, C>,
        target: u64,
        known: &[RecordedEvent],
    ) -> Result<u64, Error> {
        let mut tracked = self.state.write().await;
        self.run_locked(&mut tracked, app, false, target, known, |_| {})
            .await
    }

    /// Applies the log to the end for a background run, storing the checkpoint after each
    /// batch when the projection is durable.
    async fn follow<S: EventStore, C: Codec>(&self, app: &Inner<S, C>) -> Result<u64, Error> {
        let mut tracked = self.state.write().await;
        self.run_locked(&mut tracked, app, P::DURABLE, u64::MAX, &[], |_| {})
            .await
    }

    /// Replaces the state with `fresh` and replays the whole log into it, reporting the
    /// position reached after each batch. Queries wait meanwhile: the lock is held throughout.
    pub(super) async fn rebuild<S: EventStore, C: Codec>(
        &self,
        app: &Inner<S, C>,
        fresh: P,
        progress: impl FnMut(u64),
    ) -> Result<u64, Error> {
        let mut tracked = self.state.write().await;
        // The checkpoint first: when it cannot be reset, the projection stays as it was.
        if P::DURABLE {
            app.store.save_checkpoint(P::NAME, 0).await?;
        }
        *tracked = Tracked::new(fresh);
        self.run_locked(&mut tracked, app, P::DURABLE, u64::MAX, &[], progress)
            .await
    }

    /// Under the held write lock: takes `known` (a command's own records) when they come next,
    /// runs the checkpointed runner to `target`, and publishes the position reached, also
    /// after an error.
    async fn run_locked<S: EventStore, C: Codec>(
        &self,
        tracked: &mut RwLockWriteGuard<'_, Tracked<P>>,
        app: &Inner<S, C>,
        save_checkpoints: bool,
        target: u64,
        known: &[RecordedEvent],
        progress: impl FnMut(u64),
    ) -> Result<u64, Error> {
        let mut locked = Locked {
            tracked,
            app,
            save_checkpoints,
        };
        let result = match locked.take_known(known) {
            Ok(()) => runner::run(&app.store, &mut locked, BATCH, target, progress).await,
            Err(error) => Err(error),
        };
        self.publish(tracked);
        result
    }

    fn publish(&self, tracked: &RwLockWriteGuard<'_, Tracked<P>>) {
        self.applied.send_if_modified(|applied| {
            let moved = *applied != tracked.position;
            *applied = tracked.position;
            moved
        });
    }
}

/// A hosted projection under its write lock: the checkpointed runner's unit of work applies a
/// batch in memory and, for a durable projection run in the background or rebuilt, stores the
/// checkpoint after it.
struct Locked<'t, 'a, P, S, C> {
    tracked: &'t mut Tracked<P>,
    app: &'a Inner<S, C>,
    save_checkpoints: bool,
}

impl<P: Projection, S: EventStore, C: Codec> Locked<'_, '_, P, S, C> {
    /// Applies a command's own records when they are the next events (an inline projection:
    /// no checkpoint to store).
    fn take_known(&mut self, known: &[RecordedEvent]) -> Result<(), Error> {
        if known
            .first()
            .is_some_and(|first| first.position == self.tracked.position + 1)
        {
            self.apply_all(known)?;
            observability::projection_events::<Self>(known.len());
        }
        Ok(())
    }

    /// Applies `batch` in order (see [`apply`](Self::apply)).
    fn apply_all(&mut self, batch: &[RecordedEvent]) -> Result<(), Error> {
        batch
            .iter()
            .try_for_each(|record| self.apply(record.into()))
    }

    /// Applies `record` with the aggregate that records its name; a panic in an `#[on]` method
    /// is the projection's error on that event, which the projection stays before.
    fn apply(&mut self, record: RecordedEventRef<'_>) -> Result<(), Error> {
        if let Some((event, panicked)) = &self.tracked.poisoned {
            return Err(projection_failed(
                P::NAME,
                event,
                Box::new(panicked.clone()),
            ));
        }
        let projection = &mut self.tracked.projection;
        let event = EventMeta::new(record, self.app.owners.get(record.name).copied());
        match catch_panic(|| projection.apply(event, &self.app.codec)) {
            Ok(applied) => applied?,
            Err(panicked) => {
                self.tracked.poisoned = Some((record.to_record(), panicked.clone()));
                return Err(projection_failed(P::NAME, record, Box::new(panicked)));
            }
        }
        self.tracked.position = record.position;
        Ok(())
    }
}

impl<P: Projection, S: EventStore, C: Codec> runner::Checkpointed for Locked<'_, '_, P, S, C> {
    const NAME: &'static str = P::NAME;

    async fn checkpoint(&mut self) -> Result<u64, Error> {
        Ok(self.tracked.position)
    }

    /// The lock is held for the whole run: no other run moves the position meanwhile. Each
    /// event is applied as the store reads it; the checkpoint is stored after the batch, and
    /// after the events applied before an error too: they stay applied (a projection's state
    /// cannot be undone), so a restart must not apply them again.
    async fn commit<T: EventStore + ?Sized>(
        &mut self,
        events: runner::Events<'_, T>,
    ) -> Result<Option<runner::Applied>, Error> {
        let start = self.tracked.position;
        let applied = events.fold(&mut |record| self.apply(record)).await;
        if self.save_checkpoints && self.tracked.position != start {
            let saved = self
                .app
                .store
                .save_checkpoint(P::NAME, self.tracked.position)
                .await;
            match (&applied, saved) {
                (Ok(_), saved) => saved?,
                // The fold's error is the one to report; this one only costs a repeat later.
                (Err(_), Err(error)) => tracing::warn!(
                    projection = P::NAME,
                    %error,
                    "could not store the checkpoint of the events applied before an error"
                ),
                (Err(_), Ok(())) => {}
            }
        }
        applied
    }
}

/// A hosted projection of any type, as the app's list holds it.
#[async_trait::async_trait]
pub(super) trait Hosted<S, C>: Send + Sync {
    fn name(&self) -> &'static str;
    fn is_inline(&self) -> bool;
    async fn advance_dyn(
        &self,
        app: &Inner<S, C>,
        target: u64,
        known: &[RecordedEvent],
    ) -> Result<u64, Error>;
}

#[async_trait::async_trait]
impl<P: Projection, S: EventStore, C: Codec> Hosted<S, C> for Host<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn is_inline(&self) -> bool {
        !self.background
    }
    async fn advance_dyn(
        &self,
        app: &Inner<S, C>,
        target: u64,
        known: &[RecordedEvent],
    ) -> Result<u64, Error> {
        self.advance(app, target, known).await
    }
}

/// Starts a background run, given the app it reads through.
pub(super) type Start<S, C> = Box<dyn FnOnce(Weak<Inner<S, C>>) + Send>;

/// A projection as the builder holds it.
pub(super) struct Registration<S, C> {
    pub(super) hosted: Arc<dyn Hosted<S, C>>,
    /// The same `Arc<Host<P>>`, for the query bus to downcast.
    pub(super) any: Arc<dyn Any + Send + Sync>,
    pub(super) start: Option<Start<S, C>>,
}

impl<S: EventStore, C: Codec> Registration<S, C> {
    pub(super) fn new<P: Projection>(projection: P, background: bool) -> Self {
        let host = Arc::new(Host::new(projection, background));
        let start: Option<Start<S, C>> = background.then(|| {
            let host = Arc::clone(&host);
            Box::new(move |app: Weak<Inner<S, C>>| {
                tokio::spawn(run_background(host, app));
            }) as Start<S, C>
        });
        Self {
            hosted: Arc::clone(&host) as Arc<dyn Hosted<S, C>>,
            any: host,
            start,
        }
    }
}

/// Follows the log for a background projection until the app is dropped: resumes from the
/// stored checkpoint when the projection is durable, applies each batch, saves the checkpoint,
/// waits for new events; on a failure it logs the error, keeps it for queries that wait, and
/// retries the same event with a growing delay.
async fn run_background<P, S, C>(host: Arc<Host<P>>, app: Weak<Inner<S, C>>)
where
    P: Projection,
    S: EventStore,
    C: Codec,
{
    let mut backoff = Duration::from_millis(100);
    let mut resumed = !P::DURABLE;
    let Some(mut head) = app.upgrade().map(|app| app.store.head()) else {
        return;
    };
    loop {
        let Some(app) = app.upgrade() else {
            return;
        };
        head.borrow_and_update();
        let advanced = async {
            if !resumed {
                let checkpoint = app.store.load_checkpoint(P::NAME).await?;
                let mut tracked = host.state.write().await;
                tracked.position = tracked.position.max(checkpoint);
                host.publish(&tracked);
                resumed = true;
            }
            host.follow(&app).await
        }
        .await;
        drop(app);
        match advanced {
            Ok(_) => {
                host.set_failure(None);
                backoff = Duration::from_millis(100);
                // A change or a timeout both lead to another read; a closed hint means polling.
                if let Ok(Err(_closed)) = tokio::time::timeout(POLL, head.changed()).await {
                    tokio::time::sleep(POLL).await;
                }
            }
            Err(error) => {
                let failure = error_chain(&error);
                tracing::error!(projection = P::NAME, error = %failure, "projection stopped; retrying");
                host.set_failure(Some(failure));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// An error and its sources, as one line.
pub(super) fn error_chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
