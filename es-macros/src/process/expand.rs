//! [`ProcessManager`] -> `impl ProcessManager`. Cannot fail.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;

use crate::internals::dummy::wrap_in_const;
use crate::internals::tokens::{located_group, relocate, span_range};

use super::model::{Method, ProcessManager};

pub(super) fn expand(process: &ProcessManager) -> TokenStream {
    let private = process.options.krate.private();
    let self_ty = &process.self_ty;
    let name = process.name();
    let services_ty = process
        .options
        .services
        .as_ref()
        .map_or_else(|| quote!(()), |ty| quote!(#ty));
    let locals = Locals {
        codec: local("__es_codec"),
        record: local("__es_record"),
        input: local("__es_input"),
        meta: local("__es_meta"),
        services: local("__es_services"),
        refusal: local("__es_refusal"),
        deadline: local("__es_deadline"),
    };
    let Dispatch {
        handles,
        routes,
        ons,
        refusals,
        deadlines,
    } = dispatch(process, &private, &locals);
    let Locals {
        codec,
        record,
        input,
        meta,
        services,
        refusal,
        deadline,
    } = &locals;
    // The signatures name the services type rather than `Self::Services`: a state that is not
    // `Default`, `Serialize`, .. is then reported once, at the `impl`'s type, by the trait's
    // supertraits, and not again at each projection through `Self`.
    wrap_in_const(&quote! {
        #[automatically_derived]
        impl #private::ProcessManager for #self_ty {
            const NAME: &'static ::core::primitive::str = #name;
            const HANDLES: &'static [&'static ::core::primitive::str] = &[#(#handles),*];
            type Services = #services_ty;
            type Input = #private::Routed;

            fn route<__EsCodec: #private::Codec>(
                #record: &#private::RecordedEvent,
                #codec: &__EsCodec,
            ) -> ::core::result::Result<
                ::core::option::Option<(#private::std::string::String, #private::Routed)>,
                #private::Error,
            > {
                #(#routes)*
                let _ = (#record, #codec);
                ::core::result::Result::Ok(::core::option::Option::None)
            }

            #[allow(clippy::manual_async_fn)]
            fn on_event(
                &mut self,
                #input: #private::Routed,
                #meta: #private::EventMeta<'_>,
                #services: &#services_ty,
            ) -> impl ::core::future::Future<Output = #private::Steps> + ::core::marker::Send {
                async move {
                    let _ = (&#meta, #services);
                    match #input.handler() {
                        #(#ons)*
                        _ => #private::Steps::new(),
                    }
                }
            }

            #[allow(clippy::manual_async_fn)]
            fn on_refused(
                &mut self,
                #refusal: &#private::Refusal,
                #services: &#services_ty,
            ) -> impl ::core::future::Future<Output = #private::Steps> + ::core::marker::Send {
                async move {
                    let _ = #services;
                    #(#refusals)*
                    #private::unhandled_refusal(#name, #refusal)
                }
            }

            #[allow(clippy::manual_async_fn)]
            fn on_deadline(
                &mut self,
                #deadline: &::core::primitive::str,
                #services: &#services_ty,
            ) -> impl ::core::future::Future<Output = #private::Steps> + ::core::marker::Send {
                async move {
                    let _ = #services;
                    #(#deadlines)*
                    #private::unknown_deadline(#name, #deadline)
                }
            }
        }
    })
}

/// The names the generated methods use, hygienic.
struct Locals {
    codec: syn::Ident,
    record: syn::Ident,
    input: syn::Ident,
    meta: syn::Ident,
    services: syn::Ident,
    refusal: syn::Ident,
    deadline: syn::Ident,
}

/// The generated pieces for the marked methods: event names, routes, event, refusal and
/// deadline dispatches.
struct Dispatch {
    handles: Vec<TokenStream>,
    routes: Vec<TokenStream>,
    ons: Vec<TokenStream>,
    refusals: Vec<TokenStream>,
    deadlines: Vec<TokenStream>,
}

fn dispatch(process: &ProcessManager, private: &TokenStream, locals: &Locals) -> Dispatch {
    let Locals {
        codec,
        record,
        input,
        meta,
        services,
        ..
    } = locals;
    let call = |method: &Method, args: TokenStream| {
        call(
            method,
            &args,
            &quote!(#private::IntoSteps::into_steps),
            services,
        )
    };
    // Every use of an event type goes through `RoutedEvent`, located at the method's
    // parameter: a type without `#[derive(Event)]` gets the same diagnostic at each use, there,
    // and the compiler shows it once.
    let as_routed = |ty: &syn::Type, item: TokenStream| {
        relocate(quote!(<#ty as #private::RoutedEvent>::#item), ty.span())
    };
    let handles: Vec<_> = process
        .methods
        .ons
        .iter()
        .map(|on| {
            let cfgs = &on.method.cfgs;
            let name = as_routed(&on.event, quote!(NAME));
            quote! { #(#cfgs)* #name }
        })
        .collect();
    let routes: Vec<_> = process
        .methods
        .ons
        .iter()
        .enumerate()
        .map(|(index, on)| {
            let ty = &on.event;
            let cfgs = &on.method.cfgs;
            let key = &on.key;
            let event = local("__es_event");
            // Located at the key: a field that is not `Display` is reported there.
            let at = key.span();
            let mut key_expr = relocate(quote!(#private::CorrelationKey::correlation_key), at);
            key_expr.extend([located_group(relocate(quote!(&#event.#key), at), at)]);
            let route = as_routed(ty, quote!(route));
            quote! {
                #(#cfgs)*
                if let ::core::option::Option::Some(__es_routed) =
                    #route(#codec, #record, #index, |#event: &#ty| #key_expr)?
                {
                    return ::core::result::Result::Ok(::core::option::Option::Some(__es_routed));
                }
            }
        })
        .collect();
    let ons: Vec<_> = process
        .methods
        .ons
        .iter()
        .enumerate()
        .map(|(index, on)| {
            let ty = &on.event;
            let cfgs = &on.method.cfgs;
            let event = local("__es_event");
            let meta_arg = on.meta.then(|| quote!(&#meta,));
            let call = call(&on.method, quote!(&#event, #meta_arg));
            quote! {
                #(#cfgs)*
                #index => {
                    let #event: #ty = #input.take::<#ty>();
                    #call
                }
            }
        })
        .collect();
    let (refusals, deadlines) = answers(process, private, locals);
    Dispatch {
        handles,
        routes,
        ons,
        refusals,
        deadlines,
    }
}

/// The dispatches of refusals and deadlines.
fn answers(
    process: &ProcessManager,
    private: &TokenStream,
    locals: &Locals,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let Locals {
        services,
        refusal,
        deadline,
        ..
    } = locals;
    let call = |method: &Method, args: TokenStream| {
        call(
            method,
            &args,
            &quote!(#private::IntoSteps::into_steps),
            services,
        )
    };
    let refusals: Vec<_> = process
        .methods
        .refused
        .iter()
        .map(|refused| {
            let (command, error) = (&refused.command, &refused.error);
            let cfgs = &refused.method.cfgs;
            let (c, e) = (local("__es_command"), local("__es_error"));
            let call = call(&refused.method, quote!(#c, #e,));
            // Located at the command's type: one that is not a command is reported there.
            let refused = relocate(
                quote!(#private::refused::<#command, #error>),
                command.span(),
            );
            quote! {
                #(#cfgs)*
                if let ::core::option::Option::Some((#c, #e)) = #refused(#refusal) {
                    return #call;
                }
            }
        })
        .collect();
    let deadlines: Vec<_> = process
        .methods
        .deadlines
        .iter()
        .map(|method| {
            let cfgs = &method.method.cfgs;
            let label = method.method.ident.to_string();
            let call = call(&method.method, quote!());
            quote! {
                #(#cfgs)*
                if #deadline == #label {
                    return #call;
                }
            }
        })
        .collect();
    (refusals, deadlines)
}

/// The call of a marked method, awaited when it is `async`, its outcome turned into `Steps`.
///
/// The conversion is located at the method's return type, so that one that is not `Steps` or
/// `()` is reported there; the services argument at the services parameter's type, so that a
/// mismatch with `services = ..` is reported there.
pub(crate) fn call(
    method: &Method,
    args: &TokenStream,
    convert: &TokenStream,
    services: &syn::Ident,
) -> TokenStream {
    let ident = &method.ident;
    let (first, last) = method
        .output
        .as_ref()
        .map_or((ident.span(), ident.span()), span_range);
    let mut args = args.clone();
    if let Some(ty) = &method.services {
        let services =
            syn::Ident::new(&services.to_string(), services.span().located_at(ty.span()));
        args.extend(quote!(#services));
    }
    let mut call = relocate(quote!(self.#ident), first);
    call.extend([located_group(args, last)]);
    if method.is_async {
        call.extend(relocate(quote!(.await), last));
    }
    let mut convert = relocate(convert.clone(), first);
    convert.extend([located_group(call, last)]);
    convert
}

fn local(name: &str) -> syn::Ident {
    format_ident!("{}", name, span = Span::mixed_site())
}
