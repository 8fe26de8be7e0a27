//! The macros' compile-time contract: every `ui/<macro>/pass` case compiles and runs, every
//! `ui/<macro>/fail` case fails with the checked-in `.stderr`. Regenerate the latter with
//! `TRYBUILD=overwrite cargo test -p es-tests --test ui` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/*/pass/*.rs");
    cases.compile_fail("ui/*/fail/*.rs");
}
