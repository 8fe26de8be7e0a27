//! `#[reactor]`: a reactor's `impl` block -> `impl Reactor`: the dispatch from stored event
//! names to its `#[on]` methods, which do side effects and return commands to send.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned;

use crate::internals::dummy::wrap_in_const;
use crate::internals::impl_block::{self, Family, ImplAttribute, Marked, Marker, Subject};
use crate::internals::keys::{self, Keys};
use crate::internals::signature::{Receiver, receiver};
use crate::internals::symbol::{CRATE, NAME, ON, REACTOR_KEYS, SERVICES};
use crate::internals::tokens::display;
use crate::internals::{CratePath, Errors, case};
use crate::process::expand::call;
use crate::process::model::Method;
use crate::process::parse::on_arguments;

/// Expands `#[reactor(args)]` on `item`.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::expand::<Reactor>(args, item)
}

/// One reactor: its type, options and `#[on]` methods.
pub(crate) struct Reactor {
    self_ty: syn::Type,
    ident: syn::Ident,
    options: Options,
    ons: Vec<On>,
}

/// The keys of `#[reactor(..)]`.
#[derive(Default)]
pub(crate) struct Options {
    name: Option<syn::LitStr>,
    services: Option<syn::Type>,
    krate: CratePath,
}

/// `#[on] [async] fn m(&self, e: &Event[, meta: &EventMeta][, services: &Services])`.
pub(crate) struct On {
    method: Method,
    event: syn::Type,
    meta: bool,
}

impl ImplAttribute for Reactor {
    const FAMILY: Family = Family {
        attribute: "reactor",
        subject: "reactor",
        subjects: "reactors",
        example: "WelcomeMail",
        markers: &[Marker::by_reference(ON)],
        exclusive: "a method reacts to one event",
    };
    type Options = Options;
    type Methods = Vec<On>;

    fn options(args: TokenStream, errors: &mut Errors) -> Options {
        let mut options = Options::default();
        let mut keys = Keys::new("reactor", REACTOR_KEYS);
        let parser = syn::meta::parser(|meta| {
            match keys.key(&meta, errors)? {
                Some(NAME) => options.name = keys::string(&meta, NAME, "welcome-mail", errors)?,
                Some(SERVICES) => options.services = Some(meta.value()?.parse()?),
                Some(CRATE) => {
                    if let Some(krate) = keys::crate_path(&meta, errors)? {
                        options.krate = krate;
                    }
                }
                Some(_) | None => {}
            }
            Ok(())
        });
        let result = parser.parse2(args);
        errors.ok(result);
        options
    }

    fn method(marked: &Marked<'_>, ons: &mut Vec<On>, errors: &mut Errors) {
        let on = on(marked, errors);
        ons.extend(on.filter(|_| marked.is_sound(errors)));
    }

    fn new(subject: Subject, options: Options, ons: Vec<On>) -> Self {
        Reactor {
            self_ty: subject.self_ty,
            ident: subject.ident,
            options,
            ons,
        }
    }

    fn check(&mut self, errors: &mut Errors) {
        if self.options.services.is_none() {
            // Reported at the parameter and left out of the expansion: nothing follows.
            self.ons.retain(|on| {
                let Some(ty) = &on.method.services else {
                    return true;
                };
                errors.error(
                    ty,
                    format!(
                        "`#[on]` method `{}` takes services, but `#[reactor]` declares none; add `services = {}` to `#[reactor(..)]`",
                        on.method.ident,
                        display(strip_reference(ty))
                    ),
                );
                false
            });
        }
        let mut kept: Vec<On> = Vec::new();
        for on in std::mem::take(&mut self.ons) {
            match kept
                .iter()
                .find(|first| display(&first.event) == display(&on.event))
            {
                Some(first) => errors.duplicate(
                    &on.event,
                    format!(
                        "event `{}` already has an `#[on]` method (`{}`) in this reactor; keep one per event type",
                        display(&on.event),
                        first.method.ident
                    ),
                    &first.event,
                ),
                None => kept.push(on),
            }
        }
        self.ons = kept;
    }

    fn expand(&self, _sound: bool) -> TokenStream {
        expand(self)
    }
}

/// `#[on] fn ..(&self, e: &Event[, meta: &EventMeta][, services: &Services])`.
fn on(marked: &Marked<'_>, errors: &mut Errors) -> Option<On> {
    let sig = marked.sig;
    let name = &sig.ident;
    let usage = format!(
        "`fn {name}(&self, e: &Event) -> Steps`, with `meta: &EventMeta` and `services: &Services` after the event if needed"
    );
    match receiver(sig) {
        Receiver::Shared => {}
        Receiver::Mutable | Receiver::Other(_) => errors.error(
            sig.receiver(),
            format!(
                "`#[on]` method `{name}` must take `&self`: a reactor keeps no state between events"
            ),
        ),
        Receiver::None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!("`#[on]` method `{name}` must take `&self`: {usage}"),
        )),
    }
    let (event, meta, method) = on_arguments(marked, &usage, "AccountOpened", errors)?;
    Some(On {
        method,
        event,
        meta,
    })
}

/// `T` for `&T`, else the type itself.
fn strip_reference(ty: &syn::Type) -> syn::Type {
    match ty {
        syn::Type::Reference(reference) => (*reference.elem).clone(),
        other => other.clone(),
    }
}

fn expand(reactor: &Reactor) -> TokenStream {
    let private = reactor.options.krate.private();
    let self_ty = &reactor.self_ty;
    let name = reactor.options.name.as_ref().map_or_else(
        || case::kebab(&reactor.ident.to_string()),
        syn::LitStr::value,
    );
    let services_ty = reactor
        .options
        .services
        .as_ref()
        .map_or_else(|| quote!(()), |ty| quote!(#ty));
    let (meta, codec, services, record, event) = (
        local("__es_meta"),
        local("__es_codec"),
        local("__es_services"),
        local("__es_record"),
        local("__es_event"),
    );
    let dispatch = reactor.ons.iter().map(|on| {
        let ty = &on.event;
        let cfgs = &on.method.cfgs;
        let meta_arg = on.meta.then(|| quote!(&#meta,));
        let outcome = call(
            &on.method,
            &quote!(&#event, #meta_arg),
            &quote!(#private::IntoReaction::into_reaction),
            &services,
        );
        let decode =
            quote_spanned! {ty.span()=> #private::decode_record::<#ty, _>(#codec, #record) };
        quote! {
            #(#cfgs)*
            if *#record.name == *<#ty as #private::Event>::NAME {
                let #event: #ty = #decode?;
                return #outcome;
            }
        }
    });
    wrap_in_const(&quote! {
        #[automatically_derived]
        impl #private::Reactor for #self_ty {
            const NAME: &'static ::core::primitive::str = #name;
            type Services = #services_ty;

            #[allow(clippy::manual_async_fn)]
            fn react<__EsCodec: #private::Codec>(
                &self,
                #meta: #private::EventMeta<'_>,
                #codec: &__EsCodec,
                #services: &Self::Services,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#private::Steps, #private::BoxError>,
            > + ::core::marker::Send {
                async move {
                    let #record = #meta.record();
                    let _ = (#codec, #services, #record);
                    #(#dispatch)*
                    ::core::result::Result::Ok(#private::Steps::new())
                }
            }
        }
    })
}

fn local(name: &str) -> syn::Ident {
    format_ident!("{}", name, span = Span::mixed_site())
}
