//! `#[process_manager]`: a process manager's `impl` block -> `impl ProcessManager`: routing of
//! stored events to its `#[on(key = ..)]` methods by correlation key, and the dispatch of
//! refusals to its `#[refused]` methods and of deadlines to its `#[deadline]` methods.

mod check;
pub(crate) mod expand;
pub(crate) mod model;
pub(crate) mod parse;

use proc_macro2::TokenStream;

use crate::internals::Errors;
use crate::internals::impl_block::{self, Family, ImplAttribute, Marked, Marker, Subject};
use crate::internals::symbol::{DEADLINE, ON, REFUSED};

use model::{Methods, Options, ProcessManager};

/// Expands `#[process_manager(args)]` on `item`.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::expand::<ProcessManager>(args, item)
}

impl ImplAttribute for ProcessManager {
    const FAMILY: Family = Family {
        attribute: "process_manager",
        subject: "process manager",
        subjects: "process managers",
        example: "TransferProcess",
        markers: &[
            Marker::with_arguments(ON),
            Marker::by_reference(REFUSED),
            Marker::by_reference(DEADLINE),
        ],
        exclusive: "a method handles an event (`#[on]`), a refusal (`#[refused]`) or a deadline \
                    (`#[deadline]`), one of them",
    };
    type Options = Options;
    type Methods = Methods;

    fn options(args: TokenStream, errors: &mut Errors) -> Options {
        parse::options(args, errors)
    }

    fn method(marked: &Marked<'_>, methods: &mut Methods, errors: &mut Errors) {
        // A method with a wrong signature is left out of the expansion: its error is the only
        // one the user sees.
        match marked.marker {
            ON => {
                let on = parse::on(marked, errors);
                methods.ons.extend(on.filter(|_| marked.is_sound(errors)));
            }
            REFUSED => {
                let refused = parse::refused(marked, errors);
                methods
                    .refused
                    .extend(refused.filter(|_| marked.is_sound(errors)));
            }
            _ => {
                let deadline = parse::deadline(marked, errors);
                if marked.is_sound(errors) {
                    methods.deadlines.push(deadline);
                }
            }
        }
    }

    fn new(subject: Subject, options: Options, methods: Methods) -> Self {
        ProcessManager {
            self_ty: subject.self_ty,
            ident: subject.ident,
            options,
            methods,
        }
    }

    fn check(&mut self, errors: &mut Errors) {
        check::check(self, errors);
    }

    fn expand(&self, _sound: bool) -> TokenStream {
        expand::expand(self)
    }
}
