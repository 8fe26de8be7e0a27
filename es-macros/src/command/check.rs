//! Rules on a parsed [`Command`]: exactly one `#[id]`, on a struct.

use crate::internals::Errors;

use super::model::{Command, NotStruct};

pub(super) fn check(command: &Command, errors: &mut Errors) {
    let ident = &command.ident;
    match &command.not_struct {
        Some(NotStruct::Enum(token)) => errors.error(
            token,
            format!("`#[derive(Command)]` needs a struct; declare `{ident}` as a struct with an `#[id]` field"),
        ),
        Some(NotStruct::Union(token)) => errors.error(
            token,
            format!("`#[derive(Command)]` does not support unions; declare `{ident}` as a struct with an `#[id]` field"),
        ),
        None => match command.ids.as_slice() {
            [] => errors.error(
                ident,
                format!(
                    "command `{ident}` has no `#[id]` field; mark the field that names the target aggregate with `#[id]`"
                ),
            ),
            [_] => {}
            [first, rest @ ..] => {
                for second in rest {
                    errors.duplicate(
                        &second.attr,
                        format!(
                            "command `{ident}` has more than one `#[id]` field; keep `#[id]` on the one field that names the target aggregate"
                        ),
                        &first.attr,
                    );
                }
            }
        },
    }
}
