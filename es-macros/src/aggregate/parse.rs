//! `#[aggregate(..)] impl X { .. }` -> [`Aggregate`](super::model::Aggregate): reads the options
//! and the signatures of the methods the front end hands over, reporting each problem at its
//! token.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;

use crate::internals::Errors;
use crate::internals::impl_block::Marked;
use crate::internals::keys::{self, Keys};
use crate::internals::signature::{Receiver, arguments, named_type, receiver};
use crate::internals::symbol::{
    AGGREGATE_KEYS, COMMAND, CRATE, ERROR, EVENT, NAME, SERVICES, SNAPSHOT_EVERY, SNAPSHOT_VERSION,
    VIS,
};

use super::model::{Apply, Handle, Options};

/// Reads `#[aggregate(..)]`'s arguments; a bad key or value is recorded and skipped.
pub(super) fn options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let mut keys = Keys::new("aggregate", AGGREGATE_KEYS);
    let parser = syn::meta::parser(|meta| {
        match keys.key(&meta, errors)? {
            Some(NAME) => options.name = keys::string(&meta, NAME, "bank-account", errors)?,
            Some(ERROR) => options.error = Some(meta.value()?.parse()?),
            Some(SERVICES) => options.services = Some(meta.value()?.parse()?),
            Some(EVENT) => options.event = keys::ident(&meta, EVENT, "AccountEvent", errors)?,
            Some(COMMAND) => {
                options.command = keys::ident(&meta, COMMAND, "AccountCommand", errors)?;
            }
            Some(VIS) => options.vis = Some(meta.value()?.parse()?),
            Some(SNAPSHOT_EVERY) => {
                if let Some(literal) = keys::integer(&meta, SNAPSHOT_EVERY, "100", errors)? {
                    match literal.base10_parse::<u64>() {
                        Ok(every) if every > 0 => options.snapshot_every = Some((literal, every)),
                        _ => errors.error(
                            &literal,
                            "`snapshot_every` must be at least 1: the number of events between snapshots",
                        ),
                    }
                }
            }
            Some(SNAPSHOT_VERSION) => {
                if let Some(literal) = keys::integer(&meta, SNAPSHOT_VERSION, "2", errors)? {
                    match literal.base10_parse::<u16>() {
                        Ok(version) if version > 0 => {
                            options.snapshot_version = Some((literal, version));
                        }
                        _ => {
                            errors
                                .error(&literal, "`snapshot_version` must be between 1 and 65535");
                        }
                    }
                }
            }
            Some(CRATE) => {
                if let Some(krate) = keys::crate_path(&meta, errors)? {
                    options.krate = krate;
                }
            }
            Some(_) | None => {}
        }
        Ok(())
    });
    let result = parser.parse2(args);
    errors.ok(result);
    options
}

/// `#[apply] fn ..(&mut self, e: &Event)`.
pub(super) fn apply(marked: &Marked<'_>, errors: &mut Errors) -> Option<Apply> {
    let sig = marked.sig;
    let method = &sig.ident;
    let usage = format!("`fn {method}(&mut self, e: &Event)`");
    if let Some(asyncness) = &sig.asyncness {
        errors.error(
            asyncness,
            format!("`#[apply]` method `{method}` cannot be `async`: applying an event only changes the state; remove `async` and do the work in a `#[handle]` method"),
        );
    }
    match receiver(sig) {
        Receiver::Mutable => {}
        Receiver::Shared => errors.error(
            sig.receiver(),
            format!("`#[apply]` method `{method}` must take `&mut self`, not `&self`: it folds the event into the state"),
        ),
        Receiver::Other(receiver) => errors.error(
            receiver,
            format!("`#[apply]` method `{method}` must take `&mut self`: it folds the event into the state"),
        ),
        Receiver::None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!("`#[apply]` method `{method}` must take `&mut self` and the event: {usage}"),
        )),
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output {
        if !matches!(&**ty, syn::Type::Tuple(tuple) if tuple.elems.is_empty()) {
            errors.error(
                ty,
                format!("`#[apply]` method `{method}` must not return a value: an event is a fact, applying it cannot fail; remove the return type"),
            );
        }
    }
    let arguments = arguments(sig);
    let event = match arguments.as_slice() {
        [] => {
            errors.push(syn::Error::new(
                sig.paren_token.span.join(),
                format!("`#[apply]` method `{method}` takes the event it applies: {usage}"),
            ));
            return None;
        }
        [event, extra @ ..] => {
            for extra in extra {
                errors.error(
                    extra,
                    format!("`#[apply]` method `{method}` takes one argument, the event: {usage}; remove this one"),
                );
            }
            event
        }
    };
    let syn::Type::Reference(reference) = &*event.ty else {
        errors.error(
            &event.ty,
            format!(
                "`#[apply]` method `{method}` must take the event by reference: `&{}`",
                event.ty.to_token_stream()
            ),
        );
        return None;
    };
    if let Some(mutability) = &reference.mutability {
        errors.error(
            mutability,
            format!(
                "`#[apply]` method `{method}` must take the event by shared reference; remove `mut`"
            ),
        );
    }
    let Some((ty, variant)) = named_type(&reference.elem) else {
        errors.error(
            &reference.elem,
            format!("`#[apply]` method `{method}` must take an event type by name, e.g. `e: &AccountOpened`"),
        );
        return None;
    };
    Some(Apply {
        method: method.clone(),
        cfgs: marked.cfgs.clone(),
        event: ty.clone(),
        variant,
    })
}

/// `#[handle] [async] fn ..(&self, cmd: Command[, services: &Services]) -> R`.
pub(super) fn handle(marked: &Marked<'_>, errors: &mut Errors) -> Option<Handle> {
    let sig = marked.sig;
    let method = &sig.ident;
    let usage = format!(
        "`fn {method}(&self, cmd: Command)` or `fn {method}(&self, cmd: Command, services: &Services)`"
    );
    match receiver(sig) {
        Receiver::Shared => {}
        Receiver::Mutable => errors.error(
            sig.receiver(),
            format!("`#[handle]` method `{method}` must take `&self`, not `&mut self`: a handler decides on the current state; change the state in an `#[apply]` method"),
        ),
        Receiver::Other(receiver) => errors.error(
            receiver,
            format!("`#[handle]` method `{method}` must take `&self`: a handler decides on the current state"),
        ),
        Receiver::None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!("`#[handle]` method `{method}` must take `&self` and the command: {usage}"),
        )),
    }
    let arguments = arguments(sig);
    let (command, services) = match arguments.as_slice() {
        [] => {
            errors.push(syn::Error::new(
                sig.paren_token.span.join(),
                format!("`#[handle]` method `{method}` takes the command it handles: {usage}"),
            ));
            return None;
        }
        [command] => (command, None),
        [command, services, extra @ ..] => {
            for extra in extra {
                errors.error(
                    extra,
                    format!("`#[handle]` method `{method}` takes at most two arguments, the command and the services: {usage}; remove this one"),
                );
            }
            (command, Some(services))
        }
    };
    let services = services.and_then(|services| {
        if matches!(&*services.ty, syn::Type::Reference(reference) if reference.mutability.is_none())
        {
            Some((*services.ty).clone())
        } else {
            errors.error(
                &services.ty,
                format!("`#[handle]` method `{method}` must take the services by shared reference, e.g. `services: &Services`"),
            );
            None
        }
    });
    if let syn::Type::Reference(reference) = &*command.ty {
        errors.error(
            reference,
            format!(
                "`#[handle]` method `{method}` must take the command by value: `cmd: {}`",
                reference.elem.to_token_stream()
            ),
        );
        return None;
    }
    let Some((ty, variant)) = named_type(&command.ty) else {
        errors.error(
            &command.ty,
            format!("`#[handle]` method `{method}` must take a command type by name, e.g. `cmd: Deposit`"),
        );
        return None;
    };
    let output = match &sig.output {
        syn::ReturnType::Default => None,
        syn::ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    let fallible = output.as_ref().is_some_and(is_result);
    Some(Handle {
        method: method.clone(),
        cfgs: marked.cfgs.clone(),
        is_async: sig.asyncness.is_some(),
        command: ty.clone(),
        variant,
        services,
        output,
        fallible,
    })
}

/// A return type is fallible when its last path segment is `Result`.
fn is_result(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Result"),
        syn::Type::Group(group) => is_result(&group.elem),
        syn::Type::Paren(paren) => is_result(&paren.elem),
        _ => false,
    }
}
