//! [`Projection`] -> `impl Projection` and one `impl Query` per `#[query]` method. Cannot fail.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::internals::dummy::wrap_in_const;

use super::model::Projection;

pub(super) fn expand(projection: &Projection) -> TokenStream {
    let private = projection.options.krate.private();
    let self_ty = &projection.self_ty;
    let name = projection.name();
    let durable = projection.options.durable;
    let skip_newer = projection.options.skip_newer;
    let meta = local("__es_meta");
    let codec = local("__es_codec");
    let event = local("__es_event");
    let dispatch = projection.ons.iter().map(|on| {
        let cfgs = &on.cfgs;
        let method = &on.method;
        let ty = &on.event;
        let call = if on.meta {
            quote!(self.#method(#event, &#meta))
        } else {
            quote!(self.#method(#event))
        };
        // Spanned at the user's type: an `#[on]` parameter that is not an event says so there.
        let on_event = quote_spanned! {ty.span()=> #private::on_event::<#ty, _, _> };
        quote! {
            #(#cfgs)*
            if let ::core::option::Option::Some(__es_outcome) = #on_event(
                <Self as #private::Projection>::NAME,
                <Self as #private::Projection>::SKIP_NEWER,
                #codec,
                #meta,
                |#event| #call,
            ) {
                return __es_outcome;
            }
        }
    });
    let queries = projection.queries.iter().map(|query| {
        let cfgs = &query.cfgs;
        let method = &query.method;
        let query_ty = &query.ty;
        let response = query
            .response
            .as_ref()
            .map_or_else(|| quote!(()), |ty| quote!(#ty));
        let read_model = local("__es_projection");
        quote! {
            #(#cfgs)*
            #[automatically_derived]
            impl #private::Query for #query_ty {
                type Response = #response;
                type Projection = #self_ty;

                fn ask(self, #read_model: &#self_ty) -> #response {
                    #read_model.#method(self)
                }
            }
        }
    });
    wrap_in_const(&quote! {
        #[automatically_derived]
        impl #private::Projection for #self_ty {
            const NAME: &'static ::core::primitive::str = #name;
            const DURABLE: ::core::primitive::bool = #durable;
            const SKIP_NEWER: ::core::primitive::bool = #skip_newer;

            fn apply<__EsCodec: #private::Codec>(
                &mut self,
                #meta: #private::EventMeta<'_>,
                #codec: &__EsCodec,
            ) -> ::core::result::Result<(), #private::Error> {
                #(#dispatch)*
                let _ = (#meta, #codec);
                ::core::result::Result::Ok(())
            }
        }

        #(#queries)*
    })
}

fn local(name: &str) -> syn::Ident {
    format_ident!("{}", name, span = Span::mixed_site())
}
