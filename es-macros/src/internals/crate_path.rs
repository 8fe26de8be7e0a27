//! The path generated code uses to reach the runtime crate.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote_spanned};

/// `::es_core` unless a `crate = ".."` option says otherwise.
#[derive(Clone)]
pub(crate) struct CratePath(syn::Path);

impl CratePath {
    /// Parses the value of a `crate = ".."` option.
    pub(crate) fn parse(literal: &syn::LitStr) -> syn::Result<Self> {
        literal.parse::<syn::Path>().map(Self).map_err(|_| {
            syn::Error::new(
                literal.span(),
                format!(
                    "`crate = {:?}` is not a path; write the path of the runtime crate, e.g. `crate = \"::es_core\"`",
                    literal.value()
                ),
            )
        })
    }
}

impl Default for CratePath {
    fn default() -> Self {
        Self(syn::parse_quote!(::es_core))
    }
}

impl CratePath {
    /// `<crate>::__private`, the module expansions name.
    pub(crate) fn private(&self) -> TokenStream {
        let path = &self.0;
        quote_spanned!(Span::call_site()=> #path::__private)
    }
}

impl ToTokens for CratePath {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.0.to_tokens(tokens);
    }
}
