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
