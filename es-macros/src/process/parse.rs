//! `#[process_manager(..)] impl X { .. }` -> [`ProcessManager`](super::model::ProcessManager):
//! reads the options and the signatures of the methods the front end hands over, reporting each
//! problem at its token.

use proc_macro2::TokenStream;
use syn::parse::Parser;

use crate::internals::Errors;
use crate::internals::impl_block::Marked;
use crate::internals::keys::{self, Keys};
use crate::internals::signature::{Receiver, arguments, named_type, receiver};
use crate::internals::symbol::{CRATE, DEADLINE, KEY, NAME, ON, ON_KEYS, PROCESS_KEYS, SERVICES};
use crate::internals::tokens::display;

use super::model::{Deadline, Method, On, Options, Refused};

/// Reads `#[process_manager(..)]`'s arguments; a bad key or value is recorded and skipped.
pub(super) fn options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let mut keys = Keys::new("process_manager", PROCESS_KEYS);
    let parser = syn::meta::parser(|meta| {
        match keys.key(&meta, errors)? {
            Some(NAME) => options.name = keys::string(&meta, NAME, "transfers", errors)?,
            Some(SERVICES) => options.services = Some(meta.value()?.parse()?),
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

/// The receiver every method of a process manager takes: `&mut self`, the instance's state.
fn mutable_self(marked: &Marked<'_>, usage: &str, errors: &mut Errors) {
    let sig = marked.sig;
    let (role, method) = (marked.marker, &sig.ident);
    match receiver(sig) {
        Receiver::Mutable => {}
        Receiver::Shared | Receiver::Other(_) => errors.error(
            sig.receiver(),
            format!(
                "`#[{role}]` method `{method}` must take `&mut self`: it may change the instance's state"
            ),
        ),
        Receiver::None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!("`#[{role}]` method `{method}` must take `&mut self`: {usage}"),
        )),
    }
}

/// The type behind a shared reference, when `ty` is one to a named type.
fn by_reference(ty: &syn::Type) -> Option<syn::Type> {
    match ty {
        syn::Type::Reference(reference) if reference.mutability.is_none() => {
            named_type(&reference.elem).map(|(ty, _)| ty.clone())
        }
        _ => None,
    }
}

/// Whether `ty` is `&EventMeta` (with or without a lifetime or a path).
fn is_meta(ty: &syn::Type) -> bool {
    by_reference(ty)
        .is_some_and(|ty| named_type(&ty).is_some_and(|(_, ident)| ident == "EventMeta"))
}

/// Checks the arguments after the fixed ones: at most the services, by shared reference; gives
/// the type of the services parameter.
fn services(
    marked: &Marked<'_>,
    rest: &[&syn::PatType],
    usage: &str,
    errors: &mut Errors,
) -> Option<syn::Type> {
    let (role, method) = (marked.marker, &marked.sig.ident);
    for extra in rest.iter().skip(1) {
        let message = if role == ON && is_meta(&extra.ty) {
            format!(
                "`#[on]` method `{method}` takes `meta: &EventMeta` right after the event, before the services; move it there: {usage}"
            )
        } else {
            format!(
                "`#[{role}]` method `{method}` takes too many arguments: {usage}; remove this one"
            )
        };
        errors.error(extra, message);
    }
    let services = rest.first()?;
    if by_reference(&services.ty).is_none() {
        let why = if role == DEADLINE {
            "a deadline carries no data (keep what it needs in the state)"
        } else {
            "only the services may follow, by shared reference"
        };
        errors.error(
            &services.ty,
            format!(
                "`#[{role}]` method `{method}` cannot take `{}` here: {why}; write {usage}",
                display(&services.ty)
            ),
        );
    }
    Some((*services.ty).clone())
}

fn method(marked: &Marked<'_>, services: Option<syn::Type>) -> Method {
    Method {
        ident: marked.sig.ident.clone(),
        cfgs: marked.cfgs.clone(),
        is_async: marked.sig.asyncness.is_some(),
        services,
        output: match &marked.sig.output {
            syn::ReturnType::Default => None,
            syn::ReturnType::Type(_, ty) => Some((**ty).clone()),
        },
    }
}

/// `#[on(key = field)] fn ..(&mut self, e: &Event[, meta: &EventMeta][, services: &Services])`.
pub(super) fn on(marked: &Marked<'_>, errors: &mut Errors) -> Option<On> {
    let sig = marked.sig;
    let name = &sig.ident;
    let usage = format!(
        "`fn {name}(&mut self, e: &Event) -> Steps`, with `meta: &EventMeta` and `services: &Services` after the event if needed"
    );
    let key = on_key(marked, errors);
    mutable_self(marked, &usage, errors);
    let (event, meta, method) = on_arguments(marked, &usage, "TransferRequested", errors)?;
    Some(On {
        method,
        event,
        key: key?,
        meta,
    })
}

/// The arguments of an `#[on]` method (of a process manager or a reactor): the event by shared
/// reference, then `meta: &EventMeta` if it takes it, then the services if it takes them. Gives
/// the event type, whether it takes the metadata, and the method.
pub(crate) fn on_arguments(
    marked: &Marked<'_>,
    usage: &str,
    example: &str,
    errors: &mut Errors,
) -> Option<(syn::Type, bool, Method)> {
    let name = &marked.sig.ident;
    let arguments = arguments(marked.sig);
    let Some(event) = arguments.first() else {
        errors.error(
            &marked.attr,
            format!("`#[on]` method `{name}` takes the event it handles: {usage}"),
        );
        return None;
    };
    let Some(event_ty) = by_reference(&event.ty) else {
        errors.error(
            &event.ty,
            format!("`#[on]` method `{name}` must take an event type by shared reference, e.g. `e: &{example}`"),
        );
        return None;
    };
    let meta = arguments.get(1).is_some_and(|meta| is_meta(&meta.ty));
    let rest = &arguments[1 + usize::from(meta)..];
    let services = services(marked, rest, usage, errors);
    Some((event_ty, meta, method(marked, services)))
}

/// The `key = field` of `#[on(..)]`.
fn on_key(marked: &Marked<'_>, errors: &mut Errors) -> Option<syn::Member> {
    let name = &marked.sig.ident;
    let missing = format!(
        "`#[on]` in a process manager needs the event's field that names the instance: `#[on(key = transfer_id)]` on `{name}`"
    );
    if matches!(marked.attr.meta, syn::Meta::Path(_)) {
        errors.error(&marked.attr, missing);
        return None;
    }
    let mut key = None;
    let before = errors.count();
    let mut keys = Keys::new("on", ON_KEYS);
    let result = marked.attr.parse_nested_meta(|meta| {
        if keys.key(&meta, errors)? == Some(KEY) {
            let value = meta.value()?.parse::<syn::Expr>()?;
            match &value {
                syn::Expr::Path(path) if path.path.get_ident().is_some() => {
                    key = path.path.get_ident().cloned().map(syn::Member::Named);
                }
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(index),
                    ..
                }) => {
                    key = index
                        .base10_parse::<u32>()
                        .ok()
                        .map(|i| syn::Member::Unnamed(syn::Index { index: i, span: index.span() }));
                }
                _ => errors.error(
                    &value,
                    "`key` names a field of the event: `key = transfer_id` (or `key = 0` for a tuple struct)",
                ),
            }
        }
        Ok(())
    });
    errors.ok(result);
    if key.is_none() && errors.count() == before {
        errors.error(&marked.attr, missing);
    }
    key
}

/// `#[refused] fn ..(&mut self, cmd: &Command, error: &Error[, services: &Services])`.
pub(super) fn refused(marked: &Marked<'_>, errors: &mut Errors) -> Option<Refused> {
    let sig = marked.sig;
    let name = &sig.ident;
    let usage = format!(
        "`fn {name}(&mut self, cmd: &Withdraw, error: &BankError) -> Steps`, with `services: &Services` last if needed"
    );
    mutable_self(marked, &usage, errors);
    let arguments = arguments(sig);
    let [command, error, rest @ ..] = arguments.as_slice() else {
        errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!("`#[refused]` method `{name}` takes the refused command and the aggregate's error: {usage}"),
        ));
        return None;
    };
    let (Some(command_ty), Some(error_ty)) = (by_reference(&command.ty), by_reference(&error.ty))
    else {
        for argument in [command, error] {
            if by_reference(&argument.ty).is_none() {
                errors.error(
                    &argument.ty,
                    format!("`#[refused]` method `{name}` takes the command and the error by shared reference: {usage}"),
                );
            }
        }
        return None;
    };
    let services = services(marked, rest, &usage, errors);
    Some(Refused {
        method: method(marked, services),
        command: command_ty,
        error: error_ty,
    })
}

/// `#[deadline] fn ..(&mut self[, services: &Services])`.
pub(super) fn deadline(marked: &Marked<'_>, errors: &mut Errors) -> Deadline {
    let sig = marked.sig;
    let name = &sig.ident;
    let usage = format!(
        "`fn {name}(&mut self) -> Steps`, with `services: &Services` if needed; set it with `Steps::deadline_in(\"{name}\", ..)`"
    );
    mutable_self(marked, &usage, errors);
    let arguments = arguments(sig);
    let services = services(marked, &arguments, &usage, errors);
    Deadline {
        method: method(marked, services),
    }
}
