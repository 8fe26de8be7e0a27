//! One atomic decision over several aggregates: load them, run their own handlers, and append
//! every staged event in one multi-stream append guarded by the version of every aggregate
//! loaded, including those only read. On a conflict the whole decision runs again.

use std::any::{Any, type_name};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::aggregate::Aggregate;
use crate::codec::Codec;
use crate::command::AggregateCommand;
use crate::error::{Error, catch_panic};
use crate::event::EventSet;
use crate::observability::{self, Outcome};
use crate::record::{NewEvent, Timestamp};
use crate::store::{AppendResult, EventStore, ExpectedVersion, StreamAppend};

use super::cache::lock;
use super::command::retry_pause;
use super::idempotency::stored_as_sent;
use super::metadata::{CommandMetadata, Resolved, idempotent_id};
use super::{App, CommandError};

/// The outcome of a transaction that committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Transacted<T> {
    /// What the decision returned.
    pub value: T,
    /// Each stream the transaction wrote, with its version after it, in the order of their
    /// first command.
    pub streams: Vec<(String, u64)>,
    /// The global position of the last event appended: wait for it to read your writes; 0 when
    /// nothing was appended.
    pub position: u64,
    /// How many times the decision ran again after a conflict.
    pub retries: u32,
    /// Whether its idempotency key had been used already: then `streams` and `position` are
    /// those of the original transaction, and nothing new was written.
    pub duplicate: bool,
}

/// Why a transaction failed. Nothing of it was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError<E> {
    /// The decision returned this error (a refusal of one of its commands, or its own).
    #[error(transparent)]
    Rejected(E),
    /// The store failed, or a stored event could not be read. After
    /// [`Error::Backend`], the events may or may not have been committed.
    #[error(transparent)]
    Store(#[from] Error),
    /// Its idempotency key was used by a transaction that committed, and the decision, run
    /// again on the current state, failed: the original outcome, as
    /// [`Transacted::streams`] and [`Transacted::position`] would have given it.
    #[error("a transaction with this idempotency key committed already (last position {position})")]
    AlreadyCommitted {
        /// Each stream the original wrote, with its version after it.
        streams: Vec<(String, u64)>,
        /// The global position of its last event.
        position: u64,
    },
    /// Other writers kept changing the aggregates it loaded; it gave up after `retries` runs.
    #[error(
        "gave up on stream `{stream}` after {retries} conflicting retries; nothing was applied"
    )]
    TooManyConflicts {
        /// The stream of the last conflict.
        stream: String,
        /// The retries made.
        retries: u32,
    },
}

/// The decision in progress: the aggregates it loaded, as of the versions it loaded, and the
/// events its commands staged. Given to the closure of [`App::transaction`]; a cheap handle
/// (clones share the decision), owned so that the closure's future is `Send` and `'static`
/// wherever the caller needs it.
pub struct Transaction<S, C = crate::codec::Json> {
    app: App<S, C>,
    metadata: Arc<Resolved>,
    touched: Arc<Mutex<Option<Vec<Touched>>>>,
}

impl<S, C> Clone for Transaction<S, C> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            metadata: Arc::clone(&self.metadata),
            touched: Arc::clone(&self.touched),
        }
    }
}

impl<S, C> std::fmt::Debug for Transaction<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Transaction")
            .field(
                "streams",
                &touched
                    .iter()
                    .flatten()
                    .map(|t| (&t.stream, t.loaded, t.staged.len()))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// One aggregate the decision loaded.
struct Touched {
    stream: String,
    /// The version it was loaded at: the append's guard.
    loaded: u64,
    /// Its state with the staged events applied: an `A`.
    state: Box<dyn Any + Send + Sync>,
    /// The events staged for it, encoded.
    staged: Vec<NewEvent>,
    /// Tells the app's cached copy that it missed the transaction's events. A copy locked by a
    /// command right now is left alone: that command's append conflicts and reads them.
    /// Brings the app's cached copy up to date after a commit: `Some((state, version))` when
    /// the transaction wrote its stream (the copy takes the state, if nothing moved it since
    /// it was loaded), `None` when the copy must be read again (a conflict). A copy locked by
    /// a command right now is left alone: that command conflicts or reads the stream.
    settle: Settle,
}

/// See [`Touched::settle`].
type Settle = Box<dyn Fn(Option<(&(dyn Any + Send + Sync), u64)>) + Send + Sync>;

impl<S: EventStore, C: Codec> Transaction<S, C> {
    /// The current state of the aggregate with this id, with the events this transaction
    /// staged for it applied. Loading an aggregate guards the transaction's append: if another
    /// writer changes it before the commit, the decision runs again.
    ///
    /// # Errors
    /// [`CommandError::Store`] when the store fails or an event cannot be decoded;
    /// [`CommandError::NotRegistered`].
    pub async fn load<A: Aggregate + Clone + Sync>(
        &self,
        id: &(impl std::fmt::Display + ?Sized),
    ) -> Result<A, CommandError<A::Error>> {
        let stream = A::stream_name(id);
        self.touch::<A>(&stream).await?;
        Ok(self.with::<A, _>(&stream, |touched| state::<A>(touched).clone())?)
    }

    /// Runs `command` through its aggregate's own handler, on the aggregate as this transaction
    /// sees it, and stages the events it decides (applied to that state at once, appended at
    /// the commit). Returns them. Commands of one transaction are meant to run one after
    /// another: each sees the events the ones before staged.
    ///
    /// # Errors
    /// [`CommandError::Rejected`] with the aggregate's error (the decision chooses what to do
    /// with it: return an error to write nothing, or go on); [`CommandError::Store`] when the
    /// store fails, an event cannot be encoded or decoded, or `apply` panics.
    pub async fn send<Cmd>(
        &self,
        command: Cmd,
    ) -> Result<Vec<EventOf<Cmd>>, CommandError<ErrorOf<Cmd>>>
    where
        Cmd: AggregateCommand,
        Cmd::Aggregate: Clone + Sync,
    {
        let stream = Cmd::Aggregate::stream_name(command.aggregate_id());
        self.touch::<Cmd::Aggregate>(&stream).await?;
        let (before, staged_before) = self.with::<Cmd::Aggregate, _>(&stream, |touched| {
            (
                state::<Cmd::Aggregate>(touched).clone(),
                touched.staged.len(),
            )
        })?;
        let slot = self.app.slot::<Cmd::Aggregate>()?;
        let events = Cmd::Aggregate::handle(&before, command.into_command(), &slot.services)
            .await
            .map_err(CommandError::Rejected)?;
        let staged = self.with::<Cmd::Aggregate, _>(&stream, |touched| {
            let first = touched.staged.len();
            if first != staged_before {
                // Another command of this transaction staged events on the stream while this
                // one was deciding on the state before them.
                return Err(Error::backend(format!(
                    "two commands of one transaction ran at once on stream `{}`; send them one \
                     after the other",
                    touched.stream
                )));
            }
            let encoded = self
                .app
                .encode(
                    &touched.stream,
                    first,
                    &events,
                    &self.metadata,
                    Timestamp::now(),
                )?;
            let version = touched.loaded + first as u64;
            let Some(state) = touched.state.downcast_mut::<Cmd::Aggregate>() else {
                return Err(Error::backend("a stream's state changed its type"));
            };
            for (event, version) in events.iter().zip(version + 1..) {
                // A panicking `apply` fails the decision; the copy it was changing is dropped
                // with the transaction.
                catch_panic(|| state.apply(event)).map_err(|source| Error::Apply {
                    stream: touched.stream.clone(),
                    version,
                    event: event.name().to_owned(),
                    source,
                })?;
            }
            touched.staged.extend(encoded);
            Ok::<_, Error>(())
        })?;
        staged?;
        Ok(events)
    }

    /// Loads the aggregate of `stream` from the app's cache (caught up with the store), unless
    /// the transaction holds it already.
    async fn touch<A: Aggregate + Clone + Sync>(
        &self,
        stream: &str,
    ) -> Result<(), CommandError<A::Error>> {
        if self.with::<A, _>(stream, |_| ()).is_ok() {
            return Ok(());
        }
        let slot = self.app.slot::<A>()?;
        let entry = slot.cache.entry(stream);
        let mut hydrated = lock(&entry).await;
        // A cached copy known current is taken as it is, as a command takes it: the append's
        // guard checks its version, and a refusal stands only once checked current.
        if !hydrated.fresh {
            self.app.catch_up(stream, &mut hydrated).await?;
        }
        let (loaded, state) = (hydrated.version, Box::new(hydrated.state.clone()));
        drop(hydrated);
        let mut touched = self.lock();
        let touched = touched.as_mut().ok_or_else(over)?;
        if !touched.iter().any(|t| t.stream == stream) {
            touched.push(Touched {
                stream: stream.to_owned(),
                loaded,
                state,
                staged: Vec::new(),
                settle: Box::new(move |committed| {
                    let Ok(mut hydrated) = entry.try_lock() else {
                        return;
                    };
                    match committed
                        .and_then(|(state, version)| Some((state.downcast_ref::<A>()?, version)))
                    {
                        Some((state, version)) if hydrated.version == loaded => {
                            hydrated.state = state.clone();
                            hydrated.version = version;
                            hydrated.fresh = true;
                        }
                        _ => hydrated.fresh = false,
                    }
                }),
            });
        }
        Ok(())
    }

    /// Runs `f` on the loaded aggregate of `stream`, which must be an `A`.
    fn with<A: Aggregate, T>(
        &self,
        stream: &str,
        f: impl FnOnce(&mut Touched) -> T,
    ) -> Result<T, Error> {
        let mut touched = self.lock();
        let touched = touched.as_mut().ok_or_else(over)?;
        let Some(found) = touched.iter_mut().find(|t| t.stream == stream) else {
            return Err(Error::backend(format!("stream `{stream}` is not loaded")));
        };
        if !found.state.is::<A>() {
            return Err(Error::backend(format!(
                "stream `{stream}` is loaded as another aggregate than `{}`",
                type_name::<A>()
            )));
        }
        Ok(f(found))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<Touched>>> {
        // Every change under this lock is a push or an apply on a copy that a panic discards.
        self.touched.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The event enum of a command's aggregate.
type EventOf<Cmd> = <<Cmd as AggregateCommand>::Aggregate as Aggregate>::Event;
/// The error type of a command's aggregate.
type ErrorOf<Cmd> = <<Cmd as AggregateCommand>::Aggregate as Aggregate>::Error;

fn state<A: Aggregate>(touched: &Touched) -> &A {
    touched
        .state
        .downcast_ref::<A>()
        .expect("a stream's state has its aggregate's type")
}

/// The error of a handle used after its decision returned.
fn over() -> Error {
    Error::backend("the transaction is over: its decision has returned")
}

impl<S: EventStore, C: Codec> App<S, C> {
    /// Runs `decide` as one atomic decision over several aggregates: it loads aggregates and
    /// sends commands through the [`Transaction`] it is given, each handled by its aggregate's
    /// own `#[handle]` method; when it returns `Ok`, every staged event is appended in one
    /// multi-stream append guarded by the version of every aggregate loaded, including those
    /// only read. On a conflict `decide` runs again, on the new state (up to the app's
    /// `max_retries`), so it must have no effect outside the transaction. When it returns
    /// `Err`, nothing is written.
    ///
    /// # Errors
    /// [`TransactionError::Rejected`] with `decide`'s error (returned only when taken on the
    /// latest state of every aggregate loaded); [`TransactionError::Store`];
    /// [`TransactionError::TooManyConflicts`].
    pub async fn transaction<T, E, F, Fut>(
        &self,
        decide: F,
    ) -> Result<Transacted<T>, TransactionError<E>>
    where
        F: FnMut(Transaction<S, C>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.transaction_with(CommandMetadata::default(), decide)
            .await
    }

    /// [`transaction`](Self::transaction) with metadata for every event it appends: a
    /// correlation id, key-values, an idempotency key. With a key already used by a committed
    /// transaction, its outcome comes back (with [`Transacted::duplicate`] set) and nothing new
    /// is written.
    ///
    /// # Errors
    /// As [`transaction`](Self::transaction).
    pub async fn transaction_with<T, E, F, Fut>(
        &self,
        metadata: CommandMetadata,
        decide: F,
    ) -> Result<Transacted<T>, TransactionError<E>>
    where
        F: FnMut(Transaction<S, C>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut metadata = metadata.resolve();
        // Chosen before the first try: every try records the same causation id.
        metadata.command_id();
        let span = tracing::debug_span!(
            "transaction",
            correlation_id = %metadata.correlation_id(),
            causation_id = %metadata.command_id(),
            outcome = Empty,
            retries = Empty,
            position = Empty,
        );
        let result = self
            .run_transaction(metadata, decide)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(transacted) if transacted.duplicate => Outcome::Duplicate,
            Ok(_) => Outcome::Committed,
            Err(TransactionError::Rejected(_)) => Outcome::Rejected,
            Err(TransactionError::AlreadyCommitted { .. }) => Outcome::Duplicate,
            Err(TransactionError::TooManyConflicts { .. }) => Outcome::Conflict,
            Err(TransactionError::Store(_)) => Outcome::Error,
        };
        // Not on a disabled span: see the command path's `Finish`.
        if !span.is_disabled() {
            span.record("outcome", outcome.as_str());
            if let Ok(transacted) = &result {
                span.record("retries", transacted.retries);
                span.record("position", transacted.position);
            }
        }
        result
    }

    /// The decision and its append, retried after conflicts.
    async fn run_transaction<T, E, F, Fut>(
        &self,
        metadata: Resolved,
        mut decide: F,
    ) -> Result<Transacted<T>, TransactionError<E>>
    where
        F: FnMut(Transaction<S, C>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let metadata = Arc::new(metadata);
        let mut retries = 0;
        loop {
            let tx = Transaction {
                app: self.clone(),
                metadata: Arc::clone(&metadata),
                touched: Arc::new(Mutex::new(Some(Vec::new()))),
            };
            let decided = decide(tx.clone()).await;
            let touched = tx.lock().take().unwrap_or_default();
            let key = metadata.idempotency_key.as_deref();
            if let Some(key) = key {
                // Sent again after it committed: the original outcome, never a second decision.
                if let Some((streams, position)) = self.committed_under(&touched, key).await? {
                    return match decided {
                        Ok(value) => Ok(Transacted {
                            value,
                            streams,
                            position,
                            retries,
                            duplicate: true,
                        }),
                        Err(_) => Err(TransactionError::AlreadyCommitted { streams, position }),
                    };
                }
            }
            if touched.is_empty() {
                // Nothing loaded: nothing to guard, nothing to write.
                return match decided {
                    Ok(value) => Ok(transacted(value, &[], &[], retries)),
                    Err(error) => Err(TransactionError::Rejected(error)),
                };
            }
            let value = match decided {
                Ok(value) => value,
                // A refusal stands only when taken on the latest state of everything loaded.
                Err(error) if self.all_current(&touched).await? => {
                    return Err(TransactionError::Rejected(error));
                }
                Err(_) => {
                    forget(&touched);
                    retries = self.next_try(retries, &touched[0].stream).await?;
                    continue;
                }
            };
            let parts: Vec<StreamAppend> = touched
                .iter()
                .map(|t| {
                    StreamAppend::new(
                        &t.stream,
                        ExpectedVersion::Exact(t.loaded),
                        t.staged.clone(),
                    )
                })
                .collect();
            let sent = parts.clone();
            let appending = Instant::now();
            let appended = self.inner.store.append_streams(parts).await;
            observability::append_finished(appending);
            match appended {
                // A keyed call the store answered with an earlier call's results (the same ids
                // at the same places) holds that call's events: ours only if they are what we
                // sent; otherwise the next turn finds the original outcome.
                Ok(_) if key.is_some() && !self.stored_as_sent(&sent).await? => {
                    forget(&touched);
                    retries = self.next_try(retries, &sent[0].stream).await?;
                }
                Ok(results) => {
                    self.after_commit(&touched, &sent, &results).await;
                    return Ok(transacted(value, &sent, &results, retries));
                }
                Err(Error::DuplicateEvent { .. }) if key.is_some() => {
                    // Another call with the key won: the next turn finds its outcome.
                    forget(&touched);
                    retries = self.next_try(retries, &sent[0].stream).await?;
                }
                Err(Error::Conflict { stream, .. }) => {
                    forget(&touched);
                    retries = self.next_try(retries, &stream).await?;
                }
                Err(error) => {
                    // Maybe written, maybe not: read every stream again next time.
                    forget(&touched);
                    return Err(error.into());
                }
            }
        }
    }

    /// Whether the store holds, after each part's expected version, the events the part sent.
    async fn stored_as_sent(&self, sent: &[StreamAppend]) -> Result<bool, Error> {
        for part in sent.iter().filter(|part| !part.events.is_empty()) {
            let ExpectedVersion::Exact(version) = part.expected else {
                continue;
            };
            if !stored_as_sent(&self.inner.store, &part.stream, version, Some(&part.events)).await?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Counts a retry, or gives up; waits a jittered pause before the next try.
    async fn next_try<E>(&self, retries: u32, stream: &str) -> Result<u32, TransactionError<E>> {
        if retries == self.inner.max_retries {
            return Err(TransactionError::TooManyConflicts {
                stream: stream.to_owned(),
                retries,
            });
        }
        let retries = retries + 1;
        Span::current().record("retries", retries);
        tracing::debug!(retries, stream, "a loaded aggregate moved; deciding again");
        tokio::time::sleep(retry_pause(retries)).await;
        Ok(retries)
    }

    /// Whether every aggregate the decision loaded is still at the version it saw.
    async fn all_current(&self, touched: &[Touched]) -> Result<bool, Error> {
        for t in touched {
            if self.inner.store.stream_version(&t.stream).await? != t.loaded {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// After a commit: the cached aggregates it wrote take their new state, and the inline
    /// projections take its records.
    async fn after_commit(
        &self,
        touched: &[Touched],
        sent: &[StreamAppend],
        results: &[AppendResult],
    ) {
        for (t, result) in touched.iter().zip(results) {
            if !t.staged.is_empty() {
                (t.settle)(Some((&*t.state, result.version)));
            }
        }
        let inline = self.inner.projections.iter().any(|p| p.is_inline());
        for (part, result) in sent.iter().zip(results) {
            if !part.events.is_empty() {
                let records = inline.then(|| part.events.clone());
                self.project_inline(&part.stream, records, result).await;
            }
        }
    }

    /// The streams and last position of the transaction committed under idempotency `key`
    /// on any of the `touched` streams (its event ids derive from the stream and the key), or
    /// `None` when none was.
    async fn committed_under(
        &self,
        touched: &[Touched],
        key: &str,
    ) -> Result<Option<(Vec<(String, u64)>, u64)>, Error> {
        let mut streams = Vec::new();
        let mut position = 0;
        for t in touched {
            let mut last = None;
            for index in 0.. {
                let id = idempotent_id(&t.stream, key, index);
                let Some(record) = self.inner.store.find_event(id).await? else {
                    break;
                };
                last = Some((record.version, record.position));
            }
            if let Some((version, at)) = last {
                streams.push((t.stream.clone(), version));
                position = position.max(at);
            }
        }
        Ok((!streams.is_empty()).then_some((streams, position)))
    }
}

/// Has the app read every stream the decision loaded again before it next uses it.
fn forget(touched: &[Touched]) {
    for t in touched {
        (t.settle)(None);
    }
}

/// The outcome, from the parts sent and the store's results.
fn transacted<T>(
    value: T,
    sent: &[StreamAppend],
    results: &[AppendResult],
    retries: u32,
) -> Transacted<T> {
    let written: Vec<_> = sent
        .iter()
        .zip(results)
        .filter(|(part, _)| !part.events.is_empty())
        .collect();
    Transacted {
        value,
        streams: written
            .iter()
            .map(|(part, result)| (part.stream.clone(), result.version))
            .collect(),
        position: written
            .iter()
            .map(|(_, result)| result.position)
            .max()
            .unwrap_or(0),
        retries,
        duplicate: false,
    }
}
