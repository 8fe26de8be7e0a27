//! Rules across the methods of one `#[process_manager]` block. Duplicates are reported and
//! dropped, so that the model left behind expands without clashes.

use crate::internals::Errors;
use crate::internals::tokens::display;

use super::model::ProcessManager;

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
    let needs_services = process
        .methods
        .ons
        .iter()
        .map(|on| &on.method)
        .chain(process.methods.refused.iter().map(|r| &r.method))
        .chain(process.methods.deadlines.iter().map(|d| &d.method))
        .find(|method| method.services.is_some());
    if let (Some(method), None) = (needs_services, &process.options.services) {
        errors.error(
            &method.ident,
            format!(
                "method `{}` takes services, but `#[process_manager(..)]` names none: add `services = MyServices`",
                method.ident
            ),
        );
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
