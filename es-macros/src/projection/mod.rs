//! `#[projection]`: a read model's `impl` block -> `impl Projection` (the dispatch from stored
//! event names to its `#[on]` methods) and `impl Query` for each `#[query]` method.

mod check;
mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

use crate::internals::Errors;
use crate::internals::impl_block::{self, Family, ImplAttribute, Marked, Marker, Subject};
use crate::internals::symbol::{ON, QUERY};

use model::{On, Options, Projection, Query};

/// Expands `#[projection(args)]` on `item`.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::expand::<Projection>(args, item)
}

impl ImplAttribute for Projection {
    const FAMILY: Family = Family {
        attribute: "projection",
        subject: "read model",
        subjects: "read models",
        example: "Balances",
        markers: &[Marker::by_reference(ON), Marker::by_value(QUERY)],
        exclusive: "a method either applies an event (`#[on]`) or answers a query (`#[query]`)",
    };
    type Options = Options;
    /// The `#[on]` and the `#[query]` methods, in order.
    type Methods = (Vec<On>, Vec<Query>);

    fn options(args: TokenStream, errors: &mut Errors) -> Options {
        parse::options(args, errors)
    }

    fn method(marked: &Marked<'_>, (ons, queries): &mut Self::Methods, errors: &mut Errors) {
        // A method with a wrong signature is left out of the expansion: its error is the only
        // one the user sees.
        if marked.marker == ON {
            let on = parse::on(marked, errors);
            ons.extend(on.filter(|_| marked.is_sound(errors)));
        } else {
            let query = parse::query(marked, errors);
            queries.extend(query.filter(|_| marked.is_sound(errors)));
        }
    }

    fn new(subject: Subject, options: Options, (ons, queries): Self::Methods) -> Self {
        Projection {
            self_ty: subject.self_ty,
            ident: subject.ident,
            options,
            ons,
            queries,
        }
    }

    fn check(&mut self, errors: &mut Errors) {
        check::check(self, errors);
    }

    fn expand(&self, _sound: bool) -> TokenStream {
        // Methods with errors are left out of the model, so the rest expands as it is.
        expand::expand(self)
    }
}
