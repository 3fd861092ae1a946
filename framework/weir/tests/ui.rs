//! Compile-error UI tests for weir's attribute macros (STYLE.md 8): every
//! error the macros report is pinned here, message and span, as a
//! `tests/ui/fail_*.rs` case with its `.stderr`; `pass_*.rs` cases must
//! build. Regenerate the `.stderr` files with `TRYBUILD=overwrite` and
//! read each one before committing it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
