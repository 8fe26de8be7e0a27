//! What `#[derive(Command)]` knows about its type, with the user's spans.

use crate::internals::CratePath;

/// One command type.
pub(super) struct Command {
    pub(super) ident: syn::Ident,
    pub(super) generics: syn::Generics,
    /// The `enum` or `union` keyword when the type is not a struct (an error).
    pub(super) not_struct: Option<NotStruct>,
    /// Every field marked `#[id]`, in order; valid when there is exactly one.
    pub(super) ids: Vec<IdField>,
    /// `::es_core`.
    pub(super) krate: CratePath,
}

/// The keyword of a type that is not a struct.
pub(super) enum NotStruct {
    Enum(syn::token::Enum),
    Union(syn::token::Union),
}

/// A field marked `#[id]`.
pub(super) struct IdField {
    /// The `#[id]` attribute, for errors.
    pub(super) attr: syn::Attribute,
    /// `self.<member>`.
    pub(super) member: syn::Member,
    pub(super) ty: syn::Type,
}
