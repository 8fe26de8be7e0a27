//! Running a process manager: follow the global log from the checkpoint, route each event to
//! its instance, carry out the steps its handler decides, and record the instance's new state
//! (with its deadline changes, guarded by the lease) in one multi-stream append; fire the
//! deadlines that are due.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::ProcessManager;
use super::clock::{Clock, SystemClock};
use super::lease::{Holding, Lease};
use super::record::{
    DEADLINE, DeadlineRecord, STEP, Step, decode, derived_id, instance_stream, new_event,
};
use super::steps::{DeadlineChange, Steps};
use crate::app::{App, Sent};
use crate::codec::{Codec, Json};
use crate::error::{Error, Panicked, catch_panic_async};
use crate::record::{NewEvent, RecordedEvent};
use crate::store::{EventStore, ExpectedVersion, StreamAppend};

/// The most commands one event or deadline may lead to, refusals' compensations included: a
/// bound on a handler that keeps answering a refusal with the same command.
const MAX_COMMANDS: usize = 256;

/// How many instances a runner keeps in memory; past it, it forgets them all (and reads each
/// again from its stream when next needed).
const MAX_CACHED: usize = 10_000;

/// How many events of the log a run reads per round trip.
const BATCH: usize = 256;

/// What one [`ProcessRunner::run_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Whether this node held the lease (if not, it did nothing).
    pub leading: bool,
    /// The events of the log that led to a step of an instance (process managers) or to
    /// commands (reactors).
    pub events: usize,
    /// The deadlines fired.
    pub deadlines: usize,
    /// The position of the global log it has processed.
    pub position: u64,
}

/// Runs process manager `P` over an app: one per process manager and node; the lease lets only
/// one node's runner act at a time, the others wait to take over.
///
/// # Examples
/// ```
/// # use es_core::prelude::*;
/// # #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// # struct Started { id: String }
/// # #[derive(Debug, Clone, Default, Serialize, Deserialize)]
/// # struct Flow;
/// # #[process_manager]
/// # impl Flow { #[on(key = id)] fn started(&mut self, _e: &Started) {} }
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::builder(InMemoryEventStore::new()).build()?;
/// let mut runner = ProcessRunner::<Flow, _>::new(app.clone(), ());
/// let progress = runner.run_once().await?;          // or: tokio::spawn(runner.run(poll))
/// assert!(progress.leading);
/// # let _ = Duration::ZERO;
/// # Ok(())
/// # }
/// ```
pub struct ProcessRunner<P: ProcessManager, S, C = Json> {
    app: App<S, C>,
    services: P::Services,
    clock: Arc<dyn Clock>,
    lease: Lease,
    /// The instances read so far, by correlation key.
    instances: HashMap<String, Instance<P>>,
    /// The deadlines, once read from their stream.
    schedule: Option<Schedule>,
}

impl<P: ProcessManager, S, C> std::fmt::Debug for ProcessRunner<P, S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessRunner")
            .field("process", &P::NAME)
            .field("lease", &self.lease)
            .field("instances", &self.instances.len())
            .finish_non_exhaustive()
    }
}

/// One instance as stored: its stream's version and its state.
struct Instance<P> {
    stream: String,
    version: u64,
    state: P,
    done: bool,
    /// The correlation id of the first event it handled: the conversation its commands join.
    correlation: Option<Uuid>,
}

/// The deadlines as stored: the stream's version, and each deadline by due time.
#[derive(Debug, Default)]
struct Schedule {
    version: u64,
    due: BTreeSet<(i64, String, String)>,
    at: HashMap<(String, String), i64>,
}

impl Schedule {
    fn apply(&mut self, change: &DeadlineRecord) {
        match change {
            DeadlineRecord::Set { key, name, at } => {
                self.clear(key, name);
                self.due.insert((*at, key.clone(), name.clone()));
                self.at.insert((key.clone(), name.clone()), *at);
            }
            DeadlineRecord::Cleared { key, name } => self.clear(key, name),
        }
    }

    fn clear(&mut self, key: &str, name: &str) {
        if let Some(at) = self.at.remove(&(key.to_owned(), name.to_owned())) {
            self.due.remove(&(at, key.to_owned(), name.to_owned()));
        }
    }

    /// The deadlines of the instance `key`, by name.
    fn of(&self, key: &str) -> Vec<String> {
        self.at
            .keys()
            .filter(|(k, _)| k == key)
            .map(|(_, name)| name.clone())
            .collect()
    }
}

/// What leads to a step: an event of the log, or a deadline.
enum Trigger<'a, P: ProcessManager> {
    Event(&'a RecordedEvent, P::Input),
    Deadline { name: String, at: i64 },
}

impl<P: ProcessManager, S: EventStore, C: Codec> ProcessRunner<P, S, C> {
    /// A runner of `P` over `app`, with `services` for its handlers, the system clock and a
    /// lease of 10 s.
    pub fn new(app: App<S, C>, services: P::Services) -> Self {
        Self {
            app,
            services,
            clock: Arc::new(SystemClock),
            lease: Lease::new(P::NAME, Uuid::now_v7(), Duration::from_secs(10)),
            instances: HashMap::new(),
            schedule: None,
        }
    }

    /// Reads time from `clock` (deadlines, the lease): a [`ManualClock`](super::ManualClock)
    /// in tests.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long the lease lasts without renewal (default 10 s): how long the other nodes wait
    /// to take over after this one dies. It is renewed when half of it is left.
    #[must_use]
    pub fn lease(mut self, ttl: Duration) -> Self {
        self.lease = Lease::new(P::NAME, Uuid::now_v7(), ttl);
        self
    }

    /// Runs until the process fails: [`run_once`](Self::run_once), then waits for the log to
    /// grow or `poll` to pass (deadlines come due, the lease may free up), again and again. An
    /// error is logged and retried after `poll`.
    pub async fn run(mut self, poll: Duration) {
        let mut head = self.app.store().head();
        loop {
            if let Err(error) = self.run_once().await {
                tracing::warn!(process = P::NAME, %error, "process manager step failed; retrying");
            }
            let _ = tokio::time::timeout(poll, head.changed()).await;
        }
    }

    /// Takes or renews the lease; holding it, handles the events of the log after the
    /// checkpoint, up to its end, then fires the deadlines that are due.
    ///
    /// # Errors
    /// When the store fails or an event cannot be decoded: the checkpoint stays before the
    /// event, which is handled again on the next run (its commands are idempotent).
    pub async fn run_once(&mut self) -> Result<Progress, Error> {
        let mut progress = Progress::default();
        if !self.lead().await? {
            return Ok(progress);
        }
        progress.leading = true;
        let name = checkpoint_name::<P>();
        let mut checkpoint = self.app.store().load_checkpoint(&name).await?;
        loop {
            let batch = self.app.store().read_all(checkpoint, BATCH).await?;
            let Some(last) = batch.last().map(|record| record.position) else {
                break;
            };
            for record in &batch {
                if let Some((key, input)) = P::route(record, self.app.codec())? {
                    if !self.lead().await? {
                        self.app.store().save_checkpoint(&name, checkpoint).await?;
                        return Ok(progress);
                    }
                    if self.step(&key, Trigger::Event(record, input)).await? {
                        progress.events += 1;
                    }
                }
                checkpoint = record.position;
            }
            self.app.store().save_checkpoint(&name, last).await?;
            if batch.len() < BATCH {
                break;
            }
        }
        progress.position = checkpoint;
        let now = self.clock.now().0;
        while let Some((at, key, deadline)) = self
            .schedule
            .as_ref()
            .and_then(|schedule| schedule.due.first().cloned())
            .filter(|(at, _, _)| *at <= now)
        {
            if !self.lead().await? {
                break;
            }
            self.step(&key, Trigger::Deadline { name: deadline, at })
                .await?;
            progress.deadlines += 1;
        }
        Ok(progress)
    }

    /// Holds the lease; on taking it, forgets what was read (another node may have written).
    async fn lead(&mut self) -> Result<bool, Error> {
        match self.lease.hold(self.app.store(), &*self.clock).await? {
            Holding::Kept if self.schedule.is_some() => Ok(true),
            Holding::Kept | Holding::Taken => {
                self.instances.clear();
                self.schedule = Some(self.read_schedule().await?);
                Ok(true)
            }
            Holding::Elsewhere => {
                self.instances.clear();
                self.schedule = None;
                Ok(false)
            }
        }
    }

    async fn read_schedule(&self) -> Result<Schedule, Error> {
        let stream = deadlines_stream::<P>();
        let mut schedule = Schedule::default();
        loop {
            let records = self
                .app
                .store()
                .read_stream(&stream, schedule.version + 1, 1024)
                .await?;
            for record in &records {
                schedule.apply(&decode(record)?);
                schedule.version = record.version;
            }
            if records.len() < 1024 {
                return Ok(schedule);
            }
        }
    }

    /// The instance `key`, from memory or its stream.
    async fn instance(&mut self, key: &str) -> Result<&mut Instance<P>, Error> {
        if !self.instances.contains_key(key) {
            let stream = instance_stream(P::NAME, key);
            let version = self.app.store().stream_version(&stream).await?;
            let (state, done, correlation) = if version == 0 {
                (P::default(), false, None)
            } else {
                let last = self.app.store().read_stream(&stream, version, 1).await?;
                let record = last
                    .first()
                    .ok_or_else(|| Error::backend(format!("`{stream}` lost its last step")))?;
                let step: Step<P> = decode(record)?;
                (step.state, step.done, step.correlation)
            };
            if self.instances.len() >= MAX_CACHED {
                self.instances.clear();
            }
            self.instances.insert(
                key.to_owned(),
                Instance {
                    stream,
                    version,
                    state,
                    done,
                    correlation,
                },
            );
        }
        Ok(self
            .instances
            .get_mut(key)
            .expect("the instance was just inserted"))
    }

    /// Takes one step of instance `key`: handles the trigger on a copy of its state, carries
    /// out the steps, and records the new state with its deadline changes. Returns whether a
    /// step was taken (not when the trigger was handled before, or the instance is done).
    async fn step(&mut self, key: &str, trigger: Trigger<'_, P>) -> Result<bool, Error> {
        let id = match &trigger {
            Trigger::Event(record, _) => {
                derived_id(&[P::NAME, key, "event", &record.id.to_string()])
            }
            Trigger::Deadline { name, at } => {
                derived_id(&[P::NAME, key, "deadline", name, &at.to_string()])
            }
        };
        let instance = self.instance(key).await?;
        let (mut state, done, stream, version, conversation) = (
            instance.state.clone(),
            instance.done,
            instance.stream.clone(),
            instance.version,
            instance.correlation,
        );
        let mut changes = Vec::new();
        if let Trigger::Deadline { name, .. } = &trigger {
            changes.push(DeadlineRecord::Cleared {
                key: key.to_owned(),
                name: name.clone(),
            });
        }
        if done || self.app.store().find_event(id).await?.is_some() {
            // Handled before (its step is stored: read the instance again next time), or the
            // instance's work is over.
            if !done {
                self.instances.remove(key);
            }
            if !changes.is_empty() {
                self.record(key, None, changes).await?;
            }
            return Ok(false);
        }
        // A panicking method changed only `state`, a copy, which is dropped with the error.
        let (steps, correlation, what) = match trigger {
            Trigger::Event(record, input) => (
                catch_panic_async(state.on_event(input, self.app.meta(record), &self.services))
                    .await,
                conversation.or(record.metadata.correlation_id),
                format!(
                    "event `{}` at version {} of stream `{}`",
                    record.name, record.version, record.stream
                ),
            ),
            Trigger::Deadline { ref name, .. } => (
                catch_panic_async(state.on_deadline(name, &self.services)).await,
                conversation,
                format!("deadline `{name}`"),
            ),
        };
        let steps = steps.map_err(|panic| failed::<P>(key, what, panic))?;
        let outcome = self
            .carry_out(&mut state, key, steps, &id.to_string(), correlation)
            .await?;
        let now = self.clock.now();
        for change in outcome.deadlines {
            changes.push(match change {
                DeadlineChange::Set { name, at } => DeadlineRecord::Set {
                    key: key.to_owned(),
                    name,
                    at: at.resolve(now).0,
                },
                DeadlineChange::Cancel { name } => DeadlineRecord::Cleared {
                    key: key.to_owned(),
                    name,
                },
            });
        }
        if outcome.done {
            // A done instance has no deadlines: none it had, none it set in this step.
            changes.retain(|change| !matches!(change, DeadlineRecord::Set { .. }));
            let schedule = self
                .schedule
                .as_ref()
                .map(|s| s.of(key))
                .unwrap_or_default();
            changes.extend(schedule.into_iter().map(|name| DeadlineRecord::Cleared {
                key: key.to_owned(),
                name,
            }));
        }
        let step = Step {
            trigger: id,
            state,
            done: outcome.done,
            correlation,
        };
        let event = new_event(id, STEP, &step)?;
        self.record(key, Some((stream, version, event, step)), changes)
            .await?;
        Ok(true)
    }

    /// Appends an instance's step (if any) and deadline changes in one call guarded by the
    /// lease, and takes them into memory.
    async fn record(
        &mut self,
        key: &str,
        step: Option<(String, u64, NewEvent, Step<P>)>,
        changes: Vec<DeadlineRecord>,
    ) -> Result<(), Error> {
        let schedule = self
            .schedule
            .as_ref()
            .ok_or_else(|| Error::backend("deadlines not read"))?;
        let mut parts = Vec::with_capacity(3);
        if let Some((stream, version, event, _)) = &step {
            parts.push(StreamAppend::new(
                stream,
                ExpectedVersion::Exact(*version),
                vec![event.clone()],
            ));
        }
        let deadlines_part = (!changes.is_empty()).then_some(parts.len());
        if !changes.is_empty() {
            let base = step
                .as_ref()
                .map_or_else(Uuid::now_v7, |(_, _, event, _)| event.id);
            let events = changes
                .iter()
                .enumerate()
                .map(|(index, change)| {
                    let id = derived_id(&[&base.to_string(), "deadline", &index.to_string()]);
                    new_event(id, DEADLINE, change)
                })
                .collect::<Result<_, _>>()?;
            parts.push(StreamAppend::new(
                deadlines_stream::<P>(),
                ExpectedVersion::Exact(schedule.version),
                events,
            ));
        }
        parts.push(self.lease.guard()?);
        match self.app.store().append_streams(parts).await {
            Ok(results)
                if !results
                    .last()
                    .is_some_and(|guard| self.lease.still_ours(guard)) =>
            {
                // Answered as a retry of the same step another node recorded meanwhile: this
                // node lost the lease; read everything again.
                self.lease.lost();
                self.instances.clear();
                self.schedule = None;
                Err(Error::backend(
                    "another node recorded this step; the lease moved",
                ))
            }
            Ok(results) => {
                if let Some((stream, _, _, step)) = step {
                    let version = results[0].version;
                    // The store is the truth: the cache is only emptied, never wrong. A done
                    // instance is read again (and skipped) if an event for it comes.
                    if step.done || self.instances.len() >= MAX_CACHED {
                        self.instances.remove(key);
                        if self.instances.len() >= MAX_CACHED {
                            self.instances.clear();
                        }
                        self.apply_changes(deadlines_part, &changes, &results);
                        return Ok(());
                    }
                    self.instances.insert(
                        key.to_owned(),
                        Instance {
                            stream,
                            version,
                            state: step.state,
                            done: step.done,
                            correlation: step.correlation,
                        },
                    );
                }
                self.apply_changes(deadlines_part, &changes, &results);
                Ok(())
            }
            Err(error) if error.is_conflict() || matches!(error, Error::DuplicateEvent { .. }) => {
                // Another node took the lease, or wrote this step: read everything again.
                tracing::info!(process = P::NAME, %error, "lost the lease or the step; reading again");
                self.lease.lost();
                self.instances.clear();
                self.schedule = None;
                Err(error)
            }
            Err(error) => {
                // Maybe written, maybe not: read the instance and the deadlines again.
                self.instances.remove(key);
                self.schedule = None;
                Err(error)
            }
        }
    }

    /// Takes the recorded deadline changes into the schedule.
    fn apply_changes(
        &mut self,
        part: Option<usize>,
        changes: &[DeadlineRecord],
        results: &[crate::store::AppendResult],
    ) {
        if let (Some(part), Some(schedule)) = (part, self.schedule.as_mut()) {
            for change in changes {
                schedule.apply(change);
            }
            schedule.version = results[part].version;
        }
    }

    /// Sends the commands of `steps` in order, each keyed by `base` and its index; a refusal
    /// goes to the instance's `on_refused`, whose commands replace those not sent yet. Returns
    /// the deadline changes and whether the instance is done.
    async fn carry_out(
        &self,
        state: &mut P,
        key: &str,
        steps: Steps,
        base: &str,
        correlation: Option<Uuid>,
    ) -> Result<Outcome, Error> {
        let mut queue = VecDeque::from(steps.commands);
        let mut outcome = Outcome {
            deadlines: steps.deadlines,
            done: steps.done,
        };
        let (mut index, mut sent, mut compensations) = (0, 0, 0);
        let mut base_index = base.to_owned();
        while let Some(outgoing) = queue.pop_front() {
            sent += 1;
            if sent > MAX_COMMANDS {
                return Err(Error::backend(format!(
                    "process `{}` decided more than {MAX_COMMANDS} commands for one event",
                    P::NAME
                )));
            }
            let idempotency = format!("{}:{base_index}:{index}", P::NAME);
            index += 1;
            self.lease.check(&*self.clock)?;
            if let Sent::Refused(refusal) = self
                .app
                .send_outgoing(&outgoing, idempotency, correlation)
                .await?
            {
                tracing::debug!(
                    process = P::NAME,
                    command = refusal.command_type(),
                    reason = refusal.message(),
                    "refused"
                );
                // The commands after a refused one depended on it: the `#[refused]` method's
                // steps replace them, keyed apart so that no key ever names two commands.
                let more = catch_panic_async(state.on_refused(&refusal, &self.services))
                    .await
                    .map_err(|panic| {
                        let what = format!("the refusal of `{}`", refusal.command_type());
                        failed::<P>(key, what, panic)
                    })?;
                queue.clear();
                queue.extend(more.commands);
                compensations += 1;
                base_index = format!("{base}:r{compensations}");
                index = 0;
                outcome.deadlines.extend(more.deadlines);
                outcome.done |= more.done;
            }
        }
        Ok(outcome)
    }
}

/// What carrying out an instance's steps left to record.
struct Outcome {
    deadlines: Vec<DeadlineChange>,
    done: bool,
}

/// The error of a method of `P` that panicked on `what` for instance `key`.
fn failed<P: ProcessManager>(key: &str, what: String, panic: Panicked) -> Error {
    Error::Process {
        process: P::NAME,
        key: key.to_owned(),
        trigger: what,
        source: Box::new(panic),
    }
}

/// The checkpoint of process `P`.
fn checkpoint_name<P: ProcessManager>() -> String {
    format!("process-{}", P::NAME)
}

/// The deadlines of process `P`.
fn deadlines_stream<P: ProcessManager>() -> String {
    format!("process-{}.deadlines", P::NAME)
}
