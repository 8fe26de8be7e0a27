//! What a process manager or a reactor decides: commands to send, deadlines to set or cancel,
//! and whether its work is done; and what comes back when a command is refused.

use std::any::{Any, TypeId, type_name};
use std::fmt;
use std::time::Duration;

use crate::aggregate::Aggregate;
use crate::command::AggregateCommand;
use crate::record::Timestamp;

/// The steps a handler of a process manager or reactor decides on: commands to send (in order,
/// each with an idempotency key derived from the event or deadline that led to it), deadlines
/// to set or cancel, and whether the instance's work is done.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use es_core::prelude::*;
/// use es_core::process::Steps;
///
/// #[derive(Command, Debug, Clone)]
/// struct Withdraw { #[id] account: String, amount: u64 }
/// # #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// # struct MoneyWithdrawn { amount: u64 }
/// # #[derive(Debug, Clone, Default)]
/// # struct Account;
/// # #[aggregate(name = "account")]
/// # impl Account {
/// #     #[handle] fn withdraw(&self, c: Withdraw) -> MoneyWithdrawn { MoneyWithdrawn { amount: c.amount } }
/// #     #[apply] fn withdrawn(&mut self, _e: &MoneyWithdrawn) {}
/// # }
///
/// let steps = Steps::new()
///     .send(Withdraw { account: "alice".into(), amount: 30 })
///     .deadline_in("confirmation", Duration::from_secs(60));
/// assert_eq!(steps.commands().collect::<Vec<_>>(), [r#"Withdraw { account: "alice", amount: 30 }"#]);
/// ```
#[derive(Default)]
#[must_use]
pub struct Steps {
    pub(crate) commands: Vec<Outgoing>,
    pub(crate) deadlines: Vec<DeadlineChange>,
    pub(crate) done: bool,
}

impl fmt::Debug for Steps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Steps")
            .field("commands", &self.commands().collect::<Vec<_>>())
            .field("deadlines", &self.deadlines)
            .field("done", &self.done)
            .finish()
    }
}

impl Steps {
    /// No steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `command` (after the commands added before it). A refusal comes back to the
    /// process manager's `#[refused]` method for that command type, and the commands after it
    /// are not sent: that method's steps take their place.
    pub fn send<Cmd>(mut self, command: Cmd) -> Self
    where
        Cmd: AggregateCommand + Clone + fmt::Debug + Sync,
    {
        self.commands.push(Outgoing::new(command));
        self
    }

    /// Sets the deadline `name` (replacing one of that name) to fire at `at`, measured by the
    /// runner's clock.
    pub fn deadline_at(mut self, name: impl Into<String>, at: Timestamp) -> Self {
        self.deadlines.push(DeadlineChange::Set {
            name: name.into(),
            at: Due::At(at),
        });
        self
    }

    /// Sets the deadline `name` to fire `after` from the moment the step is taken, by the
    /// runner's clock.
    pub fn deadline_in(mut self, name: impl Into<String>, after: Duration) -> Self {
        self.deadlines.push(DeadlineChange::Set {
            name: name.into(),
            at: Due::In(after),
        });
        self
    }

    /// Cancels the deadline `name`, if set.
    pub fn cancel_deadline(mut self, name: impl Into<String>) -> Self {
        self.deadlines
            .push(DeadlineChange::Cancel { name: name.into() });
        self
    }

    /// Ends the instance: its deadlines are cancelled and later events for it are ignored.
    pub fn done(mut self) -> Self {
        self.done = true;
        self
    }

    /// Adds the steps of `other` after these.
    pub fn and(mut self, other: Steps) -> Self {
        self.commands.extend(other.commands);
        self.deadlines.extend(other.deadlines);
        self.done |= other.done;
        self
    }

    /// The commands, each as its `Debug` text, in order.
    pub fn commands(&self) -> impl Iterator<Item = &str> {
        self.commands
            .iter()
            .map(|command| command.describe.as_str())
    }

    /// The deadline changes, in order.
    pub fn deadlines(&self) -> &[DeadlineChange] {
        &self.deadlines
    }

    /// Whether the instance's work is done.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

/// When a deadline is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// At this time.
    At(Timestamp),
    /// This long after the step that sets it.
    In(Duration),
}

impl Due {
    /// The time it is due, for a step taken at `now`.
    pub fn resolve(self, now: Timestamp) -> Timestamp {
        match self {
            Self::At(at) => at,
            Self::In(after) => Timestamp(
                now.0
                    .saturating_add(i64::try_from(after.as_micros()).unwrap_or(i64::MAX)),
            ),
        }
    }
}

/// A change of a deadline, as a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadlineChange {
    /// Sets (or moves) the deadline.
    Set {
        /// Its name, unique within the instance.
        name: String,
        /// When it is due.
        at: Due,
    },
    /// Cancels it.
    Cancel {
        /// Its name.
        name: String,
    },
}

/// A command to send, with its type erased: the runner sends it through the app, which knows
/// the aggregate by its `TypeId`.
pub(crate) struct Outgoing {
    pub(crate) aggregate: TypeId,
    pub(crate) aggregate_name: &'static str,
    pub(crate) stream: String,
    /// A `Box<dyn Fn() -> A::Command + Send + Sync>`: the command, made once per try.
    pub(crate) make: Box<dyn Any + Send + Sync>,
    /// The command as given, for the `#[refused]` method that takes it.
    pub(crate) command: std::sync::Arc<dyn Any + Send + Sync>,
    pub(crate) command_type: &'static str,
    pub(crate) describe: String,
}

/// How the app makes an aggregate's command from an [`Outgoing`].
pub(crate) type MakeCommand<A> = Box<dyn Fn() -> <A as Aggregate>::Command + Send + Sync>;

impl Outgoing {
    fn new<Cmd>(command: Cmd) -> Self
    where
        Cmd: AggregateCommand + Clone + fmt::Debug + Sync,
    {
        let stream = Cmd::Aggregate::stream_name(command.aggregate_id());
        let describe = format!("{command:?}");
        let kept = command.clone();
        let make: MakeCommand<Cmd::Aggregate> = Box::new(move || command.clone().into_command());
        Self {
            aggregate: TypeId::of::<Cmd::Aggregate>(),
            aggregate_name: type_name::<Cmd::Aggregate>(),
            stream,
            make: Box::new(make),
            command: std::sync::Arc::new(kept),
            command_type: type_name::<Cmd>(),
            describe,
        }
    }
}

/// A command the aggregate refused, given back to the process manager that sent it: its
/// `#[refused]` methods take the command and the aggregate's error by type.
#[derive(Clone)]
pub struct Refusal {
    pub(crate) command: std::sync::Arc<dyn Any + Send + Sync>,
    pub(crate) command_type: &'static str,
    pub(crate) error: std::sync::Arc<dyn Any + Send + Sync>,
    pub(crate) message: String,
}

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refusal")
            .field("command", &self.command_type)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl Refusal {
    /// The refused command, if it is a `Cmd`.
    pub fn command<Cmd: 'static>(&self) -> Option<&Cmd> {
        self.command.downcast_ref()
    }

    /// The aggregate's error, if it is an `E`.
    pub fn error<E: 'static>(&self) -> Option<&E> {
        self.error.downcast_ref()
    }

    /// The refused command's type name.
    pub fn command_type(&self) -> &'static str {
        self.command_type
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}
