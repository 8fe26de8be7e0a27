//! Rules on a parsed [`Event`].

use crate::internals::Errors;

use super::model::Event;

pub(super) fn check(event: &Event, errors: &mut Errors) {
    let ident = &event.ident;
    if let Some(union) = &event.union {
        errors.error(
            union,
            format!(
                "`#[derive(Event)]` does not support unions; declare `{ident}` as a struct or an enum"
            ),
        );
    }
    if let Some((literal, 0)) = &event.version {
        errors.error(
            literal,
            format!("event `{ident}` has `version = 0`; schema versions start at 1"),
        );
    }
    if let Some(name) = &event.name {
        if name.value().is_empty() {
            errors.error(
                name,
                format!("event `{ident}` has an empty name; give it a stable name, e.g. `name = \"{ident}\"`"),
            );
        }
    }
}
