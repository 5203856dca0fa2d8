//! Building bare-metal firmware crates (subcore images, test fixtures) from a host program
//! or test, for a RISC-V target.
//!
//! Every firmware build uses the toolchain of `rust-toolchain.toml`: a pinned *stable*
//! release ([`FIRMWARE_TOOLCHAIN`]), with no unstable flag, attribute or feature in any
//! firmware crate. Where that toolchain has the target's `rust-std` installed (what
//! `rustup target add riscv32imac-unknown-none-elf` gives a user), the build is a plain
//! `cargo build`. Where the dist server ships no `rust-std` for the target (the CI machines
//! of this project), `core` is built from the same stable toolchain's `rust-src` with
//! `-Zbuild-std=core`, allowed on stable by `RUSTC_BOOTSTRAP=1`: the one unstable flag,
//! used only to stand in for the missing `rust-std`.
//!
//! The toolchain is pinned, not the floating `stable`: the ESP32 size budgets are held by
//! a test, and a newer compiler may lay the same code out a few dozen bytes larger or
//! smaller, so the sizes must come from one known compiler. Moving the pin is a deliberate
//! change that re-measures (`cargo xtask esp32`) and updates docs/benchmarks.md.
//!
//! [`NIGHTLY`] is for the test tools that need one (miri, cargo-fuzz), never for firmware.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The stable release every firmware crate is built with (the `channel` of the
/// repository's `rust-toolchain.toml`, which a test keeps equal to this).
pub const FIRMWARE_TOOLCHAIN: &str = "1.99.1";

/// The nightly toolchain of the test tools that need one: miri and cargo-fuzz.
pub const NIGHTLY: &str = "nightly-2026-10-30";

/// A `cargo`/`rustc` command for `dir`, with the variables of an enclosing cargo run
/// removed (they would pin the toolchain or leak flags into the firmware build).
fn tool(program: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    for var in [
        "RUSTUP_TOOLCHAIN",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTDOC",
        "CARGO",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(cmd: &mut Command) -> io::Result<String> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{cmd:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `true` if the toolchain selected in `dir` has the standard library for `target`.
pub fn has_target(dir: &Path, target: &str) -> bool {
    has_target_in(&mut tool("rustc", dir), target)
}

/// [`has_target`] for the toolchain `rustc` (a `rustc` command) runs.
fn has_target_in(rustc: &mut Command, target: &str) -> bool {
    let Ok(sysroot) = run(rustc.args(["--print", "sysroot"])) else { return false };
    Path::new(sysroot.trim()).join("lib/rustlib").join(target).join("lib").is_dir()
}

/// Builds the binary crate at `crate_dir` in release mode for `target` into `target_dir`
/// and returns the path of the ELF file (named after the package, `bin`).
pub fn build(crate_dir: &Path, bin: &str, target: &str, target_dir: &Path) -> io::Result<PathBuf> {
    Ok(build_package(crate_dir, None, &[], target, target_dir, &[])?.join(bin))
}

/// Builds package `package` (or the crate at `dir`) of the cargo workspace at `dir` in
/// release mode for `target` into `target_dir`, with cargo features `features` and extra
/// environment variables `env`, and returns the directory holding its binaries.
///
/// The toolchain is the one `rust-toolchain.toml` selects for `dir`, or `RUSTUP_TOOLCHAIN`
/// when `env` sets it (every command here sees `env`); without the target's `rust-std`,
/// `core` is built from its `rust-src` (see the module docs), which is installed through
/// rustup if missing.
pub fn build_package(
    dir: &Path,
    package: Option<&str>,
    features: &[&str],
    target: &str,
    target_dir: &Path,
    env: &[(&str, &std::ffi::OsStr)],
) -> io::Result<PathBuf> {
    let with_env = |program| {
        let mut cmd = tool(program, dir);
        cmd.envs(env.iter().copied());
        cmd
    };
    let mut cmd = with_env("cargo");
    cmd.arg("build");
    if !has_target_in(&mut with_env("rustc"), target) {
        // Best effort: fails harmlessly when rustup cannot install (the build then says why).
        let _ = run(with_env("rustup").args(["component", "add", "rust-src"]));
        cmd.env("RUSTC_BOOTSTRAP", "1")
            .args(["-Zbuild-std=core", "-Zbuild-std-features=compiler-builtins-mem"]);
    }
    if let Some(p) = package {
        cmd.args(["--package", p]);
    }
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    cmd.args(["--release", "--quiet", "--target", target, "--target-dir"]).arg(target_dir);
    cmd.arg("--config").arg(remap_repository_root(target));
    run(&mut cmd)?;
    Ok(target_dir.join(target).join("release"))
}

/// A `--config` value that makes rustc write this repository's source paths relative to
/// its root (`--remap-path-prefix=<root>/=`), added to the target's `rustflags` (cargo
/// joins it with the `.cargo/config.toml` ones). Panic locations are in the images'
/// `.rodata`, so without it an image's size depends on where the project is checked out,
/// and the size budgets (held to a few bytes) with it. The main-examples' build script
/// gives its nested subcore build the same remapping, so the embedded images stay byte
/// for byte those the xtask builds.
fn remap_repository_root(target: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    esp_amp_build::remap_path_config(target, &[(root, String::new())])
}

/// Builds `firmware/<name>` of this workspace (binary `<name>`) for `target` into
/// `target/firmware`, and returns the ELF path. For tests and tools of this repository.
pub fn build_workspace_firmware(name: &str, target: &str) -> io::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    build(&root.join("firmware").join(name), name, target, &root.join("target/firmware"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_toolchain_file_pins_the_firmware_toolchain() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rust-toolchain.toml");
        let file = std::fs::read_to_string(path).unwrap();
        let channel = format!("channel = \"{}\"", super::FIRMWARE_TOOLCHAIN);
        assert!(file.lines().any(|l| l.trim() == channel), "rust-toolchain.toml must say {channel}");
    }
}
