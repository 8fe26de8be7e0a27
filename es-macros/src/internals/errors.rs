//! Collects every error a macro finds so that one build reports them all.

use std::fmt::Display;
use std::thread;

use quote::ToTokens;

/// An accumulator of [`syn::Error`]s, reported together by [`Errors::check`].
///
/// Like serde's `Ctxt`, it cannot be dropped unseen: dropping it before `check` panics, so that
/// no path of a macro can record an error and then return without reporting it.
pub(crate) struct Errors {
    /// `None` once checked.
    recorded: Option<Vec<syn::Error>>,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Self {
            recorded: Some(Vec::new()),
        }
    }

    /// Records `error`.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.recorded
            .as_mut()
            .expect("no error is recorded after `Errors::check`")
            .push(error);
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
        self.recorded.as_ref().map_or(0, Vec::len)
    }

    /// Ends the collection: `Err` with every recorded error, combined in the order recorded.
    pub(crate) fn check(mut self) -> syn::Result<()> {
        let mut recorded = self.recorded.take().into_iter().flatten();
        let Some(mut combined) = recorded.next() else {
            return Ok(());
        };
        for error in recorded {
            combined.combine(error);
        }
        Err(combined)
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        assert!(
            self.recorded.is_none() || thread::panicking(),
            "es-macros: `Errors` dropped without `check`; its errors would go unreported"
        );
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

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::Errors;

    #[test]
    fn check_without_errors_is_ok() {
        assert!(Errors::new().check().is_ok());
    }

    #[test]
    fn check_reports_every_error_in_order() {
        let mut errors = Errors::new();
        errors.push(syn::Error::new(Span::call_site(), "first"));
        errors.duplicate(quote::quote!(b), "second", quote::quote!(a));
        assert_eq!(errors.count(), 2);
        let messages: Vec<String> = errors
            .check()
            .expect_err("two errors were recorded")
            .into_iter()
            .map(|error| error.to_string())
            .collect();
        assert_eq!(messages, ["first", "second", "first defined here"]);
    }

    #[test]
    #[should_panic(expected = "dropped without `check`")]
    fn dropping_unchecked_errors_panics() {
        let mut errors = Errors::new();
        errors.push(syn::Error::new(Span::call_site(), "lost"));
        drop(errors);
    }

    #[test]
    #[should_panic(expected = "dropped without `check`")]
    fn dropping_unchecked_empty_errors_panics() {
        drop(Errors::new());
    }
}
