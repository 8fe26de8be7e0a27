//! Projections: read models folded from the global log, and the queries they answer.

pub(crate) mod runner;

use uuid::Uuid;

use crate::codec::Codec;
use crate::error::Error;
use crate::record::{RecordedEventRef, Timestamp};

/// A read model built from events of any aggregate, in global order.
///
/// `#[projection]` on the read model's `impl` block implements it from its `#[on]` methods:
/// [`apply`](Self::apply) dispatches on the stored event name, decodes only the events the
/// projection handles and skips the rest without decoding them.
pub trait Projection: Send + Sync + 'static {
    /// The projection's name: its checkpoint is stored under it.
    const NAME: &'static str;

    /// Whether the read model outlives the process (its own tables, files, side effects): a
    /// background run then resumes from the stored checkpoint. An in-memory read model is not
    /// durable and is rebuilt from the start of the log.
    const DURABLE: bool = false;

    /// Whether an event it handles, stored with a schema version newer than this code knows
    /// (written by a newer deployment), is skipped with a warning rather than stopping the
    /// projection with [`Error::FutureSchema`]: `#[projection(skip_newer)]`.
    const SKIP_NEWER: bool = false;

    /// Applies one stored event ([`EventMeta::record`]): decodes it and calls its `#[on]`
    /// method when the projection handles its name; does nothing otherwise.
    ///
    /// # Errors
    /// [`Error::Decode`], [`Error::FutureSchema`] when the event does not decode, or
    /// [`Error::Projection`] when the handler fails, each naming the event; the projection
    /// stays before it.
    fn apply<C: Codec>(&mut self, event: EventMeta<'_>, codec: &C) -> Result<(), Error>;
}

/// A question a projection answers, with its typed response.
///
/// `#[query]` methods of a `#[projection]` block implement it, so each query type has exactly
/// one handler and `app.query(q)` needs no annotation.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a query",
    label = "no `#[query]` method takes `{Self}`",
    note = "add `#[query] fn ..(&self, q: {Self}) -> Response` to a `#[projection]` block"
)]
pub trait Query: Send + 'static {
    /// The answer.
    type Response: Send + 'static;
    /// The projection that answers it.
    type Projection: Projection;

    /// Answers the query from the projection's current state.
    fn ask(self, projection: &Self::Projection) -> Self::Response;
}

/// What an `#[on]` method may know of the event besides its payload. Borrows the stored event
/// where the store holds it (a record, or the row being folded): building it costs nothing.
///
/// The app that hosts the projection also names the aggregate the event belongs to: the
/// registered aggregate whose event enum has the event's stored name (one at most, since
/// [`build`](crate::AppBuilder::build) refuses two aggregates sharing an event name). From it
/// comes [`aggregate_id`](Self::aggregate_id).
#[derive(Debug, Clone, Copy)]
pub struct EventMeta<'a> {
    record: RecordedEventRef<'a>,
    aggregate: Option<&'static str>,
}

impl<'a> EventMeta<'a> {
    /// The metadata of `record` (a [`RecordedEvent`](crate::RecordedEvent) or a borrowed
    /// [`RecordedEventRef`]), an event of the aggregate named `aggregate` (its
    /// [`Aggregate::NAME`](crate::Aggregate::NAME)), when known.
    pub fn new(record: impl Into<RecordedEventRef<'a>>, aggregate: Option<&'static str>) -> Self {
        Self {
            record: record.into(),
            aggregate,
        }
    }

    /// The stored event, borrowed: name, schema version, payload and the rest.
    pub fn record(&self) -> RecordedEventRef<'a> {
        self.record
    }

    /// The [`Aggregate::NAME`](crate::Aggregate::NAME) of the aggregate the event belongs to:
    /// the aggregate, registered with the app hosting the projection, whose events include the
    /// event's stored name. `None` when no registered aggregate records that name.
    pub fn aggregate(&self) -> Option<&'static str> {
        self.aggregate
    }

    /// The id of the aggregate instance that recorded the event, as the command's `#[id]` field
    /// gave it: the stream name without its `{Aggregate::NAME}-` prefix, whatever dashes the
    /// name and the id contain.
    ///
    /// The whole stream name when the prefix is unknown or absent: the event's aggregate is not
    /// registered with the app hosting the projection (a process that only hosts projections
    /// registers the aggregates whose ids it reads too), or the event was appended to a stream
    /// of another shape.
    ///
    /// # Examples
    /// ```
    /// use es_core::{EventMeta, NewEvent, RecordedEvent};
    ///
    /// let new = NewEvent::new("MoneyDeposited", 1, &b"{}"[..]);
    /// let record = RecordedEvent {
    ///     id: new.id,
    ///     stream: "bank-account-eu-7".into(),
    ///     version: 1,
    ///     position: 1,
    ///     name: "MoneyDeposited".into(),
    ///     schema_version: 1,
    ///     payload: new.payload,
    ///     metadata: new.metadata,
    /// };
    /// assert_eq!(EventMeta::new(&record, Some("bank-account")).aggregate_id(), "eu-7");
    /// assert_eq!(EventMeta::new(&record, None).aggregate_id(), "bank-account-eu-7");
    /// ```
    pub fn aggregate_id(&self) -> &'a str {
        let stream = self.record.stream;
        self.aggregate
            .and_then(|name| stream.strip_prefix(name))
            .and_then(|rest| rest.strip_prefix('-'))
            .unwrap_or(stream)
    }

    /// The event's id.
    pub fn event_id(&self) -> Uuid {
        self.record.id
    }

    /// The stream the event belongs to (`{aggregate}-{id}`).
    pub fn stream(&self) -> &'a str {
        self.record.stream
    }

    /// The event's version in its stream.
    pub fn version(&self) -> u64 {
        self.record.version
    }

    /// The event's position in the global log.
    pub fn position(&self) -> u64 {
        self.record.position
    }

    /// When the event was recorded.
    pub fn timestamp(&self) -> Timestamp {
        self.record.metadata.timestamp
    }

    /// The correlation id of the command that recorded it.
    pub fn correlation_id(&self) -> Option<Uuid> {
        self.record.metadata.correlation_id
    }

    /// The id of the command that recorded it.
    pub fn causation_id(&self) -> Option<Uuid> {
        self.record.metadata.causation_id
    }

    /// The user key-values of the command that recorded it.
    pub fn extra(&self) -> &'a std::collections::BTreeMap<String, String> {
        &self.record.metadata.extra
    }
}
