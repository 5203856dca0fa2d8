//! Compile-fail tests for the guard rules (`tests/ui/*.rs`), each with the compiler's
//! error pinned in its `.stderr`, so that an unrelated compile error cannot pass for the
//! rule. The messages are the pinned toolchain's (`rust-toolchain.toml`); after moving the
//! pin, regenerate them with `TRYBUILD=overwrite cargo test -p esp-amp --test ui` and
//! review the diff.

#[test]
#[cfg_attr(miri, ignore = "runs the compiler")]
fn guard_rules_are_compile_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
