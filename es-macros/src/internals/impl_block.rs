//! The front end of the attribute macros on an `impl` block (`#[aggregate]`, `#[projection]`),
//! written once and given what differs ([`Family`], [`ImplAttribute`]): the input must be an
//! inherent, non-generic `impl` of a named type; every marker (`#[apply]`, `#[on]`, ..) is
//! stripped from the block, so that the block is re-emitted without "cannot find attribute"
//! errors whatever else fails; a marker with arguments, repeated, combined with another or
//! placed on something other than a method is reported at its token; each marked method's
//! signature is handed to the macro.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote};

use super::Errors;
use super::errors::require_bare;
use super::signature;
use super::symbol::CFG;

/// What one attribute macro on an `impl` block says about itself, for the front end's checks
/// and messages.
pub(crate) struct Family {
    /// The attribute: `aggregate`.
    pub(crate) attribute: &'static str,
    /// What the block belongs to: `aggregate`, `read model`.
    pub(crate) subject: &'static str,
    /// Its plural: `aggregates`.
    pub(crate) subjects: &'static str,
    /// A type name for examples: `BankAccount`.
    pub(crate) example: &'static str,
    /// The attributes that mark methods.
    pub(crate) markers: &'static [Marker],
    /// Why a method carries one marker at most, completing "method `m` has both `#[a]` and
    /// `#[b]`; ..".
    pub(crate) exclusive: &'static str,
}

/// An attribute that marks a method.
pub(crate) struct Marker {
    /// `apply`.
    pub(crate) name: &'static str,
    /// The pedantic clippy lints the signature the marker requires may trigger; allowed on the
    /// method, since they are not the user's to fix.
    allow: &'static [&'static str],
    /// Whether the marker takes arguments (`#[on(key = id)]`); the macro reads them.
    pub(crate) arguments: bool,
}

impl Marker {
    /// A marker whose method takes `&mut self` and its argument by reference (`#[apply]`,
    /// `#[on]`): the argument may be a small `Copy` type, `self` may go unused.
    pub(crate) const fn by_reference(name: &'static str) -> Self {
        Self {
            name,
            allow: &["unused_self", "trivially_copy_pass_by_ref"],
            arguments: false,
        }
    }

    /// A marker like [`by_reference`](Self::by_reference) whose arguments the macro reads.
    pub(crate) const fn with_arguments(name: &'static str) -> Self {
        Self {
            name,
            allow: &["unused_self", "trivially_copy_pass_by_ref"],
            arguments: true,
        }
    }

    /// A marker whose method takes `&self` and its argument by value (`#[handle]`, `#[query]`):
    /// the argument may go unconsumed, `self` unused.
    pub(crate) const fn by_value(name: &'static str) -> Self {
        Self {
            name,
            allow: &["unused_self", "needless_pass_by_value"],
            arguments: false,
        }
    }
}

/// One marked method, its marker stripped.
pub(crate) struct Marked<'a> {
    /// The marker's name.
    pub(crate) marker: &'static str,
    /// The marker as written.
    pub(crate) attr: syn::Attribute,
    pub(crate) sig: &'a syn::Signature,
    /// The method's `#[cfg(..)]` attributes, to copy onto what is generated for it.
    pub(crate) cfgs: Vec<syn::Attribute>,
    /// How many errors were recorded before the front end read this method.
    errors_before: usize,
}

impl Marked<'_> {
    /// Whether no error has been recorded since the front end began reading this method (the
    /// rules every marked method shares are checked first).
    pub(crate) fn is_sound(&self, errors: &Errors) -> bool {
        errors.count() == self.errors_before
    }
}

/// The type an `impl` block is for.
pub(crate) struct Subject {
    /// The type after `impl`.
    pub(crate) self_ty: syn::Type,
    /// Its last path segment: the base of generated names.
    pub(crate) ident: syn::Ident,
}

/// An attribute macro on an `impl` block, as its model: what differs between the macros that
/// share the front end.
pub(crate) trait ImplAttribute: Sized {
    /// Names and messages.
    const FAMILY: Family;
    /// The attribute's arguments.
    type Options;
    /// What the marked methods contribute, gathered one by one.
    type Methods: Default;

    /// Reads the attribute's arguments, recording what is wrong.
    fn options(args: TokenStream, errors: &mut Errors) -> Self::Options;

    /// Reads one marked method's signature into `methods`, recording what is wrong.
    fn method(marked: &Marked<'_>, methods: &mut Self::Methods, errors: &mut Errors);

    /// The model of a usable block.
    fn new(subject: Subject, options: Self::Options, methods: Self::Methods) -> Self;

    /// Rules across the methods; what is reported is dropped from the model, so that it
    /// expands without clashes.
    fn check(&mut self, errors: &mut Errors);

    /// The generated items; `sound` is false when an error was recorded.
    fn expand(&self, sound: bool) -> TokenStream;
}

/// Expands the attribute `A` with `args` on `item`: the user's block without our markers, what
/// `A` generates, and every error recorded on the way.
pub(crate) fn expand<A: ImplAttribute>(args: TokenStream, item: TokenStream) -> TokenStream {
    let family = &A::FAMILY;
    let mut errors = Errors::new();
    let options = A::options(args, &mut errors);
    let mut block = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Impl(block)) => block,
        Ok(other) => {
            not_impl(family, &other, &mut errors);
            return with_errors(strip_markers(family, item), errors);
        }
        // Re-emitting the item lets the compiler report its syntax error, beside ours.
        Err(_) => return with_errors(strip_markers(family, item), errors),
    };
    let subject = subject(family, &block, &mut errors);
    let methods = methods::<A>(&mut block, &mut errors);
    let Some(subject) = subject else {
        return with_errors(block, errors);
    };
    let mut model = A::new(subject, options, methods);
    model.check(&mut errors);
    let (generated, errors) = match errors.check() {
        Ok(()) => (model.expand(true), None),
        Err(error) => (model.expand(false), Some(error.into_compile_error())),
    };
    quote! {
        #block
        #generated
        #errors
    }
}

/// `item` followed by the errors recorded.
fn with_errors(item: impl ToTokens, errors: Errors) -> TokenStream {
    let errors = errors.check().err().map(syn::Error::into_compile_error);
    quote!(#item #errors)
}

/// `item` without the family's markers at the top level of its last `{ .. }` (the items of an
/// `impl` block), for an item that is re-emitted unread: the compiler then reports its syntax
/// error, or ours, without "cannot find attribute" beside it.
fn strip_markers(family: &Family, item: TokenStream) -> TokenStream {
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let body = tokens.iter_mut().rev().find_map(|token| match token {
        TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => Some(group),
        _ => None,
    });
    if let Some(body) = body {
        let mut kept = TokenStream::new();
        let mut inner = body.stream().into_iter().peekable();
        while let Some(token) = inner.next() {
            let is_marker = matches!(&token, TokenTree::Punct(punct) if punct.as_char() == '#')
                && matches!(inner.peek(), Some(TokenTree::Group(attr))
                    if attr.delimiter() == Delimiter::Bracket && names_marker(family, attr));
            if is_marker {
                inner.next();
            } else {
                kept.extend([token]);
            }
        }
        let mut stripped = Group::new(Delimiter::Brace, kept);
        stripped.set_span(body.span());
        *body = stripped;
    }
    tokens.into_iter().collect()
}

/// Whether the inside of `#[..]` is one of the family's markers.
fn names_marker(family: &Family, attr: &Group) -> bool {
    match attr.stream().into_iter().next() {
        Some(TokenTree::Ident(ident)) => family.markers.iter().any(|marker| ident == marker.name),
        _ => false,
    }
}

/// Reports the attribute on an item that is not an `impl` block, at the item's keyword.
fn not_impl(family: &Family, item: &syn::Item, errors: &mut Errors) {
    let Family {
        attribute, subject, ..
    } = family;
    let (keyword, name): (TokenStream, Option<&syn::Ident>) = match item {
        syn::Item::Struct(item) => (item.struct_token.to_token_stream(), Some(&item.ident)),
        syn::Item::Enum(item) => (item.enum_token.to_token_stream(), Some(&item.ident)),
        syn::Item::Union(item) => (item.union_token.to_token_stream(), Some(&item.ident)),
        syn::Item::Fn(item) => (item.sig.fn_token.to_token_stream(), None),
        syn::Item::Trait(item) => (item.trait_token.to_token_stream(), None),
        syn::Item::Mod(item) => (item.mod_token.to_token_stream(), None),
        other => (other.to_token_stream(), None),
    };
    let message = match name {
        Some(name) => format!(
            "`#[{attribute}]` goes on the `impl` block of the {subject}, not on its declaration; write `#[{attribute}] impl {name} {{ .. }}`"
        ),
        None => format!(
            "`#[{attribute}]` goes on the `impl` block of the {subject}, e.g. `#[{attribute}] impl {} {{ .. }}`",
            family.example
        ),
    };
    errors.error(keyword, message);
}

/// The type the block is for, when the block is an inherent, non-generic `impl` of a named
/// type; otherwise records every reason why not.
fn subject(family: &Family, block: &syn::ItemImpl, errors: &mut Errors) -> Option<Subject> {
    let Family {
        attribute,
        subject,
        subjects,
        example,
        ..
    } = family;
    let mut usable = true;
    let ty = &block.self_ty;
    if let Some((_, trait_path, _)) = &block.trait_ {
        let ty = ty.to_token_stream();
        errors.error(
            trait_path,
            format!(
                "`#[{attribute}]` goes on the inherent `impl {ty}` block, not on a trait impl; move it and its methods to `impl {ty} {{ .. }}`"
            ),
        );
        usable = false;
    }
    if !block.generics.params.is_empty() || block.generics.where_clause.is_some() {
        errors.error(
            &block.generics,
            format!(
                "`#[{attribute}]` does not support generic {subjects}; remove the generic parameters"
            ),
        );
        usable = false;
    }
    let ident = match &**ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            if usable && !last.arguments.is_none() {
                errors.error(
                    &last.arguments,
                    format!(
                        "`#[{attribute}]` does not support generic {subjects}; remove the generic arguments"
                    ),
                );
                usable = false;
            }
            last.ident.clone()
        }
        other => {
            errors.error(
                other,
                format!(
                    "`#[{attribute}]` needs the {subject}'s type by name, e.g. `impl {example} {{ .. }}`"
                ),
            );
            return None;
        }
    };
    usable.then(|| Subject {
        self_ty: (**ty).clone(),
        ident,
    })
}

/// Strips the markers from every item of the block and reads each marked method.
fn methods<A: ImplAttribute>(block: &mut syn::ItemImpl, errors: &mut Errors) -> A::Methods {
    let family = &A::FAMILY;
    let mut methods = A::Methods::default();
    for item in &mut block.items {
        let Some((kind, attr)) = take_marker(family, item, errors) else {
            continue;
        };
        let syn::ImplItem::Fn(method) = item else {
            errors.error(
                &attr,
                format!(
                    "`#[{}]` goes on a method, not on {}; move it to a method or remove it",
                    kind.name,
                    describe(item)
                ),
            );
            continue;
        };
        let errors_before = errors.count();
        signature::common(&method.sig, kind.name, errors);
        let marked = Marked {
            marker: kind.name,
            attr,
            sig: &method.sig,
            cfgs: method
                .attrs
                .iter()
                .filter(|attr| attr.path().is_ident(CFG))
                .cloned()
                .collect(),
            errors_before,
        };
        A::method(&marked, &mut methods, errors);
        let lints = kind.allow.iter().map(|lint| format_ident!("{lint}"));
        method
            .attrs
            .push(syn::parse_quote!(#[allow(#(clippy::#lints),*)]));
    }
    methods
}

/// Removes the family's markers from an item and gives the one it had; reports arguments,
/// repeats, and two different markers (then the item counts as unmarked: its signature would
/// fit one of them and be reported for the other).
fn take_marker(
    family: &Family,
    item: &mut syn::ImplItem,
    errors: &mut Errors,
) -> Option<(&'static Marker, syn::Attribute)> {
    let described = describe(item);
    let attrs = match item {
        syn::ImplItem::Fn(item) => &mut item.attrs,
        syn::ImplItem::Const(item) => &mut item.attrs,
        syn::ImplItem::Type(item) => &mut item.attrs,
        syn::ImplItem::Macro(item) => &mut item.attrs,
        _ => return None,
    };
    let mut found: Option<(&'static Marker, syn::Attribute)> = None;
    let mut conflict = false;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        let Some(marker) = family
            .markers
            .iter()
            .find(|marker| attr.path().is_ident(marker.name))
        else {
            kept.push(attr);
            continue;
        };
        if !marker.arguments {
            require_bare(&attr, marker.name, errors);
        }
        match &found {
            None => found = Some((marker, attr)),
            Some((first, first_attr)) if first.name == marker.name => errors.duplicate(
                &attr,
                format!(
                    "duplicate `#[{}]` on {described}; remove this one",
                    marker.name
                ),
                first_attr,
            ),
            Some((first, first_attr)) => {
                errors.duplicate(
                    &attr,
                    format!(
                        "{described} has both `#[{}]` and `#[{}]`; {}",
                        first.name, marker.name, family.exclusive
                    ),
                    first_attr,
                );
                conflict = true;
            }
        }
    }
    *attrs = kept;
    found.filter(|_| !conflict)
}

/// An item of an `impl` block, for messages: "method `open`", "associated const `LIMIT`".
fn describe(item: &syn::ImplItem) -> String {
    match item {
        syn::ImplItem::Fn(item) => format!("method `{}`", item.sig.ident),
        syn::ImplItem::Const(item) => format!("associated const `{}`", item.ident),
        syn::ImplItem::Type(item) => format!("associated type `{}`", item.ident),
        syn::ImplItem::Macro(item) => format!(
            "macro invocation `{}!`",
            super::tokens::display(&item.mac.path)
        ),
        _ => "this item".to_owned(),
    }
}
