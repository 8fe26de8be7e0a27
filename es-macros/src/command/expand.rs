//! [`Command`] -> the `impl Command`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::internals::dummy::wrap_in_const;

use super::model::Command;

pub(super) fn expand(command: &Command) -> TokenStream {
    let private = command.krate.private();
    let ident = &command.ident;
    let (impl_generics, type_generics, where_clause) = command.generics.split_for_impl();
    // Without an id, a stub that is only emitted next to the error that says why.
    let mut body = quote! {
        type Id = ::core::primitive::str;
        fn aggregate_id(&self) -> &::core::primitive::str {
            ::core::unreachable!()
        }
    };
    if let Some(id) = command.ids.first() {
        let member = &id.member;
        let ty = &id.ty;
        // Spanned at the field's type: an id that is not `Display` is reported there.
        let id_type = quote_spanned!(ty.span()=> type Id = #ty;);
        body = quote! {
            #id_type
            #[inline]
            fn aggregate_id(&self) -> &<Self as #private::Command>::Id {
                &self.#member
            }
        };
    }
    wrap_in_const(&quote! {
        #[automatically_derived]
        impl #impl_generics #private::Command for #ident #type_generics #where_clause {
            #body
        }
    })
}
