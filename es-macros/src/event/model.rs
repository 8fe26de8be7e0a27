//! What `#[derive(Event)]` knows about its type, with the user's spans.

use crate::internals::CratePath;

/// One event type.
pub(super) struct Event {
    /// The type.
    pub(super) ident: syn::Ident,
    pub(super) generics: syn::Generics,
    /// The `union` keyword when the type is one (an error).
    pub(super) union: Option<syn::token::Union>,
    /// `name = ".."`, when given.
    pub(super) name: Option<syn::LitStr>,
    /// `version = N`, when given, with its value.
    pub(super) version: Option<(syn::LitInt, u16)>,
    /// `upcasters = [f, g]`, when given: the list, for its span, and its functions in order.
    pub(super) upcasters: Option<(syn::ExprArray, Vec<syn::Path>)>,
    /// `crate = ".."`, else `::es_core`.
    pub(super) krate: CratePath,
}

impl Event {
    /// The stored name: `name = ".."`, else the type's name.
    pub(super) fn stored_name(&self) -> String {
        self.name
            .as_ref()
            .map_or_else(|| self.ident.to_string(), syn::LitStr::value)
    }

    /// The schema version: `version = N`, else 1 (also standing in for an invalid 0).
    pub(super) fn schema_version(&self) -> u16 {
        self.version
            .as_ref()
            .map_or(1, |(_, version)| *version)
            .max(1)
    }

    /// Whether an impl can be emitted, valid or not, to spare the user follow-up errors.
    pub(super) fn can_implement(&self) -> bool {
        self.union.is_none()
    }
}
