//! Building bare-metal firmware crates (subcore images, test fixtures) from a host program
//! or test, for a RISC-V target.
//!
//! The stable toolchain of `rust-toolchain.toml` builds for the target when its `rust-std`
//! is installed. Where the dist server does not ship it (as for some stable releases), the
//! build falls back to nightly with `-Zbuild-std=core` (installing nightly and `rust-src`
//! through rustup if needed); the firmware itself needs nothing unstable.
//!
//! That nightly is pinned ([`NIGHTLY`]): the ESP32 size budgets are held by a test, and a
//! newer compiler may lay the same code out a few dozen bytes larger or smaller, so the
//! sizes must come from one known compiler. Moving the pin is a deliberate change that
//! re-measures (`cargo xtask esp32`) and updates docs/benchmarks.md.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The nightly toolchain the firmware is built with (see the module docs).
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
fn has_target(dir: &Path, target: &str) -> bool {
    let Ok(sysroot) = run(tool("rustc", dir).args(["--print", "sysroot"])) else { return false };
    Path::new(sysroot.trim()).join("lib/rustlib").join(target).join("lib").is_dir()
}

/// Builds the binary crate at `crate_dir` in release mode for `target` into `target_dir`
/// and returns the path of the ELF file (named after the package, `bin`).
pub fn build(crate_dir: &Path, bin: &str, target: &str, target_dir: &Path) -> io::Result<PathBuf> {
    Ok(build_package(crate_dir, None, target, target_dir, &[])?.join(bin))
}

/// Builds package `package` (or the crate at `dir`) of the cargo workspace at `dir` in
/// release mode for `target` into `target_dir`, with extra environment variables `env`,
/// and returns the directory holding its binaries.
pub fn build_package(
    dir: &Path,
    package: Option<&str>,
    target: &str,
    target_dir: &Path,
    env: &[(&str, &std::ffi::OsStr)],
) -> io::Result<PathBuf> {
    cargo_build(dir, package, &[], target, target_dir, env, has_target(dir, target))
}

/// As [`build_package`] with cargo features (`--features a,b`), always with the pinned
/// nightly and `-Zbuild-std`, even where the stable toolchain has the target
/// (`firmware/esp32`: its maincore examples build their subcore images in a nested cargo
/// call with the same toolchain; the firmware needs no unstable option any more, but its
/// stable build path is not done yet).
pub fn build_package_nightly(
    dir: &Path,
    package: Option<&str>,
    features: &[&str],
    target: &str,
    target_dir: &Path,
    env: &[(&str, &std::ffi::OsStr)],
) -> io::Result<PathBuf> {
    cargo_build(dir, package, features, target, target_dir, env, false)
}

fn cargo_build(
    dir: &Path,
    package: Option<&str>,
    features: &[&str],
    target: &str,
    target_dir: &Path,
    env: &[(&str, &std::ffi::OsStr)],
    stable_has_target: bool,
) -> io::Result<PathBuf> {
    let mut cmd = tool("cargo", dir);
    if stable_has_target {
        cmd.arg("build");
    } else {
        // Best effort: fails harmlessly when rustup cannot install (the build then says why).
        let _ = run(tool("rustup", dir).args([
            "toolchain",
            "install",
            NIGHTLY,
            "--profile",
            "minimal",
            "--component",
            "rust-src",
        ]));
        cmd.arg(format!("+{NIGHTLY}")).args([
            "build",
            "-Zbuild-std=core",
            "-Zbuild-std-features=compiler-builtins-mem",
        ]);
    }
    if let Some(p) = package {
        cmd.args(["--package", p]);
    }
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(["--release", "--quiet", "--target", target, "--target-dir"]).arg(target_dir);
    run(&mut cmd)?;
    Ok(target_dir.join(target).join("release"))
}

/// Builds `firmware/<name>` of this workspace (binary `<name>`) for `target` into
/// `target/firmware`, and returns the ELF path. For tests and tools of this repository.
pub fn build_workspace_firmware(name: &str, target: &str) -> io::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    build(&root.join("firmware").join(name), name, target, &root.join("target/firmware"))
}
