//! `#[derive(Event)]`: the stored name and schema version of one event type.

mod check;
mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

use crate::internals::Errors;

/// Expands `#[derive(Event)]` on `input`.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::new();
    let event = parse::parse(&input, &mut errors);
    check::check(&event, &mut errors);
    match errors.check() {
        Ok(()) => expand::expand(&event),
        Err(error) => {
            // A stub impl keeps uses of the type from adding "not an event" errors to ours.
            let mut out = error.into_compile_error();
            if event.can_implement() {
                out.extend(expand::expand(&event));
            }
            out
        }
    }
}
