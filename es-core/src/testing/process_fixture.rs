//! Given events, when an event (a refusal, a deadline), then expect commands and deadlines:
//! a process manager's decisions without a store or an app.

use std::fmt::Debug;
use std::sync::Arc;

use crate::codec::{Codec, Json};
use crate::event::Event;
use crate::process::{DeadlineChange, Due, ProcessManager, Refusal, Steps};
use crate::record::{NewEvent, RecordedEvent, Timestamp};

/// A test of one process manager instance's decisions: given the events it handled before
/// (their commands taken as accepted), when an event, a refusal or a deadline, then the commands
/// it sends, the deadlines it sets or cancels, and whether it is done.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use es_core::prelude::*;
/// use es_core::process::Due;
/// use es_core::testing::ProcessFixture;
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// struct OrderPlaced { order: String }
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// struct OrderPaid { order: String }
/// #[derive(Command, Debug, Clone)]
/// struct CancelOrder { #[id] order: String }
/// # #[derive(Debug, Clone, Default)] struct Order;
/// # #[aggregate(name = "order")]
/// # impl Order {
/// #     #[handle] fn cancel(&self, _c: CancelOrder) {}
/// #     #[apply] fn placed(&mut self, _e: &OrderPlaced) {}
/// #     #[apply] fn paid(&mut self, _e: &OrderPaid) {}
/// # }
///
/// #[derive(Debug, Clone, Default, Serialize, Deserialize)]
/// struct Payment { order: String }
///
/// #[process_manager]
/// impl Payment {
///     #[on(key = order)]
///     fn placed(&mut self, e: &OrderPlaced) -> Steps {
///         self.order.clone_from(&e.order);
///         Steps::new().deadline_in("unpaid", Duration::from_secs(3600))
///     }
///     #[on(key = order)]
///     fn paid(&mut self, _e: &OrderPaid) -> Steps {
///         Steps::new().cancel_deadline("unpaid").done()
///     }
///     #[deadline]
///     fn unpaid(&mut self) -> Steps {
///         Steps::new().send(CancelOrder { order: self.order.clone() }).done()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// ProcessFixture::<Payment>::new(())
///     .when(OrderPlaced { order: "o1".into() })
///     .await
///     .then_sets_deadline("unpaid", Due::In(Duration::from_secs(3600)))
///     .then_sends_nothing();
///
/// ProcessFixture::<Payment>::new(())
///     .given(OrderPlaced { order: "o1".into() })
///     .await
///     .when_deadline("unpaid")
///     .await
///     .then_sends(CancelOrder { order: "o1".into() })
///     .then_done();
/// # }
/// ```
pub struct ProcessFixture<P: ProcessManager, C = Json> {
    state: P,
    services: P::Services,
    codec: C,
    version: u64,
}

impl<P: ProcessManager> ProcessFixture<P> {
    /// A fresh instance whose handlers get `services`.
    pub fn new(services: P::Services) -> Self {
        Self {
            state: P::default(),
            services,
            codec: Json,
            version: 0,
        }
    }
}

impl<P: ProcessManager, C: Codec> ProcessFixture<P, C> {
    /// The instance handles `event` (which must be one it handles); the commands it decides are
    /// taken as accepted.
    ///
    /// # Panics
    /// When the process manager does not handle `event`, or it does not encode.
    pub async fn given<E: Event>(mut self, event: E) -> Self {
        drop(self.handle(event).await);
        self
    }

    /// The instance handles `event`; then check what it decided.
    ///
    /// # Panics
    /// As [`given`](Self::given).
    pub async fn when<E: Event>(mut self, event: E) -> ProcessOutcome<P> {
        let steps = self.handle(event).await;
        ProcessOutcome::new(self.state, steps)
    }

    /// The aggregate refused `command` with `error`: the instance's `#[refused]` method decides.
    pub async fn when_refused<Cmd, E>(mut self, command: Cmd, error: E) -> ProcessOutcome<P>
    where
        Cmd: Send + Sync + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let refusal = Refusal {
            command: Arc::new(command),
            command_type: std::any::type_name::<Cmd>(),
            message: error.to_string(),
            error: Arc::new(error),
        };
        let steps = self.state.on_refused(&refusal, &self.services).await;
        ProcessOutcome::new(self.state, steps)
    }

    /// The instance's deadline `name` is due.
    pub async fn when_deadline(mut self, name: &str) -> ProcessOutcome<P> {
        let steps = self.state.on_deadline(name, &self.services).await;
        ProcessOutcome::new(self.state, steps)
    }

    async fn handle<E: Event>(&mut self, event: E) -> Steps {
        self.version += 1;
        let payload = self.codec.encode(&event).expect("the event encodes");
        let new = NewEvent::new(E::NAME, E::VERSION, payload);
        let record = RecordedEvent {
            id: new.id,
            stream: "fixture".into(),
            version: self.version,
            position: self.version,
            name: E::NAME.into(),
            schema_version: E::VERSION,
            payload: new.payload,
            metadata: crate::record::Metadata {
                timestamp: Timestamp::now(),
                ..new.metadata
            },
        };
        let Some((_, input)) = P::route(&record, &self.codec).expect("the event decodes") else {
            panic!(
                "process manager `{}` does not handle `{}`",
                P::NAME,
                E::NAME
            );
        };
        let meta = crate::projection::EventMeta::new(&record, None);
        self.state.on_event(input, meta, &self.services).await
    }
}

impl<P: ProcessManager, C> std::fmt::Debug for ProcessFixture<P, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessFixture")
            .field("process", &P::NAME)
            .field("handled", &self.version)
            .finish_non_exhaustive()
    }
}

/// What a process manager decided, to check: each `then_` consumes the next command or
/// deadline change in order.
#[derive(Debug)]
pub struct ProcessOutcome<P> {
    state: P,
    commands: Vec<String>,
    deadlines: Vec<DeadlineChange>,
    done: bool,
    next_command: usize,
    next_deadline: usize,
}

// The `then_` checks chain; the value of the last one is dropped on purpose.
#[allow(clippy::return_self_not_must_use)]
impl<P> ProcessOutcome<P> {
    fn new(state: P, steps: Steps) -> Self {
        Self {
            state,
            commands: steps
                .commands
                .into_iter()
                .map(|command| command.describe)
                .collect(),
            deadlines: steps.deadlines,
            done: steps.done,
            next_command: 0,
            next_deadline: 0,
        }
    }

    /// The next command sent is `command` (compared by its `Debug` form).
    ///
    /// # Panics
    /// When it is not.
    #[track_caller]
    pub fn then_sends(mut self, command: impl Debug) -> Self {
        let expected = format!("{command:?}");
        let sent = self.commands.get(self.next_command);
        assert_eq!(
            sent,
            Some(&expected),
            "command {} sent: {sent:?}, expected {expected}; all sent: {:?}",
            self.next_command + 1,
            self.commands
        );
        self.next_command += 1;
        self
    }

    /// No command is sent beyond those checked.
    ///
    /// # Panics
    /// When one is.
    #[track_caller]
    pub fn then_sends_nothing(self) -> Self {
        let rest = &self.commands[self.next_command..];
        assert!(rest.is_empty(), "unexpected commands sent: {rest:?}");
        self
    }

    /// The next deadline change sets `name` to `due`.
    ///
    /// # Panics
    /// When it does not.
    #[track_caller]
    pub fn then_sets_deadline(self, name: &str, due: Due) -> Self {
        self.then_deadline(&DeadlineChange::Set {
            name: name.to_owned(),
            at: due,
        })
    }

    /// The next deadline change cancels `name`.
    ///
    /// # Panics
    /// When it does not.
    #[track_caller]
    pub fn then_cancels_deadline(self, name: &str) -> Self {
        self.then_deadline(&DeadlineChange::Cancel {
            name: name.to_owned(),
        })
    }

    #[track_caller]
    fn then_deadline(mut self, expected: &DeadlineChange) -> Self {
        let change = self.deadlines.get(self.next_deadline);
        assert_eq!(
            change,
            Some(expected),
            "deadline change {}: all changes: {:?}",
            self.next_deadline + 1,
            self.deadlines
        );
        self.next_deadline += 1;
        self
    }

    /// The instance's work is done.
    ///
    /// # Panics
    /// When it is not.
    #[track_caller]
    pub fn then_done(self) -> Self {
        assert!(self.done, "the instance is not done");
        self
    }

    /// The instance's state after the step.
    pub fn state(&self) -> &P {
        &self.state
    }
}
