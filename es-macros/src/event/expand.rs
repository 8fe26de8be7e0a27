//! [`Event`] -> the `impl Event`.

use proc_macro2::TokenStream;
use quote::quote;

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
    quote! {
        #[automatically_derived]
        impl #impl_generics #private::Event for #ident #type_generics #where_clause {
            const NAME: &'static ::core::primitive::str = #name;
            const VERSION: ::core::primitive::u16 = #version;
        }
    }
}
