//! The infrastructure error: store, codec and decode failures. Domain rejections are the
//! aggregate's own error type and never pass through here.

use std::sync::Arc;

use uuid::Uuid;

use crate::codec::BoxError;
use crate::version::ExpectedVersion;

/// A store, serialization or decoding failure. Every variant that concerns a stored event names
/// its stream and version.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream was not at the expected version; nothing was written.
    #[error("conflict on stream `{stream}`: expected {expected}, actual version {actual}")]
    Conflict {
        /// The stream appended to.
        stream: String,
        /// What the append expected.
        expected: ExpectedVersion,
        /// The stream's version when the append was refused (0 when it has no events).
        actual: u64,
    },

    /// An event id of the batch is already stored at another place in the stream (or in another
    /// stream); nothing was written.
    #[error("event {event_id} is already stored in stream `{stream}` at version {version}")]
    DuplicateEvent {
        /// The stream where the id is already stored.
        stream: String,
        /// The version at which it is stored.
        version: u64,
        /// The duplicated event id.
        event_id: Uuid,
    },

    /// The stream name cannot be stored.
    #[error("invalid stream name `{stream}`: {reason}")]
    InvalidStreamName {
        /// The refused name (cut to 100 characters when longer).
        stream: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A value of an append that no store can keep alike (a NUL character in an event's name
    /// or metadata); nothing was written.
    #[error("cannot store {field} in stream `{stream}`: {reason}")]
    Unstorable {
        /// The stream appended to.
        stream: String,
        /// Which value: "the name of event 2", "the value of metadata key `k` of event 1".
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// An append larger than [`MAX_APPEND_BYTES`](crate::store::MAX_APPEND_BYTES); nothing was
    /// sent.
    #[error("the append to stream `{stream}` is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The stream appended to.
        stream: String,
        /// The append's payloads, names and metadata, in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// An imported event does not continue the store's log; nothing of the import was written.
    #[error("cannot import the event at position {position}: {reason}")]
    Import {
        /// The event's position in the log it comes from.
        position: u64,
        /// What does not fit.
        reason: String,
    },

    /// A version, position or checkpoint past [`MAX_POSITION`](crate::store::MAX_POSITION),
    /// 2^63 - 1, the most any store keeps; nothing was written.
    #[error("{what} {value} is out of range: every store keeps 0 to {max}")]
    OutOfRange {
        /// What the number is ("checkpoint", "snapshot version").
        what: &'static str,
        /// The number.
        value: u64,
        /// The largest allowed.
        max: u64,
    },

    /// An event could not be serialized; the batch was rejected before storage.
    #[error("cannot serialize event `{event}`")]
    Encode {
        /// The event's stored name.
        event: String,
        /// The codec's error.
        #[source]
        source: BoxError,
    },

    /// A stored payload could not be decoded into its event type.
    #[error("cannot decode event `{event}` at version {version} of stream `{stream}`")]
    Decode {
        /// The stream read.
        stream: String,
        /// The event's version in the stream.
        version: u64,
        /// The stored event name.
        event: String,
        /// The codec's error.
        #[source]
        source: BoxError,
    },

    /// A stored event's name is not one this code knows.
    #[error("unknown event `{event}` at version {version} of stream `{stream}`; known: {known:?}")]
    UnknownEvent {
        /// The stream read.
        stream: String,
        /// The event's version in the stream.
        version: u64,
        /// The stored event name.
        event: String,
        /// The names this code can decode.
        known: &'static [&'static str],
    },

    /// A stored event's schema version is newer than the code reading it.
    #[error(
        "event `{event}` at version {version} of stream `{stream}` has schema version \
         {schema_version}, newer than this code's {supported}"
    )]
    FutureSchema {
        /// The stream read.
        stream: String,
        /// The event's version in the stream.
        version: u64,
        /// The stored event name.
        event: String,
        /// The stored schema version.
        schema_version: u16,
        /// The newest schema version this code reads.
        supported: u16,
    },

    /// A process manager's method panicked; the instance's state is as before, and the event
    /// or deadline is tried again.
    #[error("process `{process}` failed on {trigger} of instance `{key}`; it is tried again")]
    Process {
        /// The process manager's name.
        process: &'static str,
        /// The instance's correlation key.
        key: String,
        /// What it was handling: "event `WireSent` at version 2 of stream `wire-w1`", "deadline
        /// `confirmation_overdue`", "the refusal of `Withdraw`".
        trigger: String,
        /// The panic.
        #[source]
        source: BoxError,
    },

    /// A reactor's `#[on]` method failed on a stored event; the event is delivered again.
    #[error(
        "reactor `{reactor}` failed on event `{event}` at version {version} of stream \
         `{stream}` (position {position}); it is delivered again"
    )]
    Reaction {
        /// The reactor's name.
        reactor: &'static str,
        /// The stream of the event.
        stream: String,
        /// The event's version in the stream.
        version: u64,
        /// The event's global position.
        position: u64,
        /// The stored event name.
        event: String,
        /// The handler's error.
        #[source]
        source: BoxError,
    },

    /// A projection's `#[on]` method failed on a stored event; the projection stays before it.
    #[error(
        "projection `{projection}` failed on event `{event}` at version {version} of stream \
         `{stream}` (position {position})"
    )]
    Projection {
        /// The projection's name.
        projection: &'static str,
        /// The event's stream.
        stream: String,
        /// The event's version in the stream.
        version: u64,
        /// The event's global position.
        position: u64,
        /// The stored event name.
        event: String,
        /// The handler's error.
        #[source]
        source: BoxError,
    },

    /// An aggregate's `apply` panicked on an event: on a command's own event nothing of the
    /// command was stored; on a stored event the stream cannot be loaded until the code is
    /// fixed. The cached state is discarded either way, and other streams keep working.
    #[error(
        "`apply` of aggregate stream `{stream}` panicked on event `{event}` at version {version}"
    )]
    Apply {
        /// The event's stream.
        stream: String,
        /// The event's version in the stream (for a command's own event, the version it would
        /// have had).
        version: u64,
        /// The event's name.
        event: String,
        /// The panic.
        #[source]
        source: Panicked,
    },

    /// The backend failed (I/O, connection, database error). The append may or may not have
    /// happened; a retry with the same event ids is safe.
    #[error("store backend failed")]
    Backend(#[source] Arc<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Whether this is an optimistic-concurrency conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// Wraps a backend's own error.
    pub fn backend(source: impl Into<BoxError>) -> Self {
        Self::Backend(Arc::from(source.into()))
    }

    /// Fills in the stream and version of a decode error raised without them.
    pub(crate) fn at(mut self, at_stream: &str, at_version: u64) -> Self {
        match &mut self {
            Self::Decode {
                stream, version, ..
            }
            | Self::UnknownEvent {
                stream, version, ..
            }
            | Self::FutureSchema {
                stream, version, ..
            } => {
                at_stream.clone_into(stream);
                *version = at_version;
            }
            _ => {}
        }
        self
    }
}

/// [`Error::Projection`]: projection `projection` failed on `record` with `source`.
pub(crate) fn projection_failed<'r>(
    projection: &'static str,
    record: impl Into<crate::record::RecordedEventRef<'r>>,
    source: BoxError,
) -> Error {
    let record = record.into();
    Error::Projection {
        projection,
        stream: record.stream.to_owned(),
        version: record.version,
        position: record.position,
        event: record.name.to_owned(),
        source,
    }
}

/// A panic caught in user code (an `apply` that overflows, an `#[on]` method that indexes out of
/// bounds), as an error carrying its message: the event it happened on is named by the error
/// that holds it ([`Error::Apply`], [`Error::Projection`]).
#[derive(Debug, Clone, thiserror::Error)]
#[error("panicked: {message}")]
pub struct Panicked {
    message: String,
}

impl Panicked {
    /// The panic's message (`"<not a string>"` when its payload is not one).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Polls `future`, turning a panic in any poll into [`Panicked`]; as [`catch_panic`], the
/// caller discards what the future was changing.
pub(crate) async fn catch_panic_async<F: std::future::Future>(
    future: F,
) -> Result<F::Output, Panicked> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| match catch_panic(|| future.as_mut().poll(cx)) {
        Ok(std::task::Poll::Ready(output)) => std::task::Poll::Ready(Ok(output)),
        Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
        Err(panicked) => std::task::Poll::Ready(Err(panicked)),
    })
    .await
}

/// Runs `f`, turning a panic into [`Panicked`]. Callers discard whatever `f` was changing when
/// it panicked, which is why asserting unwind safety is sound here.
pub(crate) fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "<not a string>".to_owned());
        Panicked { message }
    })
}
