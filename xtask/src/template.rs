//! `cargo xtask template`: instantiates `templates/esp-amp-pair` the way cargo-generate does
//! (the same Liquid engine, the same placeholders) and builds the result, so CI proves that
//! the template a user generates builds for every chip.

use std::path::{Path, PathBuf};

use esp_amp::layout::Chip;

use crate::qemu::repo_root;

/// The template's directory.
pub fn template_dir() -> PathBuf {
    repo_root().join("templates/esp-amp-pair")
}

/// The maincore program kinds the template offers.
pub const MAINCORES: [&str; 2] = ["blocking", "embassy"];

/// The variants CI builds: every chip with the blocking maincore, and the embassy maincore
/// on the C6 (the embassy part does not depend on the chip).
pub const VARIANTS: [(Chip, &str); 4] = [
    (Chip::Esp32C6, "blocking"),
    (Chip::Esp32C5, "blocking"),
    (Chip::Esp32P4, "blocking"),
    (Chip::Esp32C6, "embassy"),
];

/// Writes the template for `chip` and `maincore` into `dest` (emptied first), project name
/// `name`, esp-amp taken from this repository (`esp_amp_path`). The lock file of
/// `firmware/esp32` is copied in, so the pair builds with the dependency versions the
/// project's own firmware is tested with.
pub fn generate(chip: Chip, maincore: &str, name: &str, dest: &Path) -> Result<(), String> {
    if !MAINCORES.contains(&maincore) {
        return Err(format!("maincore {maincore:?}: one of {MAINCORES:?}"));
    }
    let globals = liquid::object!({
        "project-name": name,
        "crate_name": name.replace('-', "_"),
        "chip": chip.name(),
        "maincore": maincore,
        "esp_amp_path": repo_root().display().to_string(),
    });
    let parser = liquid::ParserBuilder::with_stdlib().build().map_err(|e| e.to_string())?;
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    let src = template_dir();
    for file in files(&src)? {
        let rel = file.strip_prefix(&src).map_err(|e| e.to_string())?;
        if rel == Path::new("cargo-generate.toml") {
            continue;
        }
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let out = parser
            .parse(&text)
            .and_then(|t| t.render(&globals))
            .map_err(|e| format!("{}: {e}", rel.display()))?;
        let to = dest.join(rel);
        std::fs::create_dir_all(to.parent().unwrap_or(dest)).map_err(|e| e.to_string())?;
        std::fs::write(&to, out).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    let lock = repo_root().join("firmware/esp32/Cargo.lock");
    for to in [dest.join("Cargo.lock"), dest.join("subcore/Cargo.lock")] {
        std::fs::copy(&lock, &to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(())
}

/// Every file below `dir`, sorted.
fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Where a generated pair for `chip` is built: the target directory of the project's own
/// firmware for that chip (`cargo xtask esp32`), so the dependencies they share (esp-hal,
/// the ports, `core`) are compiled once per chip. The template's profile and flags are
/// the firmware workspace's, which is what makes them shareable.
pub fn target_dir(chip: Chip) -> PathBuf {
    repo_root().join("target/firmware-esp32").join(chip.name())
}

/// Builds the generated pair at `dir` as its README says (`cargo build --release`), into
/// `target_dir`, with `env` added; returns the maincore ELF.
///
/// The toolchain is the project's pinned one (the template's own `rust-toolchain.toml`
/// says `stable`), through `esp_amp_host::firmware::build_package`: where it has no
/// rust-std for the target, `core` is built from rust-src with `RUSTC_BOOTSTRAP=1` and
/// `-Zbuild-std`, as for the project's firmware.
pub fn build(
    dir: &Path,
    chip: Chip,
    name: &str,
    target_dir: &Path,
    env: &[(&str, &str)],
) -> Result<PathBuf, String> {
    use esp_amp_host::firmware::{build_package, FIRMWARE_TOOLCHAIN};
    let env: Vec<(&str, &std::ffi::OsStr)> = std::iter::once(("RUSTUP_TOOLCHAIN", FIRMWARE_TOOLCHAIN))
        .chain(env.iter().copied())
        .map(|(k, v)| (k, v.as_ref()))
        .collect();
    let bins = build_package(dir, None, &[], crate::esp32::target(chip), target_dir, &env)
        .map_err(|e| format!("cargo build --release in {}: {e}", dir.display()))?;
    Ok(bins.join(name))
}
