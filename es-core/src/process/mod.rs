//! Work that follows events across aggregates: process managers (long-running, with state and
//! deadlines) and reactors (stateless: an event leads to commands or a side effect).
//!
//! Both run on a [`ProcessRunner`] that follows the global log from a checkpoint, holds a lease
//! so that one node at a time runs a given process, and sends the commands its handlers decide
//! through the [`App`](crate::App), each with an idempotency key derived from the event (or
//! deadline) that led to it: a process resumed after a crash, or an event delivered twice,
//! never applies an effect twice.
//!
//! # Where a process manager keeps its state
//!
//! In the event store, as events, so every backend keeps it alike:
//! - each instance has a stream `process-{NAME}-{key}`; each event handled appends one record of
//!   the instance's state, whose id derives from the handled event's id (a redelivered event is
//!   found handled by that id, and skipped);
//! - deadlines are events of the stream `process-{NAME}.deadlines`, appended in the same
//!   multi-stream append as the step that sets or cancels them;
//! - the lease is the stream `process-{NAME}.lease`; each step's append is guarded by its
//!   version, so a node that lost the lease cannot write another step.

mod clock;
mod lease;
mod reactor;
mod record;
mod runner;
pub(crate) mod steps;

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use clock::{Clock, ManualClock, SystemClock};
pub use reactor::{Reactor, ReactorRunner};
pub use runner::{ProcessRunner, Progress};
pub use steps::{DeadlineChange, Due, Refusal, Steps};

use crate::codec::Codec;
use crate::error::Error;
use crate::projection::EventMeta;
use crate::record::RecordedEvent;

/// A long-running process across aggregates: instances found by a correlation key taken from
/// the events they handle, each with its own state, reacting to events, to refusals of the
/// commands it sent, and to its deadlines. `#[process_manager]` implements it from an `impl`
/// block's `#[on]`, `#[refused]` and `#[deadline]` methods.
pub trait ProcessManager:
    Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The process manager's name: its streams, checkpoint and lease are named after it.
    const NAME: &'static str;

    /// The stored names of the events it handles.
    const HANDLES: &'static [&'static str];

    /// What its handlers may use besides the event (a clock, a client).
    type Services: Send + Sync + 'static;

    /// An event it handles, decoded.
    type Input: Send;

    /// When it handles `record`: the instance's correlation key and the decoded event.
    ///
    /// # Errors
    /// When the event does not decode; the error names it.
    fn route<C: Codec>(
        record: &RecordedEvent,
        codec: &C,
    ) -> Result<Option<(String, Self::Input)>, Error>;

    /// Handles an event of the instance.
    fn on_event(
        &mut self,
        input: Self::Input,
        meta: EventMeta<'_>,
        services: &Self::Services,
    ) -> impl Future<Output = Steps> + Send;

    /// Handles the refusal of a command the instance sent; by default, no steps.
    fn on_refused(
        &mut self,
        refusal: &Refusal,
        services: &Self::Services,
    ) -> impl Future<Output = Steps> + Send;

    /// Handles the deadline `name` of the instance, now due.
    fn on_deadline(
        &mut self,
        name: &str,
        services: &Self::Services,
    ) -> impl Future<Output = Steps> + Send;
}
