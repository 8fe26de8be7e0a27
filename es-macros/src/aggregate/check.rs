//! Rules across the methods of one `#[aggregate]` block. Duplicates are reported and dropped,
//! so that the model left behind expands without clashes.

use quote::ToTokens;

use crate::internals::Errors;
use crate::internals::tokens::display;

use super::model::Aggregate;

pub(super) fn check(aggregate: &mut Aggregate, errors: &mut Errors) {
    check_options(aggregate, errors);
    dedup_applies(aggregate, errors);
    dedup_handles(aggregate, errors);
    check_handles(aggregate, errors);
}

fn check_options(aggregate: &mut Aggregate, errors: &mut Errors) {
    let options = &aggregate.options;
    if let Some(name) = &options.name {
        let value = name.value();
        if value.is_empty() {
            errors.error(
                name,
                format!(
                    "aggregate `{}` has an empty name; it prefixes every stream name, e.g. `name = \"{}\"`",
                    aggregate.ident,
                    aggregate.stream_prefix_default()
                ),
            );
        } else if value.chars().any(char::is_control) {
            errors.error(
                name,
                format!("aggregate name {value:?} has control characters; stream names cannot contain them"),
            );
        }
    }
    if let (None, Some((version, _))) = (&options.snapshot_every, &options.snapshot_version) {
        errors.error(
            version,
            "`snapshot_version` without `snapshot_every` has no effect; add `snapshot_every = N` or remove it",
        );
    }
    if let (Some(event), Some(command)) = (&options.event, &options.command) {
        if event == command {
            errors.duplicate(
                command,
                format!("`command = {command}` names the event enum too; give the two enums different names"),
                event,
            );
            // The stand-in expansion keeps the default name rather than a second clash.
            aggregate.options.command = None;
        }
    }
}

/// Two `#[apply]` for one event type, or two event types that would share a variant.
fn dedup_applies(aggregate: &mut Aggregate, errors: &mut Errors) {
    let event_enum = aggregate.event_enum();
    let mut kept: Vec<usize> = Vec::new();
    for (index, apply) in aggregate.applies.iter().enumerate() {
        let clash = kept
            .iter()
            .map(|&first| &aggregate.applies[first])
            .find(|first| first.variant == apply.variant && same_cfgs(&first.cfgs, &apply.cfgs));
        match clash {
            None => kept.push(index),
            Some(first) if same_type(&first.event, &apply.event) => errors.duplicate(
                &apply.event,
                format!(
                    "event `{}` already has an `#[apply]` method (`{}`); keep one `#[apply]` per event type",
                    display(&apply.event),
                    first.method
                ),
                &first.event,
            ),
            Some(first) => errors.duplicate(
                &apply.event,
                format!(
                    "event types `{}` and `{}` would both be the variant `{}` of `{event_enum}`; rename one of the types",
                    display(&first.event),
                    display(&apply.event),
                    apply.variant
                ),
                &first.event,
            ),
        }
    }
    retain_indices(&mut aggregate.applies, &kept);
}

/// Two `#[handle]` for one command type, or two command types that would share a variant.
fn dedup_handles(aggregate: &mut Aggregate, errors: &mut Errors) {
    let command_enum = aggregate.command_enum();
    let mut kept: Vec<usize> = Vec::new();
    for (index, handle) in aggregate.handles.iter().enumerate() {
        let clash = kept
            .iter()
            .map(|&first| &aggregate.handles[first])
            .find(|first| first.variant == handle.variant && same_cfgs(&first.cfgs, &handle.cfgs));
        match clash {
            None => kept.push(index),
            Some(first) if same_type(&first.command, &handle.command) => errors.duplicate(
                &handle.command,
                format!(
                    "command `{}` already has a `#[handle]` method (`{}`); keep one `#[handle]` per command type",
                    display(&handle.command),
                    first.method
                ),
                &first.command,
            ),
            Some(first) => errors.duplicate(
                &handle.command,
                format!(
                    "command types `{}` and `{}` would both be the variant `{}` of `{command_enum}`; rename one of the types",
                    display(&first.command),
                    display(&handle.command),
                    handle.variant
                ),
                &first.command,
            ),
        }
    }
    retain_indices(&mut aggregate.handles, &kept);
}

/// What a handler's signature asks of the options: an error type for a `Result`, a services
/// type for a services parameter.
fn check_handles(aggregate: &Aggregate, errors: &mut Errors) {
    let options = &aggregate.options;
    for handle in &aggregate.handles {
        let method = &handle.method;
        if handle.fallible && options.error.is_none() {
            if let Some(output) = &handle.output {
                errors.error(
                    output,
                    format!(
                        "`#[handle]` method `{method}` returns a `Result`, but `#[aggregate]` declares no error type; add `error = YourError` to `#[aggregate(..)]`"
                    ),
                );
            }
        }
        if let Some(services) = &handle.services {
            let unit = matches!(services, syn::Type::Reference(reference)
                if matches!(&*reference.elem, syn::Type::Tuple(tuple) if tuple.elems.is_empty()));
            if options.services.is_none() && !unit {
                errors.error(
                    services,
                    format!(
                        "`#[handle]` method `{method}` takes services, but `#[aggregate]` declares none; add `services = {}` to `#[aggregate(..)]`",
                        match services {
                            syn::Type::Reference(reference) => display(&reference.elem),
                            other => display(other),
                        }
                    ),
                );
            }
        }
    }
}

fn same_type(a: &syn::Type, b: &syn::Type) -> bool {
    a.to_token_stream().to_string() == b.to_token_stream().to_string()
}

/// Methods under different `#[cfg]`s may name the same type: at most one of them is compiled.
fn same_cfgs(a: &[syn::Attribute], b: &[syn::Attribute]) -> bool {
    let render = |attrs: &[syn::Attribute]| {
        attrs
            .iter()
            .map(|attr| attr.to_token_stream().to_string())
            .collect::<Vec<_>>()
    };
    render(a) == render(b)
}

fn retain_indices<T>(items: &mut Vec<T>, kept: &[usize]) {
    let mut index = 0;
    items.retain(|_| {
        let keep = kept.contains(&index);
        index += 1;
        keep
    });
}
