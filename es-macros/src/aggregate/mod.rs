//! `#[aggregate]`: an aggregate's `impl` block -> its event and command enums and
//! `impl Aggregate`.

mod check;
mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;
use quote::quote;

use crate::internals::Errors;

/// Expands `#[aggregate(args)]` on `item`.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let options = parse::options(args, &mut errors);
    let mut block = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Impl(block)) => block,
        Ok(other) => {
            parse::not_impl(&other, &mut errors);
            let errors = errors.into_compile_errors();
            return quote!(#item #errors);
        }
        // Re-emitting the item lets the compiler report its syntax error.
        Err(_) => return item,
    };
    let Some(mut aggregate) = parse::parse(&mut block, options, &mut errors) else {
        let errors = errors.into_compile_errors();
        return quote!(#block #errors);
    };
    check::check(&mut aggregate, &mut errors);
    let mode = if errors.is_empty() {
        expand::Mode::Full
    } else {
        expand::Mode::Skeleton
    };
    let generated = expand::expand(&aggregate, mode);
    let errors = errors.into_compile_errors();
    quote! {
        #block
        #generated
        #errors
    }
}
