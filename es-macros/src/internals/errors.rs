//! Collects every error a macro finds so that one build reports them all.

use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// An accumulator of [`syn::Error`]s, combined into one report.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records `error`.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Records an error spanning `tokens`.
    pub(crate) fn error(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records a duplicate: `message` at the second occurrence, then "first defined here" at the
    /// first one.
    pub(crate) fn duplicate(
        &mut self,
        second: impl ToTokens,
        message: impl Display,
        first: impl ToTokens,
    ) {
        let mut error = syn::Error::new_spanned(second, message);
        error.combine(syn::Error::new_spanned(first, "first defined here"));
        self.push(error);
    }

    /// Records the error of `result`, if any, and gives back its value.
    pub(crate) fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }

    /// How many errors are recorded: compare before and after reading one item to tell whether
    /// it was sound.
    pub(crate) fn count(&self) -> usize {
        self.combined
            .as_ref()
            .map_or(0, |error| error.into_iter().count())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.combined.is_none()
    }

    /// The `compile_error!` invocations for everything recorded.
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.combined
            .map(syn::Error::into_compile_error)
            .unwrap_or_default()
    }
}

/// Reports arguments given to a marker attribute (`#[id(..)]`, `#[apply = ..]`), at the
/// arguments.
pub(crate) fn require_bare(attr: &syn::Attribute, name: &str, errors: &mut Errors) {
    let message = format!("`#[{name}]` takes no arguments; write `#[{name}]`");
    match &attr.meta {
        syn::Meta::Path(_) => {}
        syn::Meta::List(list) => {
            errors.push(syn::Error::new(list.delimiter.span().join(), message));
        }
        syn::Meta::NameValue(meta) => {
            let (eq, value) = (&meta.eq_token, &meta.value);
            errors.error(quote::quote!(#eq #value), message);
        }
    }
}
