//! `#[aggregate(..)] impl X { .. }` -> [`Aggregate`]: reads the options, strips `#[apply]` and
//! `#[handle]` from the methods and records their signatures, reporting each signature problem
//! at its token.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;

use crate::internals::Errors;
use crate::internals::errors::require_bare;
use crate::internals::keys::{self, Keys};
use crate::internals::signature::{Receiver, arguments, common, named_type, receiver};
use crate::internals::symbol::{
    AGGREGATE_KEYS, APPLY, CFG, COMMAND, CRATE, ERROR, EVENT, HANDLE, NAME, SERVICES,
    SNAPSHOT_EVERY, SNAPSHOT_VERSION, VIS,
};

use super::model::{Aggregate, Apply, Handle, Options};

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

/// Reports `#[aggregate]` on an item that is not an `impl` block, at the item's keyword.
pub(super) fn not_impl(item: &syn::Item, errors: &mut Errors) {
    let (keyword, name): (TokenStream, Option<&syn::Ident>) = match item {
        syn::Item::Struct(item) => (item.struct_token.to_token_stream(), Some(&item.ident)),
        syn::Item::Enum(item) => (item.enum_token.to_token_stream(), Some(&item.ident)),
        syn::Item::Union(item) => (item.union_token.to_token_stream(), Some(&item.ident)),
        syn::Item::Fn(item) => (item.sig.fn_token.to_token_stream(), None),
        syn::Item::Trait(item) => (item.trait_token.to_token_stream(), None),
        syn::Item::Mod(item) => (item.mod_token.to_token_stream(), None),
        other => (other.to_token_stream(), None),
    };
    let message = match name {
        Some(name) => format!(
            "`#[aggregate]` goes on the `impl` block of the aggregate, not on its declaration; write `#[aggregate] impl {name} {{ .. }}`"
        ),
        None => "`#[aggregate]` goes on the `impl` block of the aggregate, e.g. `#[aggregate] impl BankAccount { .. }`".to_owned(),
    };
    errors.error(keyword, message);
}

/// Strips our attributes from `item` (in place, for re-emission) and reads the aggregate from
/// it; `None` when the block itself is not usable (a trait impl, generics).
pub(super) fn parse(
    item: &mut syn::ItemImpl,
    options: Options,
    errors: &mut Errors,
) -> Option<Aggregate> {
    let mut applies = Vec::new();
    let mut handles = Vec::new();
    for impl_item in &mut item.items {
        let Some(role) = take_role(impl_item, errors) else {
            continue;
        };
        let syn::ImplItem::Fn(method) = impl_item else {
            errors.error(&role.attr, format!("`#[{}]` goes on a method", role.name()));
            continue;
        };
        let cfgs = method
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident(CFG))
            .cloned()
            .collect();
        match role.kind {
            Role::Apply => applies.extend(apply(&method.sig, cfgs, errors)),
            Role::Handle => handles.extend(handle(&method.sig, cfgs, errors)),
        }
        // The framework dictates these signatures; pedantic lints on them are not the user's
        // to fix.
        method.attrs.push(match role.kind {
            Role::Apply => {
                syn::parse_quote!(#[allow(clippy::unused_self, clippy::trivially_copy_pass_by_ref)])
            }
            Role::Handle => {
                syn::parse_quote!(#[allow(clippy::unused_self, clippy::needless_pass_by_value)])
            }
        });
    }
    let ident = block(item, errors)?;
    Some(Aggregate {
        self_ty: (*item.self_ty).clone(),
        ident,
        options,
        applies,
        handles,
    })
}

/// The aggregate's name when the block is an inherent, non-generic `impl` of a named type.
fn block(item: &syn::ItemImpl, errors: &mut Errors) -> Option<syn::Ident> {
    let mut usable = true;
    let ty = &item.self_ty;
    if let Some((_, trait_path, _)) = &item.trait_ {
        errors.error(
            trait_path,
            format!(
                "`#[aggregate]` goes on the inherent `impl {}` block, not on a trait impl; move it and its methods to `impl {} {{ .. }}`",
                ty.to_token_stream(),
                ty.to_token_stream()
            ),
        );
        usable = false;
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.error(
            &item.generics,
            "`#[aggregate]` does not support generic aggregates; remove the generic parameters",
        );
        usable = false;
    }
    let ident = match &**ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            if usable && !last.arguments.is_none() {
                errors.error(
                    &last.arguments,
                    "`#[aggregate]` does not support generic aggregates; remove the generic arguments",
                );
                usable = false;
            }
            Some(last.ident.clone())
        }
        other => {
            errors.error(
                other,
                "`#[aggregate]` needs the aggregate's type by name, e.g. `impl BankAccount { .. }`",
            );
            None
        }
    };
    ident.filter(|_| usable)
}

enum Role {
    Apply,
    Handle,
}

struct Marked {
    kind: Role,
    attr: syn::Attribute,
}

impl Marked {
    fn name(&self) -> &'static str {
        match self.kind {
            Role::Apply => APPLY,
            Role::Handle => HANDLE,
        }
    }
}

/// Removes `#[apply]` / `#[handle]` from an impl item and tells which it had; reports
/// arguments, repeats, and both at once.
fn take_role(impl_item: &mut syn::ImplItem, errors: &mut Errors) -> Option<Marked> {
    let method = match &*impl_item {
        syn::ImplItem::Fn(item) => format!("method `{}`", item.sig.ident),
        syn::ImplItem::Const(item) => format!("`{}`", item.ident),
        syn::ImplItem::Type(item) => format!("`{}`", item.ident),
        _ => "this item".to_owned(),
    };
    let attrs = match impl_item {
        syn::ImplItem::Fn(item) => &mut item.attrs,
        syn::ImplItem::Const(item) => &mut item.attrs,
        syn::ImplItem::Type(item) => &mut item.attrs,
        syn::ImplItem::Macro(item) => &mut item.attrs,
        _ => return None,
    };
    let mut found: Option<Marked> = None;
    let mut conflict = false;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        let kind = if attr.path().is_ident(APPLY) {
            Role::Apply
        } else if attr.path().is_ident(HANDLE) {
            Role::Handle
        } else {
            kept.push(attr);
            continue;
        };
        let marked = Marked { kind, attr };
        require_bare(&marked.attr, marked.name(), errors);
        match &found {
            None => found = Some(marked),
            Some(first) if first.name() == marked.name() => errors.duplicate(
                &marked.attr,
                format!(
                    "duplicate `#[{}]` on {method}; remove this one",
                    marked.name()
                ),
                &first.attr,
            ),
            Some(first) => {
                errors.duplicate(
                    &marked.attr,
                    format!(
                        "{method} has both `#[{}]` and `#[{}]`; a method either handles a command (`&self`) or applies an event (`&mut self`)",
                        first.name(),
                        marked.name()
                    ),
                    &first.attr,
                );
                conflict = true;
            }
        }
    }
    *attrs = kept;
    found.filter(|_| !conflict)
}

fn apply(sig: &syn::Signature, cfgs: Vec<syn::Attribute>, errors: &mut Errors) -> Option<Apply> {
    let method = &sig.ident;
    let usage = format!("`fn {method}(&mut self, e: &Event)`");
    common(sig, APPLY, errors);
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
        cfgs,
        event: ty.clone(),
        variant,
    })
}

fn handle(sig: &syn::Signature, cfgs: Vec<syn::Attribute>, errors: &mut Errors) -> Option<Handle> {
    let method = &sig.ident;
    let usage = format!(
        "`fn {method}(&self, cmd: Command)` or `fn {method}(&self, cmd: Command, services: &Services)`"
    );
    common(sig, HANDLE, errors);
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
        cfgs,
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
