//! Token helpers: re-spanning, and types written back in messages.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::ToTokens;

/// `tokens` with every span (nested groups included) set to `span`, so that a diagnostic about
/// the whole expression points at the user's token.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// Tokens as a user wrote them, for messages: `a::Opened`, `Vec<u8>`.
pub(crate) fn display(tokens: impl ToTokens) -> String {
    let spaced = tokens.to_token_stream().to_string();
    let chars: Vec<char> = spaced.chars().collect();
    let mut out = String::with_capacity(spaced.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
            let keep = word(i.checked_sub(1).and_then(|i| chars.get(i))) && word(chars.get(i + 1));
            if keep || out.ends_with(',') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::display;

    #[test]
    fn display_types() {
        assert_eq!(display(quote!(a::Opened)), "a::Opened");
        assert_eq!(display(quote!(Vec<u8>)), "Vec<u8>");
        assert_eq!(display(quote!(Result<(A, B), E>)), "Result<(A, B), E>");
        assert_eq!(display(quote!(&'a dyn Trait)), "&'a dyn Trait");
    }
}
