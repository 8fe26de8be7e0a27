//! `#[aggregate]`: an aggregate's `impl` block -> its event and command enums and
//! `impl Aggregate`.

mod check;
mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

use crate::internals::Errors;
use crate::internals::impl_block::{self, Family, ImplAttribute, Marked, Marker, Subject};
use crate::internals::symbol::{APPLY, HANDLE};

use model::{Aggregate, Apply, Handle, Options};

/// Expands `#[aggregate(args)]` on `item`.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::expand::<Aggregate>(args, item)
}

impl ImplAttribute for Aggregate {
    const FAMILY: Family = Family {
        attribute: "aggregate",
        subject: "aggregate",
        subjects: "aggregates",
        example: "BankAccount",
        markers: &[Marker::by_reference(APPLY), Marker::by_value(HANDLE)],
        exclusive: "a method either handles a command (`&self`) or applies an event (`&mut self`)",
    };
    type Options = Options;
    /// The `#[apply]` and the `#[handle]` methods, in order.
    type Methods = (Vec<Apply>, Vec<Handle>);

    fn options(args: TokenStream, errors: &mut Errors) -> Options {
        parse::options(args, errors)
    }

    fn method(marked: &Marked<'_>, (applies, handles): &mut Self::Methods, errors: &mut Errors) {
        if marked.marker == APPLY {
            applies.extend(parse::apply(marked, errors));
        } else {
            handles.extend(parse::handle(marked, errors));
        }
    }

    fn new(subject: Subject, options: Options, (applies, handles): Self::Methods) -> Self {
        Aggregate {
            self_ty: subject.self_ty,
            ident: subject.ident,
            options,
            applies,
            handles,
        }
    }

    fn check(&mut self, errors: &mut Errors) {
        check::check(self, errors);
    }

    fn expand(&self, sound: bool) -> TokenStream {
        let mode = if sound {
            expand::Mode::Full
        } else {
            expand::Mode::Skeleton
        };
        expand::expand(self, mode)
    }
}
