//! What `#[process_manager]` knows about the `impl` block, with the user's spans.

use crate::internals::{CratePath, case};

/// One process manager: its type, options and marked methods.
pub(super) struct ProcessManager {
    /// The type after `impl`.
    pub(super) self_ty: syn::Type,
    /// Its last path segment.
    pub(super) ident: syn::Ident,
    pub(super) options: Options,
    pub(super) methods: Methods,
}

/// The keys of `#[process_manager(..)]`.
#[derive(Default)]
pub(super) struct Options {
    /// `name = ".."`: names its streams, checkpoint and lease.
    pub(super) name: Option<syn::LitStr>,
    /// `services = Type`: what its methods may take besides the event.
    pub(super) services: Option<syn::Type>,
    /// `crate = ".."`: the runtime crate.
    pub(super) krate: CratePath,
}

/// The marked methods, in order.
#[derive(Default)]
pub(super) struct Methods {
    pub(super) ons: Vec<On>,
    pub(super) refused: Vec<Refused>,
    pub(super) deadlines: Vec<Deadline>,
}

/// What every marked method shares.
pub(crate) struct Method {
    pub(crate) ident: syn::Ident,
    /// `#[cfg(..)]` attributes of the method, copied onto its dispatch.
    pub(crate) cfgs: Vec<syn::Attribute>,
    pub(crate) is_async: bool,
    /// The type of its services parameter (`&Services`), when it takes one, last.
    pub(crate) services: Option<syn::Type>,
    /// What it returns as written, `None` for `()`.
    pub(crate) output: Option<syn::Type>,
}

/// `#[on(key = field)] [async] fn m(&mut self, e: &Event[, meta: &EventMeta][, s: &Services])`.
pub(super) struct On {
    pub(super) method: Method,
    pub(super) event: syn::Type,
    /// The event's field whose value is the correlation key.
    pub(super) key: syn::Member,
    pub(super) meta: bool,
}

/// `#[refused] [async] fn m(&mut self, cmd: &Command, error: &Error[, s: &Services])`.
pub(super) struct Refused {
    pub(super) method: Method,
    pub(super) command: syn::Type,
    pub(super) error: syn::Type,
}

/// `#[deadline] [async] fn m(&mut self[, s: &Services])`: the deadline named after the method.
pub(super) struct Deadline {
    pub(super) method: Method,
}

impl ProcessManager {
    /// `name = ".."`, else the type's name in kebab-case.
    pub(super) fn name(&self) -> String {
        self.options
            .name
            .as_ref()
            .map_or_else(|| case::kebab(&self.ident.to_string()), syn::LitStr::value)
    }
}
