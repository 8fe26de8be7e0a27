//! Sending a command whose type is erased: process managers and reactors decide commands of any
//! aggregate, and the app finds the aggregate's command path by its `TypeId`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tracing::Instrument;

use crate::aggregate::Aggregate;
use crate::codec::Codec;
use crate::error::Error;
use crate::process::steps::{MakeCommand, Outgoing, Refusal};
use crate::projection::EventMeta;
use crate::record::RecordedEvent;
use crate::store::EventStore;

use super::command::command_span;
use super::metadata::{CommandMetadata, Resolved};
use super::{App, CommandError};

/// What an erased command came to.
pub(crate) enum Sent {
    /// Stored (or found stored under its idempotency key).
    Stored,
    /// The aggregate refused it.
    Refused(Refusal),
}

type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Sent, Error>> + Send + 'a>>;

/// The command path of one aggregate type, for erased commands.
pub(super) type Dispatcher<S, C> =
    for<'a> fn(&'a App<S, C>, &'a Outgoing, Resolved) -> SendFuture<'a>;

/// The [`Dispatcher`] of aggregate `A`.
pub(super) fn dispatcher<A: Aggregate, S: EventStore, C: Codec>() -> Dispatcher<S, C> {
    dispatch::<A, S, C>
}

fn dispatch<'a, A: Aggregate, S: EventStore, C: Codec>(
    app: &'a App<S, C>,
    outgoing: &'a Outgoing,
    mut metadata: Resolved,
) -> SendFuture<'a> {
    Box::pin(async move {
        let make = outgoing
            .make
            .downcast_ref::<MakeCommand<A>>()
            .ok_or_else(|| Error::backend("an erased command of another aggregate type"))?;
        let span = command_span::<A>(&outgoing.stream, outgoing.command_type, &mut metadata);
        match app
            .send_to::<A>(outgoing.stream.clone(), make, metadata, span.clone())
            .instrument(span)
            .await
        {
            Ok(_) => Ok(Sent::Stored),
            Err(CommandError::Rejected(error)) => Ok(Sent::Refused(Refusal {
                command: Arc::clone(&outgoing.command),
                command_type: outgoing.command_type,
                message: error.to_string(),
                error: Arc::new(error),
            })),
            Err(CommandError::Store(error)) => Err(error),
            Err(other) => Err(Error::backend(other.to_string())),
        }
    })
}

impl<S: EventStore, C: Codec> App<S, C> {
    /// Sends an erased command with this idempotency key, in the conversation `correlation`
    /// (that of the event that led to it).
    pub(crate) async fn send_outgoing(
        &self,
        outgoing: &Outgoing,
        key: String,
        correlation: Option<uuid::Uuid>,
    ) -> Result<Sent, Error> {
        let Some(dispatch) = self.inner.dispatchers.get(&outgoing.aggregate) else {
            return Err(Error::backend(format!(
                "a process sends {} to aggregate `{}`, which this app does not serve; add \
                 `.aggregate::<{}>()`",
                outgoing.command_type, outgoing.aggregate_name, outgoing.aggregate_name
            )));
        };
        let mut metadata = CommandMetadata::new().idempotency_key(key);
        if let Some(correlation) = correlation {
            metadata = metadata.correlation_id(correlation);
        }
        dispatch(self, outgoing, metadata.resolve()).await
    }

    /// The metadata of a stored event, with the aggregate that records its name.
    pub(crate) fn meta<'r>(&self, record: &'r RecordedEvent) -> EventMeta<'r> {
        EventMeta::new(record, self.inner.owners.get(&*record.name).copied())
    }

    /// The codec of the app's payloads.
    pub(crate) fn codec(&self) -> &C {
        &self.inner.codec
    }
}
