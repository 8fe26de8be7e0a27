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
    if let Some((list, paths)) = &event.upcasters {
        let version = event.schema_version();
        let needed = usize::from(version) - 1;
        if paths.len() == list.elems.len() && paths.len() != needed {
            let message = if needed == 0 {
                format!(
                    "event `{ident}` is at schema version 1, so it has no older payloads to upcast; remove `upcasters` or raise `version`"
                )
            } else {
                let steps = (1..version)
                    .map(|from| format!("v{from} -> v{}", from + 1))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "event `{ident}` is at schema version {version}, so `upcasters` needs {needed} function{} ({steps}), oldest first; found {}",
                    if needed == 1 { "" } else { "s" },
                    paths.len()
                )
            };
            errors.error(list, message);
        }
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
