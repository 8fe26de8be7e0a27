//! What `#[projection]` knows about the `impl` block, with the user's spans.

use crate::internals::{CratePath, case};

/// One projection: its type, options, and the methods marked `#[on]` and `#[query]`.
pub(super) struct Projection {
    /// The type after `impl`.
    pub(super) self_ty: syn::Type,
    /// Its last path segment.
    pub(super) ident: syn::Ident,
    pub(super) options: Options,
    pub(super) ons: Vec<On>,
    pub(super) queries: Vec<Query>,
}

/// The keys of `#[projection(..)]`.
#[derive(Default)]
pub(super) struct Options {
    /// `name = ".."`: the checkpoint's name.
    pub(super) name: Option<syn::LitStr>,
    /// `durable`: the read model outlives the process, so a background run resumes from the
    /// stored checkpoint.
    pub(super) durable: bool,
    /// `skip_newer`: events of a newer schema version are skipped, not an error.
    pub(super) skip_newer: bool,
    /// `crate = ".."`: the runtime crate.
    pub(super) krate: CratePath,
}

/// `#[on] fn method(&mut self, e: &Event[, meta: &EventMeta]) [-> Result<(), E>]`.
pub(super) struct On {
    pub(super) method: syn::Ident,
    /// `#[cfg(..)]` attributes of the method, copied onto its dispatch.
    pub(super) cfgs: Vec<syn::Attribute>,
    /// The event type (`Event` in `&Event`).
    pub(super) event: syn::Type,
    /// Whether the method takes the event's metadata too.
    pub(super) meta: bool,
}

/// `#[query] fn method(&self, q: Query) -> Response`.
pub(super) struct Query {
    pub(super) method: syn::Ident,
    /// `#[cfg(..)]` attributes of the method, copied onto its `impl Query`.
    pub(super) cfgs: Vec<syn::Attribute>,
    /// The query type.
    pub(super) ty: syn::Type,
    /// The response type; `None` for `()`.
    pub(super) response: Option<syn::Type>,
}

impl Projection {
    /// The checkpoint name: `name = ".."`, else the type's name in kebab-case.
    pub(super) fn name(&self) -> String {
        self.options
            .name
            .as_ref()
            .map_or_else(|| case::kebab(&self.ident.to_string()), syn::LitStr::value)
    }
}
