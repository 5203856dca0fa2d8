//! Helpers shared by the `espamp` integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Runs the `espamp` binary under test.
pub fn espamp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_espamp")).args(args).output().unwrap()
}

/// The real riscv32 fixture `firmware/tiny-subcore`, built once per test binary.
pub fn fixture_elf() -> &'static Path {
    static ELF: OnceLock<PathBuf> = OnceLock::new();
    ELF.get_or_init(|| {
        esp_amp_host::firmware::build_workspace_firmware("tiny-subcore", "riscv32imac-unknown-none-elf")
            .expect("building firmware/tiny-subcore for riscv32imac (needs rustup)")
    })
}

/// A path in the tests' scratch directory.
pub fn tmp_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}
