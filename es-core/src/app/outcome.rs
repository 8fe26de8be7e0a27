//! What a command or a query comes back with: the committed outcome, and why either failed.

use std::time::Duration;

use crate::aggregate::Aggregate;
use crate::error::Error;

/// The outcome of a command that was accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed<A: Aggregate> {
    /// The stream the events were appended to.
    pub stream: String,
    /// The events the command produced, as committed (empty when it produced none).
    pub events: Vec<A::Event>,
    /// The stream's version after the command.
    pub version: u64,
    /// The global position of the last event the command appended, or 0 when it appended
    /// none. Pass it to [`App::query_at`](super::App::query_at) to read your own writes: waiting
    /// for 0 returns at once.
    pub position: u64,
    /// How many times the command was retried after a conflict.
    pub retries: u32,
    /// Whether its idempotency key had been used on the stream already: then `events`,
    /// `version` and `position` are those of the original command, and nothing new was written.
    pub duplicate: bool,
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// No projection that answers the query is hosted by this app.
    #[error(
        "query `{query}` is answered by projection `{projection}`, which this app does not host; \
         add `.projection(..)` or `.background_projection(..)` to the builder"
    )]
    NotRegistered {
        /// The query's type name.
        query: &'static str,
        /// The projection's name.
        projection: &'static str,
    },
    /// The store failed, or the projection failed on an event (the error names it).
    #[error(transparent)]
    Store(#[from] Error),
    /// The projection did not reach the position in time.
    #[error(
        "projection `{projection}` reached position {reached}, not {position}, within {timeout:?}{}",
        failure.as_ref().map_or_else(String::new, |failure| format!("; it is stopped at: {failure}"))
    )]
    Timeout {
        /// The projection's name.
        projection: &'static str,
        /// The position waited for.
        position: u64,
        /// The position it had reached.
        reached: u64,
        /// How long the query waited.
        timeout: Duration,
        /// The error a background projection is stopped at, if any.
        failure: Option<String>,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError<E> {
    /// The aggregate rejected the command with its own error; nothing was written.
    #[error(transparent)]
    Rejected(E),
    /// The store failed, or a stored event could not be read.
    #[error(transparent)]
    Store(#[from] Error),
    /// Other writers kept appending to the stream; the command was retried and gave up.
    /// Nothing of it was written.
    #[error(
        "gave up on stream `{stream}` after {retries} conflicting retries; nothing was applied"
    )]
    TooManyConflicts {
        /// The contended stream.
        stream: String,
        /// The retries made.
        retries: u32,
    },
    /// The app was not built with `.aggregate::<A>()` for this command's aggregate.
    #[error(
        "aggregate `{aggregate}` is not registered with this app; add `.aggregate::<{aggregate}>()`"
    )]
    NotRegistered {
        /// The aggregate's type name.
        aggregate: &'static str,
    },
}

impl<E> CommandError<E> {
    /// The domain rejection, if that is what this is.
    pub fn rejection(&self) -> Option<&E> {
        match self {
            Self::Rejected(error) => Some(error),
            _ => None,
        }
    }

    /// The domain rejection by value, if that is what this is.
    ///
    /// # Errors
    /// Gives `self` back when it is not a rejection.
    pub fn into_rejection(self) -> Result<E, Self> {
        match self {
            Self::Rejected(error) => Ok(error),
            other => Err(other),
        }
    }
}
