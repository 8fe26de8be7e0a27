//! `#[projection(..)] impl X { .. }` -> [`Projection`]: reads the options, strips `#[on]` and
//! `#[query]` from the methods and records their signatures, reporting each problem at its
//! token.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::Token;
use syn::parse::Parser;

use crate::internals::Errors;
use crate::internals::errors::require_bare;
use crate::internals::keys::{self, Keys};
use crate::internals::signature::{Receiver, arguments, common, named_type, receiver};
use crate::internals::symbol::{CFG, CRATE, DURABLE, NAME, ON, PROJECTION_KEYS, QUERY, SKIP_NEWER};

use super::model::{On, Options, Projection, Query};

/// Reads `#[projection(..)]`'s arguments; a bad key or value is recorded and skipped.
pub(super) fn options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let mut keys = Keys::new("projection", PROJECTION_KEYS);
    let parser = syn::meta::parser(|meta| {
        match keys.key(&meta, errors)? {
            Some(NAME) => options.name = keys::string(&meta, NAME, "balances", errors)?,
            Some(flag @ (DURABLE | SKIP_NEWER)) => {
                if meta.input.peek(Token![=]) {
                    let value = meta.value()?.parse::<syn::Expr>()?;
                    errors.error(
                        value,
                        format!(
                            "`{flag}` is a flag and takes no value: write `#[projection({flag})]`"
                        ),
                    );
                }
                if flag == DURABLE {
                    options.durable = true;
                } else {
                    options.skip_newer = true;
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

/// Reports `#[projection]` on an item that is not an `impl` block.
pub(super) fn not_impl(item: &syn::Item, errors: &mut Errors) {
    let (keyword, name): (TokenStream, Option<&syn::Ident>) = match item {
        syn::Item::Struct(item) => (item.struct_token.to_token_stream(), Some(&item.ident)),
        syn::Item::Enum(item) => (item.enum_token.to_token_stream(), Some(&item.ident)),
        syn::Item::Fn(item) => (item.sig.fn_token.to_token_stream(), None),
        syn::Item::Trait(item) => (item.trait_token.to_token_stream(), None),
        other => (other.to_token_stream(), None),
    };
    let message = match name {
        Some(name) => format!(
            "`#[projection]` goes on the `impl` block of the read model, not on its declaration; write `#[projection] impl {name} {{ .. }}`"
        ),
        None => "`#[projection]` goes on the `impl` block of the read model, e.g. `#[projection] impl Balances { .. }`".to_owned(),
    };
    errors.error(keyword, message);
}

/// Strips our attributes from `item` (in place, for re-emission) and reads the projection;
/// `None` when the block itself is not usable (a trait impl, generics).
pub(super) fn parse(
    item: &mut syn::ItemImpl,
    options: Options,
    errors: &mut Errors,
) -> Option<Projection> {
    let mut ons = Vec::new();
    let mut queries = Vec::new();
    for impl_item in &mut item.items {
        let syn::ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let Some((role, attr)) = take_role(&mut method.attrs, errors) else {
            continue;
        };
        let cfgs: Vec<syn::Attribute> = method
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident(CFG))
            .cloned()
            .collect();
        let before = errors.count();
        common(&method.sig, role, errors);
        if role == ON {
            // A method with a wrong signature is left out of the expansion: its error is the
            // only one the user sees.
            let read = on(&method.sig, &attr, cfgs, errors);
            ons.extend(read.filter(|_| errors.count() == before));
            method.attrs.push(
                syn::parse_quote!(#[allow(clippy::unused_self, clippy::trivially_copy_pass_by_ref)]),
            );
        } else {
            let read = query(&method.sig, cfgs, errors);
            queries.extend(read.filter(|_| errors.count() == before));
            method.attrs.push(
                syn::parse_quote!(#[allow(clippy::unused_self, clippy::needless_pass_by_value)]),
            );
        }
    }
    let ident = block(item, errors)?;
    Some(Projection {
        self_ty: (*item.self_ty).clone(),
        ident,
        options,
        ons,
        queries,
    })
}

fn block(item: &syn::ItemImpl, errors: &mut Errors) -> Option<syn::Ident> {
    let ty = &item.self_ty;
    if let Some((_, trait_path, _)) = &item.trait_ {
        errors.error(
            trait_path,
            format!(
                "`#[projection]` goes on the inherent `impl {}` block, not on a trait impl",
                ty.to_token_stream()
            ),
        );
        return None;
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.error(
            &item.generics,
            "`#[projection]` does not support generic read models; remove the generic parameters",
        );
        return None;
    }
    match &**ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            if last.arguments.is_none() {
                Some(last.ident.clone())
            } else {
                errors.error(
                    &last.arguments,
                    "`#[projection]` does not support generic read models; remove the generic arguments",
                );
                None
            }
        }
        other => {
            errors.error(
                other,
                "`#[projection]` needs the read model's type by name, e.g. `impl Balances { .. }`",
            );
            None
        }
    }
}

/// Removes `#[on]` / `#[query]` from a method and tells which it had.
fn take_role(
    attrs: &mut Vec<syn::Attribute>,
    errors: &mut Errors,
) -> Option<(&'static str, syn::Attribute)> {
    let mut found: Option<(&'static str, syn::Attribute)> = None;
    let mut conflict = false;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        let role = if attr.path().is_ident(ON) {
            ON
        } else if attr.path().is_ident(QUERY) {
            QUERY
        } else {
            kept.push(attr);
            continue;
        };
        require_bare(&attr, role, errors);
        match &found {
            None => found = Some((role, attr)),
            Some((first, first_attr)) => {
                let message = if *first == role {
                    format!("duplicate `#[{role}]`; remove this one")
                } else {
                    conflict = true;
                    "a method is either `#[on]` (it applies an event) or `#[query]` (it answers a query), not both".to_owned()
                };
                errors.duplicate(&attr, message, first_attr);
            }
        }
    }
    *attrs = kept;
    // Read as neither: its signature would fit one of the two and be reported for the other.
    found.filter(|_| !conflict)
}

fn on(
    sig: &syn::Signature,
    attr: &syn::Attribute,
    cfgs: Vec<syn::Attribute>,
    errors: &mut Errors,
) -> Option<On> {
    let method = &sig.ident;
    let usage = format!(
        "`fn {method}(&mut self, e: &Event)` or `fn {method}(&mut self, e: &Event, meta: &EventMeta)`"
    );
    if let Some(asyncness) = &sig.asyncness {
        errors.error(
            asyncness,
            format!("`#[on]` method `{method}` cannot be `async`: it updates the read model in memory; remove `async`"),
        );
    }
    match receiver(sig) {
        Receiver::Mutable => {}
        Receiver::Shared | Receiver::Other(_) => errors.error(
            sig.receiver(),
            format!("`#[on]` method `{method}` must take `&mut self`: it updates the read model"),
        ),
        Receiver::None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!("`#[on]` method `{method}` must take `&mut self` and the event: {usage}"),
        )),
    }
    let arguments = arguments(sig);
    let Some(event) = arguments.first() else {
        errors.error(
            attr,
            format!("`#[on]` method `{method}` takes the event it handles: {usage}"),
        );
        return None;
    };
    for extra in arguments.iter().skip(2) {
        errors.error(
            extra,
            format!("`#[on]` method `{method}` takes the event and, optionally, its metadata: {usage}; remove this one"),
        );
    }
    if let Some(meta) = arguments.get(1) {
        if !matches!(&*meta.ty, syn::Type::Reference(reference) if reference.mutability.is_none()) {
            errors.error(
                &meta.ty,
                format!(
                    "`#[on]` method `{method}` takes the metadata by reference: `meta: &EventMeta`"
                ),
            );
        }
    }
    let event_ty = match &*event.ty {
        syn::Type::Reference(reference) if reference.mutability.is_none() => {
            named_type(&reference.elem).map(|(ty, _)| ty.clone())
        }
        _ => None,
    };
    let Some(event_ty) = event_ty else {
        errors.error(
            &event.ty,
            format!("`#[on]` method `{method}` must take an event type by shared reference, e.g. `e: &AccountOpened`"),
        );
        return None;
    };
    Some(On {
        method: method.clone(),
        cfgs,
        event: event_ty,
        meta: arguments.len() >= 2,
    })
}

fn query(sig: &syn::Signature, cfgs: Vec<syn::Attribute>, errors: &mut Errors) -> Option<Query> {
    let method = &sig.ident;
    let usage = format!("`fn {method}(&self, q: MyQuery) -> Response`");
    if let Some(asyncness) = &sig.asyncness {
        errors.error(
            asyncness,
            format!("`#[query]` method `{method}` cannot be `async`: it reads the read model in memory; remove `async`"),
        );
    }
    match receiver(sig) {
        Receiver::Shared => {}
        Receiver::Mutable => errors.error(
            sig.receiver(),
            format!("`#[query]` method `{method}` must take `&self`, not `&mut self`: a query only reads"),
        ),
        Receiver::Other(receiver) => errors.error(
            receiver,
            format!("`#[query]` method `{method}` must take `&self`: a query only reads"),
        ),
        Receiver::None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!("`#[query]` method `{method}` must take `&self` and the query: {usage}"),
        )),
    }
    let arguments = arguments(sig);
    let [query] = arguments.as_slice() else {
        errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!("`#[query]` method `{method}` takes one argument, the query by value: {usage}"),
        ));
        return None;
    };
    let Some((query_ty, _)) = named_type(&query.ty) else {
        errors.error(
            &query.ty,
            format!(
                "`#[query]` method `{method}` must take a query type by value, e.g. `q: GetBalance`"
            ),
        );
        return None;
    };
    let response = match &sig.output {
        syn::ReturnType::Default => None,
        syn::ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    Some(Query {
        method: method.clone(),
        cfgs,
        ty: query_ty.clone(),
        response,
    })
}
