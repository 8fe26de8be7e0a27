//! `#[aggregate]`: an aggregate's `impl` block -> its event and command enums and
//! `impl Aggregate`.

mod check;
mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use crate::internals::Errors;

/// Expands `#[aggregate(args)]` on `item`.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let options = parse::options(args, &mut errors);
    let mut block = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Impl(block)) => block,
        Ok(other) => {
            parse::not_impl(&other, &mut errors);
            return with_errors(item, errors);
        }
        // Re-emitting the item lets the compiler report its syntax error, beside ours.
        Err(_) => return with_errors(item, errors),
    };
    let Some(mut aggregate) = parse::parse(&mut block, options, &mut errors) else {
        return with_errors(block, errors);
    };
    check::check(&mut aggregate, &mut errors);
    let (generated, errors) = match errors.check() {
        Ok(()) => (expand::expand(&aggregate, expand::Mode::Full), None),
        Err(error) => (
            expand::expand(&aggregate, expand::Mode::Skeleton),
            Some(error.into_compile_error()),
        ),
    };
    quote! {
        #block
        #generated
        #errors
    }
}

/// `item` followed by the errors recorded.
fn with_errors(item: impl ToTokens, errors: Errors) -> TokenStream {
    let errors = errors.check().err().map(syn::Error::into_compile_error);
    quote!(#item #errors)
}
