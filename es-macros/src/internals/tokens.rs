//! Token helpers: re-spanning, and types written back in messages.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::ToTokens;

/// `tokens` located at `span` (nested groups included) but resolving as before, so that a
/// diagnostic about the whole expression points at the user's token.
pub(crate) fn relocate(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut moved = Group::new(group.delimiter(), relocate(group.stream(), span));
                moved.set_span(group.span().located_at(span));
                TokenTree::Group(moved)
            }
            mut other => {
                other.set_span(other.span().located_at(span));
                other
            }
        })
        .collect()
}

/// `( tokens )` located at `span`: the arguments of a call located by [`relocate`].
pub(crate) fn located_group(tokens: TokenStream, span: Span) -> TokenTree {
    let mut group = Group::new(Delimiter::Parenthesis, tokens);
    group.set_span(group.span().located_at(span));
    TokenTree::Group(group)
}

/// The spans of the first and the last token of `tokens`: a compiler diagnostic about an
/// expression whose first and last tokens are located there underlines the whole range.
pub(crate) fn span_range(tokens: impl ToTokens) -> (Span, Span) {
    let mut tokens = tokens.into_token_stream().into_iter();
    let first = tokens
        .next()
        .map_or_else(Span::call_site, |token| token.span());
    let last = tokens.last().map_or(first, |token| match token {
        TokenTree::Group(group) => group.span_close(),
        other => other.span(),
    });
    (first, last)
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
