//! `#[derive(Event)]` input -> [`Event`]: reads `#[event(name = "..", version = N)]`.

use crate::internals::keys::{self, Keys};
use crate::internals::symbol::{CRATE, EVENT, EVENT_KEYS, NAME, VERSION};
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
                Some(NAME) => event.name = Some(keys::string(&meta, NAME, "AccountOpened")?),
                Some(VERSION) => {
                    let literal = keys::integer(&meta, VERSION, "2")?;
                    let version = literal.base10_parse::<u16>().map_err(|_| {
                        syn::Error::new(literal.span(), "`version` must be between 1 and 65535")
                    })?;
                    event.version = Some((literal, version));
                }
                Some(CRATE) => {
                    event.krate = CratePath::parse(&keys::string(&meta, CRATE, "::es_core")?)?;
                }
                Some(_) | None => {}
            }
            Ok(())
        });
        errors.ok(result);
    }
    event
}
