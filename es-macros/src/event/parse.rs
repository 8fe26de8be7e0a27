//! `#[derive(Event)]` input -> [`Event`]: reads
//! `#[event(name = "..", version = N, upcasters = [..])]`.

use crate::internals::keys::{self, Keys};
use crate::internals::symbol::{CRATE, EVENT, EVENT_KEYS, NAME, UPCASTERS, VERSION};
use crate::internals::{CratePath, Errors};

use super::model::Event;

pub(super) fn parse(input: &syn::DeriveInput, errors: &mut Errors) -> Event {
    let mut event = Event {
        ident: input.ident.clone(),
        generics: input.generics.clone(),
        union: match &input.data {
            syn::Data::Union(data) => Some(data.union_token),
            syn::Data::Struct(_) | syn::Data::Enum(_) => None,
        },
        name: None,
        version: None,
        upcasters: None,
        krate: CratePath::default(),
    };
    let mut keys = Keys::new(EVENT, EVENT_KEYS);
    for attr in input
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident(EVENT))
    {
        let result = attr.parse_nested_meta(|meta| {
            match keys.key(&meta, errors)? {
                Some(NAME) => {
                    if let Some(name) = keys::string(&meta, NAME, "AccountOpened", errors)? {
                        event.name = Some(name);
                    }
                }
                Some(VERSION) => {
                    if let Some(literal) = keys::integer(&meta, VERSION, "2", errors)? {
                        match literal.base10_parse::<u16>() {
                            Ok(version) => event.version = Some((literal, version)),
                            Err(_) => {
                                errors.error(&literal, "`version` must be between 1 and 65535");
                            }
                        }
                    }
                }
                Some(UPCASTERS) => event.upcasters = upcasters(&meta, errors)?,
                Some(CRATE) => {
                    if let Some(krate) = keys::crate_path(&meta, errors)? {
                        event.krate = krate;
                    }
                }
                Some(_) | None => {}
            }
            Ok(())
        });
        errors.ok(result);
    }
    event
}

/// `upcasters = [v1_to_v2, v2_to_v3]`: a list of function paths.
fn upcasters(
    meta: &syn::meta::ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<(syn::ExprArray, Vec<syn::Path>)>> {
    const EXAMPLE: &str = "`upcasters = [v1_to_v2, v2_to_v3]`";
    let list = match meta.value()?.parse::<syn::Expr>()? {
        syn::Expr::Array(list) => list,
        other => {
            errors.error(
                other,
                format!("`upcasters` takes a list of functions, e.g. {EXAMPLE}"),
            );
            return Ok(None);
        }
    };
    let mut paths = Vec::with_capacity(list.elems.len());
    for element in &list.elems {
        match element {
            syn::Expr::Path(path) if path.qself.is_none() => paths.push(path.path.clone()),
            other => errors.error(
                other,
                format!("an upcaster is a function's path, e.g. {EXAMPLE}"),
            ),
        }
    }
    Ok(Some((list, paths)))
}
