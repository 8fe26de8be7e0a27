//! What `#[aggregate]` knows about the `impl` block, with the user's spans.

use proc_macro2::Span;
use quote::format_ident;

use crate::internals::{CratePath, case};

/// One aggregate: its type, options, and the methods marked `#[apply]` and `#[handle]`.
pub(super) struct Aggregate {
    /// The type after `impl`.
    pub(super) self_ty: syn::Type,
    /// Its last path segment: the base of generated names.
    pub(super) ident: syn::Ident,
    pub(super) options: Options,
    /// `#[apply]` methods whose signature names an event type, in order.
    pub(super) applies: Vec<Apply>,
    /// `#[handle]` methods whose signature names a command type, in order.
    pub(super) handles: Vec<Handle>,
}

/// The keys of `#[aggregate(..)]`.
#[derive(Default)]
pub(super) struct Options {
    /// `name = ".."`: the stream prefix.
    pub(super) name: Option<syn::LitStr>,
    /// `error = Type`: the domain error.
    pub(super) error: Option<syn::Type>,
    /// `services = Type`: what handlers may use besides the state.
    pub(super) services: Option<syn::Type>,
    /// `event = Name`: the generated event enum.
    pub(super) event: Option<syn::Ident>,
    /// `command = Name`: the generated command enum.
    pub(super) command: Option<syn::Ident>,
    /// `vis = pub(crate)`: the visibility of both enums.
    pub(super) vis: Option<syn::Visibility>,
    /// `snapshot_every = N`: snapshot the state every N events (at least 1).
    pub(super) snapshot_every: Option<(syn::LitInt, u64)>,
    /// `snapshot_version = N`: the schema version of the snapshotted state (default 1).
    pub(super) snapshot_version: Option<(syn::LitInt, u16)>,
    /// `crate = ".."`: the runtime crate.
    pub(super) krate: CratePath,
}

/// `#[apply] fn method(&mut self, e: &Event)`.
pub(super) struct Apply {
    pub(super) method: syn::Ident,
    /// `#[cfg(..)]` attributes of the method, copied onto everything generated for it.
    pub(super) cfgs: Vec<syn::Attribute>,
    /// The event type (`Event` in `&Event`).
    pub(super) event: syn::Type,
    /// Its variant in the event enum: the type's last path segment.
    pub(super) variant: syn::Ident,
}

/// `#[handle] [async] fn method(&self, cmd: Command[, services: &Services]) -> Output`.
pub(super) struct Handle {
    pub(super) method: syn::Ident,
    /// `#[cfg(..)]` attributes of the method, copied onto everything generated for it.
    pub(super) cfgs: Vec<syn::Attribute>,
    pub(super) is_async: bool,
    /// The command type.
    pub(super) command: syn::Type,
    /// Its variant in the command enum: the type's last path segment.
    pub(super) variant: syn::Ident,
    /// The type of the services parameter (`&Services`), when the method takes one.
    pub(super) services: Option<syn::Type>,
    /// The return type; `None` for `()`.
    pub(super) output: Option<syn::Type>,
    /// Whether the return type is a `Result` (its last path segment is `Result`).
    pub(super) fallible: bool,
}

impl Aggregate {
    /// `{Aggregate}Event`, or `event = ..`.
    pub(super) fn event_enum(&self) -> syn::Ident {
        self.options
            .event
            .clone()
            .unwrap_or_else(|| format_ident!("{}Event", self.ident, span = self.ident.span()))
    }

    /// `{Aggregate}Command`, or `command = ..`.
    pub(super) fn command_enum(&self) -> syn::Ident {
        self.options
            .command
            .clone()
            .unwrap_or_else(|| format_ident!("{}Command", self.ident, span = self.ident.span()))
    }

    /// The stream prefix: `name = ".."`, else the type's name in kebab-case.
    pub(super) fn stream_prefix(&self) -> String {
        self.options
            .name
            .as_ref()
            .map_or_else(|| self.stream_prefix_default(), syn::LitStr::value)
    }

    /// The type's name in kebab-case: `BankAccount` -> `bank-account`.
    pub(super) fn stream_prefix_default(&self) -> String {
        case::kebab(&self.ident.to_string())
    }

    /// The visibility of the generated enums: `vis = ..`, else `pub`.
    pub(super) fn vis(&self) -> syn::Visibility {
        self.options
            .vis
            .clone()
            .unwrap_or_else(|| syn::Visibility::Public(syn::token::Pub(Span::call_site())))
    }

    /// Whether any handler takes the services.
    pub(super) fn uses_services(&self) -> bool {
        self.handles.iter().any(|handle| handle.services.is_some())
    }
}
