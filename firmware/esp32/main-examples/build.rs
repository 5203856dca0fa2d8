//! The unified build: builds the subcore examples of the same workspace for the chip of
//! this build (`lp-examples` for the C6/C5 LP core, `hp-examples` for the P4's HP core 1),
//! turns each ELF into an ESP app image (what `elf2image` makes, and what a
//! flash partition would hold), checks it with the loader against the layout of the same
//! configuration, and leaves it in `OUT_DIR/<name>.bin` for `include_bytes!`. Cargo reruns
//! this script, and so rebuilds the subcore images, whenever a source of the subcore changes.
//!
//! The subcore gets its own target directory (`<target dir>/subcore`, or
//! `ESP_AMP_SUBCORE_TARGET_DIR`): the outer build holds the lock of this one.
//!
//! Also links every binary with esp-hal's `linkall.x` and the port's `esp_amp_main.x`.

use std::path::{Path, PathBuf};
use std::process::Command;

use esp_amp::image::esp::write_image;
use esp_amp::image::load::{plan_image, LoadTarget};
use esp_amp::image::{esp_chip_id, Image};
use esp_amp::layout::{Chip, MemoryLayout};

include!("../build-support/config.rs");

/// The subcore package and its target, per chip.
fn subcore_package(chip: Chip) -> (&'static str, &'static str) {
    match chip {
        Chip::Esp32C6 | Chip::Esp32C5 => ("lp-examples", "riscv32imac-unknown-none-elf"),
        Chip::Esp32P4 => ("hp-examples", "riscv32imafc-unknown-none-elf"),
    }
}
/// The subcore images the maincore examples embed.
const EMBEDDED: [&str; 5] = ["rpmsg_echo", "basic", "virtqueue", "rpc", "print"];

fn main() {
    println!("cargo:rustc-link-arg-bins=-Tlinkall.x");
    println!("cargo:rustc-link-arg-bins=-Tesp_amp_main.x");

    let chip = chip_from_features("main-examples");
    // The subcore package's feature is named after the chip, as this package's.
    let feature = chip.name();
    let (package, sub_target) = subcore_package(chip);
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest.parent().unwrap().to_path_buf();

    println!("cargo:rerun-if-env-changed=ESP_AMP_SUBCORE_TARGET_DIR");
    let target_dir = match std::env::var_os("ESP_AMP_SUBCORE_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        // The target directory: the parent of the `<target triple>` directory above
        // OUT_DIR (how deep OUT_DIR lies below it differs between cargo versions).
        None => {
            let triple = std::env::var("TARGET").unwrap();
            out.ancestors()
                .find(|d| d.file_name().is_some_and(|n| n == triple.as_str()))
                .and_then(Path::parent)
                .map_or_else(|| out.join("subcore"), |t| t.join("subcore"))
        }
    };
    let elf_dir = build_subcore(&workspace, package, feature, sub_target, &target_dir);

    let layout = MemoryLayout::new(chip, &config_from_env(chip)).unwrap_or_else(|e| panic!("layout: {e:?}"));
    let target = LoadTarget::for_layout(&layout);
    // `lp_sensor` uses esp-lp-hal, which exists for the C6's LP core only.
    let c6_only: &[&str] = if chip == Chip::Esp32C6 { &["lp_sensor"] } else { &[] };
    for name in EMBEDDED.iter().chain(c6_only) {
        let elf = std::fs::read(elf_dir.join(name)).unwrap_or_else(|e| panic!("subcore {name}: {e}"));
        let bin = esp_image(&elf, chip, &target).unwrap_or_else(|e| panic!("subcore {name}: {e}"));
        std::fs::write(out.join(format!("{name}.bin")), bin).unwrap();
    }

    // What the subcore is built from: a change to any of these rebuilds it.
    for dir in [
        "lp",
        "lp-examples",
        "hp",
        "hp-examples",
        "build-support",
        ".cargo",
        "Cargo.toml",
        "../examples",
        "../riscv",
        "../../esp-amp",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// Runs `cargo build -p <package>` for `feature` and `sub_target` into `target_dir`;
/// returns the ELF directory.
fn build_subcore(
    workspace: &Path,
    package: &str,
    feature: &str,
    sub_target: &str,
    target_dir: &Path,
) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace);
    // The outer build's flags, target and wrappers (clippy's, for one) are not the
    // subcore's: it takes its flags from the workspace's `.cargo/config.toml`.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(["build", "--release", "--quiet", "-p", package, "--features", feature, "--target", sub_target])
        .args(["-Zbuild-std=core", "-Zbuild-std-features=compiler-builtins-mem", "--target-dir"])
        .arg(target_dir);
    let status = cmd.status().unwrap_or_else(|e| panic!("running cargo for the subcore: {e}"));
    assert!(status.success(), "building the subcore ({package}, {feature}) failed: {status}");
    target_dir.join(sub_target).join("release")
}

/// The ESP app image of `elf`, checked with the loader.
fn esp_image(elf: &[u8], chip: Chip, target: &LoadTarget) -> Result<Vec<u8>, String> {
    let image = Image::parse(elf).map_err(|e| format!("{e:?}"))?;
    plan_image(&image, target).map_err(|e| format!("the loader refuses the ELF: {e}"))?;
    let mut buf = vec![0u8; elf.len() + 4096];
    let n = write_image(&image, esp_chip_id(chip), &mut buf).map_err(|e| format!("{e:?}"))?;
    buf.truncate(n);
    let again = Image::parse(&buf).map_err(|e| format!("{e:?}"))?;
    plan_image(&again, target).map_err(|e| format!("the loader refuses the ESP image: {e}"))?;
    Ok(buf)
}
