//! Why [`AppBuilder::build`](super::AppBuilder::build) refuses an app: registrations that would
//! each work alone and break each other, found before anything runs.

use std::any::TypeId;

/// An app [`AppBuilder::build`](super::AppBuilder::build) refuses: two registrations that
/// would break each other. Each message names the Rust types involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// One aggregate type is registered twice (the second registration would replace the
    /// first one's services).
    #[error("aggregate `{aggregate}` is registered twice; register it once")]
    DuplicateAggregate {
        /// The aggregate's type name.
        aggregate: &'static str,
    },

    /// Two aggregate types have the same [`Aggregate::NAME`](crate::Aggregate::NAME): their
    /// streams (`{name}-{id}`) would be the same streams.
    #[error(
        "aggregates `{first}` and `{second}` are both named `{name}`, so their streams would \
         collide; give one of them another `#[aggregate(name = \"..\")]`"
    )]
    SharedAggregateName {
        /// The shared name.
        name: &'static str,
        /// The aggregate registered first.
        first: &'static str,
        /// The aggregate registered second.
        second: &'static str,
    },

    /// Two aggregates record an event under the same stored name: a projection that handles
    /// one of them would be handed the other's payloads too, and stop on them.
    #[error(
        "aggregates `{first}` and `{second}` both record an event named `{event}`, which a \
         projection could not tell apart; give one of the two event types another \
         `#[event(name = \"..\")]`"
    )]
    SharedEventName {
        /// The shared stored name.
        event: &'static str,
        /// The aggregate registered first.
        first: &'static str,
        /// The aggregate registered second.
        second: &'static str,
    },

    /// One projection type is registered twice (the second registration would replace the
    /// first).
    #[error("projection `{projection}` is registered twice; register it once")]
    DuplicateProjection {
        /// The projection's type name.
        projection: &'static str,
    },

    /// Two projection types have the same [`Projection::NAME`](crate::Projection::NAME): they
    /// would share one checkpoint.
    #[error(
        "projections `{first}` and `{second}` are both named `{name}`, so they would share a \
         checkpoint; give one of them another `#[projection(name = \"..\")]`"
    )]
    SharedProjectionName {
        /// The shared name.
        name: &'static str,
        /// The projection registered first.
        first: &'static str,
        /// The projection registered second.
        second: &'static str,
    },
}

/// What the checks know of one registered aggregate.
#[derive(Debug, Clone, Copy)]
pub(super) struct AggregateKey {
    pub(super) type_id: TypeId,
    pub(super) type_name: &'static str,
    /// [`Aggregate::NAME`](crate::Aggregate::NAME).
    pub(super) name: &'static str,
    /// [`EventSet::NAMES`](crate::EventSet::NAMES) of its events.
    pub(super) events: &'static [&'static str],
}

/// What the checks know of one registered projection.
#[derive(Debug, Clone, Copy)]
pub(super) struct ProjectionKey {
    pub(super) type_id: TypeId,
    pub(super) type_name: &'static str,
    /// [`Projection::NAME`](crate::Projection::NAME).
    pub(super) name: &'static str,
}

/// The first hazard among the aggregates, in registration order.
pub(super) fn check_aggregates(aggregates: &[AggregateKey]) -> Result<(), BuildError> {
    for (index, second) in aggregates.iter().enumerate() {
        for first in &aggregates[..index] {
            if first.type_id == second.type_id {
                return Err(BuildError::DuplicateAggregate {
                    aggregate: second.type_name,
                });
            }
            if first.name == second.name {
                return Err(BuildError::SharedAggregateName {
                    name: second.name,
                    first: first.type_name,
                    second: second.type_name,
                });
            }
            if let Some(event) = second
                .events
                .iter()
                .find(|event| first.events.contains(event))
            {
                return Err(BuildError::SharedEventName {
                    event,
                    first: first.type_name,
                    second: second.type_name,
                });
            }
        }
    }
    Ok(())
}

/// The first hazard among the projections, in registration order.
pub(super) fn check_projections(projections: &[ProjectionKey]) -> Result<(), BuildError> {
    for (index, second) in projections.iter().enumerate() {
        for first in &projections[..index] {
            if first.type_id == second.type_id {
                return Err(BuildError::DuplicateProjection {
                    projection: second.type_name,
                });
            }
            if first.name == second.name {
                return Err(BuildError::SharedProjectionName {
                    name: second.name,
                    first: first.type_name,
                    second: second.type_name,
                });
            }
        }
    }
    Ok(())
}
