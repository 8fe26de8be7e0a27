//! Rules across the methods of one `#[process_manager]` block. Duplicates, and methods that take
//! services the block does not declare, are reported and dropped, so that the model left behind
//! expands without clashes or a second error.

use crate::internals::Errors;
use crate::internals::symbol::{DEADLINE, ON, REFUSED};
use crate::internals::tokens::display;

use super::model::{Method, ProcessManager};

pub(super) fn check(process: &mut ProcessManager, errors: &mut Errors) {
    if let Some(name) = &process.options.name {
        let value = name.value();
        if value.is_empty() || value.len() > 200 || value.chars().any(char::is_control) {
            errors.error(
                name,
                format!(
                    "process manager `{}` needs a name of 1 to 200 bytes without control characters: it names its streams",
                    process.ident
                ),
            );
        }
    }
    if process.options.services.is_none() {
        let methods = &mut process.methods;
        methods
            .ons
            .retain(|on| !undeclared_services(ON, &on.method, errors));
        methods
            .refused
            .retain(|refused| !undeclared_services(REFUSED, &refused.method, errors));
        methods
            .deadlines
            .retain(|deadline| !undeclared_services(DEADLINE, &deadline.method, errors));
    }
    let mut kept = Vec::new();
    for on in std::mem::take(&mut process.methods.ons) {
        let key = (
            display(&on.event),
            on.method.cfgs.iter().map(display).collect::<Vec<_>>(),
        );
        match kept.iter().find(|(first, _): &&(_, super::model::On)| *first == key) {
            Some((_, first)) => errors.duplicate(
                &on.event,
                format!(
                    "event `{}` already has an `#[on]` method (`{}`) in this process manager; keep one per event type",
                    display(&on.event),
                    first.method.ident
                ),
                &first.event,
            ),
            None => kept.push((key, on)),
        }
    }
    process.methods.ons = kept.into_iter().map(|(_, on)| on).collect();
    let mut kept = Vec::new();
    for refused in std::mem::take(&mut process.methods.refused) {
        let key = (display(&refused.command), display(&refused.error));
        match kept.iter().find(|(first, _): &&(_, super::model::Refused)| *first == key) {
            Some((_, first)) => errors.duplicate(
                &refused.command,
                format!(
                    "refusals of `{}` with `{}` already go to `{}`; keep one `#[refused]` method per command and error",
                    key.0, key.1, first.method.ident
                ),
                &first.command,
            ),
            None => kept.push((key, refused)),
        }
    }
    process.methods.refused = kept.into_iter().map(|(_, refused)| refused).collect();
}

/// Whether `method` takes services though the block declares none (`&()` excepted), reported
/// at its parameter's type; such a method is left out of the expansion, so that the error is
/// the only one.
fn undeclared_services(role: &str, method: &Method, errors: &mut Errors) -> bool {
    let Some(services) = &method.services else {
        return false;
    };
    let named = match services {
        syn::Type::Reference(reference) => &*reference.elem,
        other => other,
    };
    if matches!(named, syn::Type::Tuple(tuple) if tuple.elems.is_empty()) {
        return false;
    }
    errors.error(
        services,
        format!(
            "`#[{role}]` method `{}` takes services, but `#[process_manager]` declares none; add `services = {}` to `#[process_manager(..)]`",
            method.ident,
            display(named)
        ),
    );
    true
}
