//! Commands: requests to change one aggregate instance.

use std::fmt::Display;

use crate::aggregate::Aggregate;

/// A command: a request addressed to one aggregate instance by its id.
///
/// Derive it with `#[derive(Command)]` and mark the routing key with `#[id]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a command",
    label = "add `#[derive(Command)]` to `{Self}` and mark its id field with `#[id]`"
)]
pub trait Command: Send + 'static {
    /// The type of the id field.
    type Id: Display + ?Sized;

    /// The id of the aggregate instance this command is for.
    fn aggregate_id(&self) -> &Self::Id;
}

/// Links a command to the aggregate that handles it; implemented by `#[aggregate]` for each
/// `#[handle]` parameter type, so `app.send(cmd)` needs no type annotation.
#[diagnostic::on_unimplemented(
    message = "no aggregate handles `{Self}`",
    label = "`{Self}` has no `#[handle]` method",
    note = "add `#[handle] fn ..(&self, cmd: {Self})` to an `#[aggregate]` impl block"
)]
pub trait AggregateCommand: Command {
    /// The aggregate that handles this command.
    type Aggregate: Aggregate;

    /// Wraps this command into the aggregate's command enum.
    fn into_command(self) -> <Self::Aggregate as Aggregate>::Command;
}
