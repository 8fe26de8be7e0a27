//! Reading the signatures of marked methods: the receiver, the typed parameters, the rules every
//! marked method shares.

use crate::internals::Errors;

/// How a method takes `self`.
pub(crate) enum Receiver<'a> {
    None,
    Shared,
    Mutable,
    Other(&'a syn::Receiver),
}

pub(crate) fn receiver(sig: &syn::Signature) -> Receiver<'_> {
    match sig.receiver() {
        None => Receiver::None,
        Some(receiver) => match &*receiver.ty {
            syn::Type::Reference(reference) if is_self(&reference.elem) => {
                if reference.mutability.is_some() {
                    Receiver::Mutable
                } else {
                    Receiver::Shared
                }
            }
            _ => Receiver::Other(receiver),
        },
    }
}

fn is_self(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(path) if path.qself.is_none() && path.path.is_ident("Self"))
}

/// The typed parameters after the receiver.
pub(crate) fn arguments(sig: &syn::Signature) -> Vec<&syn::PatType> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(typed) => Some(typed),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// Rules every marked method shares: not `unsafe`, not generic.
pub(crate) fn common(sig: &syn::Signature, role: &str, errors: &mut Errors) {
    let method = &sig.ident;
    if let Some(unsafety) = &sig.unsafety {
        errors.error(
            unsafety,
            format!("`#[{role}]` method `{method}` cannot be `unsafe`; remove `unsafe`"),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.error(
            &sig.generics,
            format!(
                "`#[{role}]` method `{method}` cannot be generic; remove the generic parameters"
            ),
        );
    }
    if let Some(abi) = &sig.abi {
        errors.error(
            abi,
            format!("`#[{role}]` method `{method}` cannot have an ABI; remove `extern`"),
        );
    }
}

/// The type named by a path type: its last segment is the variant name.
pub(crate) fn named_type(ty: &syn::Type) -> Option<(&syn::Type, syn::Ident)> {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .map(|segment| (ty, segment.ident.clone())),
        syn::Type::Group(group) => named_type(&group.elem),
        syn::Type::Paren(paren) => named_type(&paren.elem),
        _ => None,
    }
}
