//! The macros' compile-time contract: every `ui/<macro>/pass` case compiles and runs, every
//! `ui/<macro>/fail` case fails with the checked-in `.stderr`. Regenerate the latter with
//! `TRYBUILD=overwrite cargo test -p es-macros-tests --test ui` and review the diff.
//!
//! The two kinds run as two tests: trybuild checks a set of fail cases alone in one batch
//! (`cargo check --keep-going`), but builds and runs each case of a set with a pass case in it
//! on its own.

#[test]
fn pass() {
    trybuild::TestCases::new().pass("ui/*/pass/*.rs");
}

#[test]
fn fail() {
    trybuild::TestCases::new().compile_fail("ui/*/fail/*.rs");
}
