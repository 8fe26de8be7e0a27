//! `#[projection]`: a read model's `impl` block -> `impl Projection` (the dispatch from stored
//! event names to its `#[on]` methods) and `impl Query` for each `#[query]` method.

mod check;
mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;
use quote::quote;

use crate::internals::Errors;

/// Expands `#[projection(args)]` on `item`.
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
    let Some(mut projection) = parse::parse(&mut block, options, &mut errors) else {
        let errors = errors.into_compile_errors();
        return quote!(#block #errors);
    };
    check::check(&mut projection, &mut errors);
    let generated = expand::expand(&projection);
    let errors = errors.into_compile_errors();
    quote! {
        #block
        #generated
        #errors
    }
}
