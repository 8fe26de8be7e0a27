//! [`Projection`] -> `impl Projection` and one `impl Query` per `#[query]` method. Cannot fail.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::Projection;

pub(super) fn expand(projection: &Projection) -> TokenStream {
    let private = projection.options.krate.private();
    let self_ty = &projection.self_ty;
    let name = projection.name();
    let durable = projection.options.durable;
    let record = local("__es_record");
    let codec = local("__es_codec");
    let event = local("__es_event");
    let stored = local("__es_name");
    let dispatch = projection.ons.iter().map(|on| {
        let cfgs = &on.cfgs;
        let method = &on.method;
        let ty = &on.event;
        // Checked at the user's type: an `#[on]` parameter that is not an event says so.
        let event_name = quote_spanned! {ty.span()=> <#ty as #private::Event>::NAME };
        let call = if on.meta {
            quote!(self.#method(&#event, &#private::EventMeta::new(#record)))
        } else {
            quote!(self.#method(&#event))
        };
        quote! {
            #(#cfgs)*
            if #stored == #event_name {
                let #event: #ty = #private::decode_record(#codec, #record)?;
                return #private::projection_outcome(
                    <Self as #private::Projection>::NAME,
                    #record,
                    #call,
                );
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
    quote! {
        #[automatically_derived]
        impl #private::Projection for #self_ty {
            const NAME: &'static ::core::primitive::str = #name;
            const DURABLE: ::core::primitive::bool = #durable;

            fn apply<__EsCodec: #private::Codec>(
                &mut self,
                #record: &#private::RecordedEvent,
                #codec: &__EsCodec,
            ) -> ::core::result::Result<(), #private::Error> {
                let #stored: &::core::primitive::str = &#record.name;
                #(#dispatch)*
                let _ = (#stored, #codec);
                ::core::result::Result::Ok(())
            }
        }

        #(#queries)*
    }
}

fn local(name: &str) -> syn::Ident {
    format_ident!("{}", name, span = Span::mixed_site())
}
