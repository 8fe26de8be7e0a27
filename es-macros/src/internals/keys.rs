//! The `key = value` lists of our attributes: unknown keys with a suggestion, duplicate keys
//! with both spans, and values of the wrong kind, all recorded without stopping.

use syn::meta::ParseNestedMeta;
use syn::{Expr, Lit, LitInt, LitStr, Token};

use super::crate_path::CratePath;
use super::errors::Errors;
use super::suggest;

/// Tracks the keys of one attribute (possibly spread over several occurrences of it).
pub(crate) struct Keys {
    attribute: &'static str,
    known: &'static [&'static str],
    seen: Vec<syn::Path>,
}

impl Keys {
    pub(crate) fn new(attribute: &'static str, known: &'static [&'static str]) -> Self {
        Self {
            attribute,
            known,
            seen: Vec::new(),
        }
    }

    /// The key `meta` names, if it is known and new; otherwise records why not, skips its value
    /// and gives `None`.
    pub(crate) fn key(
        &mut self,
        meta: &ParseNestedMeta<'_>,
        errors: &mut Errors,
    ) -> syn::Result<Option<&'static str>> {
        let path = &meta.path;
        let key = path
            .get_ident()
            .map(ToString::to_string)
            .and_then(|name| self.known.iter().copied().find(|known| *known == name));
        let Some(key) = key else {
            let written = path
                .segments
                .iter()
                .map(|segment| segment.ident.to_string())
                .collect::<Vec<_>>()
                .join("::");
            errors.error(
                path,
                suggest::unknown_key(&written, self.attribute, self.known),
            );
            skip_value(meta)?;
            return Ok(None);
        };
        if let Some(first) = self.seen.iter().find(|seen| seen.is_ident(key)) {
            errors.duplicate(
                path,
                format!(
                    "duplicate key `{key}` in `#[{}(..)]`; keep one",
                    self.attribute
                ),
                first,
            );
            skip_value(meta)?;
            return Ok(None);
        }
        self.seen.push(path.clone());
        Ok(Some(key))
    }
}

/// Consumes whatever follows an unwanted key: `= value` or `(..)`.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let input = meta.value()?;
        let fork = input.fork();
        if fork.parse::<syn::Type>().is_ok() && (fork.is_empty() || fork.peek(Token![,])) {
            input.parse::<syn::Type>()?;
        } else {
            input.parse::<Expr>()?;
        }
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

// The value helpers below consume the value, then check its kind: a value of the wrong kind is
// recorded and gives `Ok(None)`, so that the other keys are still read; only a value that does
// not parse at all stops the attribute.

/// A string value: `key = "..."`.
pub(crate) fn string(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitStr>> {
    match meta.value()?.parse::<Expr>()? {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(literal),
            ..
        }) => Ok(Some(literal)),
        other => {
            errors.error(
                other,
                format!("`{key}` takes a string, e.g. `{key} = \"{example}\"`"),
            );
            Ok(None)
        }
    }
}

/// An integer value: `key = 2`.
pub(crate) fn integer(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitInt>> {
    match meta.value()?.parse::<Expr>()? {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(literal),
            ..
        }) => Ok(Some(literal)),
        other => {
            errors.error(
                other,
                format!("`{key}` takes an integer, e.g. `{key} = {example}`"),
            );
            Ok(None)
        }
    }
}

/// An identifier value: `key = Name`.
pub(crate) fn ident(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
    errors: &mut Errors,
) -> syn::Result<Option<syn::Ident>> {
    let value = meta.value()?.parse::<Expr>()?;
    let ident = match &value {
        Expr::Path(path) if path.attrs.is_empty() && path.qself.is_none() => path.path.get_ident(),
        _ => None,
    };
    if ident.is_none() {
        errors.error(
            &value,
            format!("`{key}` takes a plain name, e.g. `{key} = {example}`"),
        );
    }
    Ok(ident.cloned())
}

/// The runtime crate's path: `crate = "::es_core"`.
pub(crate) fn crate_path(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<CratePath>> {
    let Some(literal) = string(meta, "crate", "::es_core", errors)? else {
        return Ok(None);
    };
    Ok(errors.ok(CratePath::parse(&literal)))
}
