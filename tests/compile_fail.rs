//! Invalid jobs must fail to compile with a message a person understands, at
//! the span of the mistake. Each case is `tests/compile-fail/<feature>_<problem>.rs`
//! with its expected `.stderr` beside it.

#[test]
fn invalid_jobs_are_rejected_with_clear_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/*.rs");
}
