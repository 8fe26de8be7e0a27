//! `#[projection(..)] impl X { .. }` -> [`Projection`](super::model::Projection): reads the
//! options and the signatures of the methods the front end hands over, reporting each problem
//! at its token.

use proc_macro2::TokenStream;
use syn::Token;
use syn::parse::Parser;

use crate::internals::Errors;
use crate::internals::impl_block::Marked;
use crate::internals::keys::{self, Keys};
use crate::internals::signature::{Receiver, arguments, named_type, receiver};
use crate::internals::symbol::{CRATE, DURABLE, NAME, PROJECTION_KEYS, SKIP_NEWER};

use super::model::{On, Options, Query};

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

/// `#[on] fn ..(&mut self, e: &Event[, meta: &EventMeta])`.
pub(super) fn on(marked: &Marked<'_>, errors: &mut Errors) -> Option<On> {
    let sig = marked.sig;
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
            &marked.attr,
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
        cfgs: marked.cfgs.clone(),
        event: event_ty,
        meta: arguments.len() >= 2,
    })
}

/// `#[query] fn ..(&self, q: Query) -> Response`.
pub(super) fn query(marked: &Marked<'_>, errors: &mut Errors) -> Option<Query> {
    let sig = marked.sig;
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
        cfgs: marked.cfgs.clone(),
        ty: query_ty.clone(),
        response,
    })
}
