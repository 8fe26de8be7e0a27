//! Generated items go in an anonymous `const _: () = { .. };`, as serde's do: helper items
//! there are invisible to the user's code, and impls inside still apply everywhere.

use proc_macro2::TokenStream;
use quote::quote;

/// `code` inside `const _: () = { .. };`, with the lints that its absolute paths and generated
/// names would trigger in the user's crate allowed.
pub(crate) fn wrap_in_const(code: &TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(
            non_upper_case_globals,
            unused_attributes,
            unused_qualifications,
            clippy::absolute_paths,
        )]
        const _: () = {
            #code
        };
    }
}
