//! [`Event`] -> the `impl Event`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::internals::dummy::wrap_in_const;

use super::model::Event;

pub(super) fn expand(event: &Event) -> TokenStream {
    let private = event.krate.private();
    let ident = &event.ident;
    let mut generics = event.generics.clone();
    if !generics.params.is_empty() {
        // A generic event is an event for the parameters that make it one.
        generics
            .make_where_clause()
            .predicates
            .push(syn::parse_quote! {
                Self: #private::serde::Serialize
                    + #private::serde::de::DeserializeOwned
                    + ::core::fmt::Debug
                    + ::core::clone::Clone
                    + ::core::cmp::PartialEq
                    + ::core::marker::Send
                    + ::core::marker::Sync
                    + 'static
            });
    }
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let name = event.stored_name();
    let version = event.schema_version();
    let upcasters = event.upcasters.as_ref().map(|(_, paths)| {
        // Each function is checked against `Upcaster` at its own path.
        let upcasters = paths.iter().map(|path| {
            quote_spanned! {path.span()=>
                {
                    const __ES_UPCASTER: #private::Upcaster = #path;
                    __ES_UPCASTER
                }
            }
        });
        quote! {
            const UPCASTERS: &'static [#private::Upcaster] = &[#(#upcasters),*];
        }
    });
    wrap_in_const(&quote! {
        #[automatically_derived]
        impl #impl_generics #private::Event for #ident #type_generics #where_clause {
            const NAME: &'static ::core::primitive::str = #name;
            const VERSION: ::core::primitive::u16 = #version;
            #upcasters
        }
    })
}
