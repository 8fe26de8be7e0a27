//! `#[derive(Command)]`: the routing key of one command type.

mod check;
mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

use crate::internals::Errors;

/// Expands `#[derive(Command)]` on `input`.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::new();
    let command = parse::parse(&input, &mut errors);
    check::check(&command, &mut errors);
    match errors.check() {
        Ok(()) => expand::expand(&command),
        Err(error) => {
            // The impl (or a stub without an id) keeps uses of the type from adding "not a
            // command" errors to ours.
            let mut out = error.into_compile_error();
            out.extend(expand::expand(&command));
            out
        }
    }
}
