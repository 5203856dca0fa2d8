//! The nested cargo calls: describing the subcore package and building it.

use std::path::{Path, PathBuf};
use std::process::Command;

use esp_amp::layout::AmpConfig;

use crate::Error;

/// What the build needs to know of the subcore package (from `cargo metadata`).
pub(crate) struct Package {
    pub name: String,
    pub manifest: PathBuf,
    pub features: Vec<String>,
    /// `(binary, its required-features)`.
    pub bins: Vec<(String, Vec<String>)>,
}

/// Variables of the maincore build that are not the subcore's: its flags, target, target
/// directory and wrappers (clippy's, for one), and what cargo tells a build script about
/// the maincore package (a leaked `CARGO_FEATURE_ESP32C6` would reach the subcore's build
/// scripts).
fn clean(cmd: &mut Command) -> &mut Command {
    const EXACT: [&str; 15] = [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "NUM_JOBS",
        "CARGO_PRIMARY_PACKAGE",
    ];
    const PREFIXES: [&str; 5] = ["CARGO_FEATURE_", "CARGO_CFG_", "CARGO_PKG_", "CARGO_MANIFEST_", "DEP_"];
    for (key, _) in std::env::vars_os() {
        let Some(k) = key.to_str() else { continue };
        if EXACT.contains(&k) || PREFIXES.iter().any(|p| k.starts_with(p)) {
            cmd.env_remove(&key);
        }
    }
    cmd
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    clean(&mut cmd);
    cmd
}

/// Describes the package at `dir` (or `package` of the workspace at `dir`).
pub(crate) fn describe(dir: &Path, package: Option<&str>) -> Result<Package, Error> {
    let manifest = dir.join("Cargo.toml");
    let out = cargo()
        .current_dir(dir)
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .map_err(|e| Error::Metadata(format!("running cargo: {e}")))?;
    if !out.status.success() {
        return Err(Error::Metadata(format!(
            "cargo metadata --manifest-path {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| Error::Metadata(format!("cargo metadata: {e}")))?;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let same_file = |p: &serde_json::Value| {
        let m = p["manifest_path"].as_str().map(PathBuf::from);
        m.and_then(|m| m.canonicalize().ok()) == manifest.canonicalize().ok()
    };
    let chosen = match package {
        Some(name) => packages.iter().find(|p| p["name"] == name),
        None => packages.iter().find(|p| same_file(p)).or(match packages.as_slice() {
            [only] => Some(only),
            _ => None,
        }),
    };
    let Some(p) = chosen else {
        let names: Vec<_> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
        return Err(Error::Metadata(match package {
            Some(name) => format!("no package `{name}` at {} (it has: {})", dir.display(), names.join(", ")),
            None => format!(
                "{} is a workspace of several packages ({}): name one with SubcoreCrate::package",
                dir.display(),
                names.join(", ")
            ),
        }));
    };
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let bins = p["targets"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter(|t| strings(&t["kind"]).iter().any(|k| k == "bin"))
                .filter_map(|t| Some((t["name"].as_str()?.to_string(), strings(&t["required-features"]))))
                .collect()
        })
        .unwrap_or_default();
    Ok(Package {
        name: p["name"].as_str().unwrap_or_default().to_string(),
        manifest: p["manifest_path"].as_str().map_or(manifest.clone(), PathBuf::from),
        features: p["features"].as_object().map(|f| f.keys().cloned().collect()).unwrap_or_default(),
        bins,
    })
}

/// The subcore's target directory: `ESP_AMP_SUBCORE_TARGET_DIR`, or `esp-amp-subcore` in
/// the maincore's target directory (the parent of the `<target triple>` directory above
/// `OUT_DIR`; how deep `OUT_DIR` lies below it differs between cargo versions). Its own:
/// the maincore build holds the lock of the other.
pub(crate) fn target_dir(out: &Path) -> PathBuf {
    println!("cargo:rerun-if-env-changed=ESP_AMP_SUBCORE_TARGET_DIR");
    if let Some(d) = std::env::var_os("ESP_AMP_SUBCORE_TARGET_DIR") {
        return PathBuf::from(d);
    }
    let triple = std::env::var("TARGET").unwrap_or_default();
    out.ancestors()
        .find(|d| d.file_name().is_some_and(|n| n == triple.as_str()))
        .and_then(Path::parent)
        .map_or_else(|| out.join("esp-amp-subcore"), |t| t.join("esp-amp-subcore"))
}

/// One nested `cargo build`.
pub(crate) struct Build<'a> {
    /// The subcore's directory: cargo runs there, so the `.cargo/config.toml` files that
    /// apply are the subcore's and its parents' (the pair's `[env]` among them).
    pub dir: &'a Path,
    pub manifest: &'a Path,
    pub package: &'a str,
    pub features: &'a [String],
    pub target: &'static str,
    pub target_dir: &'a Path,
    /// A configuration given in code, passed on in the environment.
    pub config: Option<&'a AmpConfig>,
    /// `--remap-path-prefix` pairs for rustc.
    pub remap: &'a [(PathBuf, String)],
}

impl Build<'_> {
    /// Runs the build; returns the directory of the ELF files.
    pub fn run(&self) -> Result<PathBuf, Error> {
        let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
        let mut cmd = cargo();
        cmd.current_dir(self.dir)
            .args(["build", "--quiet", "--manifest-path"])
            .arg(self.manifest)
            .args(["--package", self.package, "--target", self.target, "--target-dir"])
            .arg(self.target_dir);
        if release {
            cmd.arg("--release");
        }
        if !self.features.is_empty() {
            cmd.args(["--features", &self.features.join(",")]);
        }
        if !has_std(self.target) {
            if !may_build_std() {
                return Err(Error::TargetMissing { target: self.target });
            }
            cmd.args(["-Zbuild-std=core", "-Zbuild-std-features=compiler-builtins-mem"]);
        }
        if !self.remap.is_empty() {
            cmd.arg("--config").arg(crate::remap_path_config(self.target, self.remap));
        }
        if let Some(c) = self.config {
            for (k, v) in crate::config::to_env(c) {
                cmd.env(k, v);
            }
        }
        let out = cmd.output().map_err(|e| Error::Metadata(format!("running cargo: {e}")))?;
        if !out.status.success() {
            // Cargo shows a build script's output when it fails: the subcore's errors.
            let stderr = String::from_utf8_lossy(&out.stderr);
            eprint!("{stderr}");
            let too_large = ["overflowed", "will not fit in region", "ESP_AMP_SUBCORE_STACK_SIZE_MIN"]
                .iter()
                .any(|m| stderr.contains(m));
            return Err(Error::Cargo {
                package: self.package.to_string(),
                status: out.status.to_string(),
                too_large,
            });
        }
        Ok(self.target_dir.join(self.target).join(if release { "release" } else { "debug" }))
    }
}

fn rustc() -> Command {
    Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
}

/// Whether the toolchain has the standard library for `target` installed.
fn has_std(target: &str) -> bool {
    let Ok(out) = rustc().args(["--print", "sysroot"]).output() else { return false };
    let sysroot = String::from_utf8_lossy(&out.stdout);
    Path::new(sysroot.trim()).join("lib/rustlib").join(target).join("lib").is_dir()
}

/// Whether `-Zbuild-std` is allowed: a nightly compiler, or `RUSTC_BOOTSTRAP=1`.
fn may_build_std() -> bool {
    if std::env::var("RUSTC_BOOTSTRAP").is_ok_and(|v| v == "1") {
        return true;
    }
    rustc().arg("-V").output().is_ok_and(|o| {
        let v = String::from_utf8_lossy(&o.stdout);
        v.contains("-nightly") || v.contains("-dev")
    })
}

/// `cargo:rerun-if-changed` for every file in cargo's dep-info file `d` (the sources the
/// subcore binary was compiled from, its dependencies' included).
pub(crate) fn rerun_for_sources(d: &Path) {
    let Ok(text) = std::fs::read_to_string(d) else {
        println!("cargo:rerun-if-changed={}", d.display());
        return;
    };
    // `target: dep dep ...`, with `\ ` for a space inside a path and `\` + newline between lines.
    let Some((_, deps)) = text.split_once(": ") else { return };
    let mut path = String::new();
    let mut chars = deps.chars().peekable();
    let flush = |path: &mut String| {
        if !path.is_empty() {
            println!("cargo:rerun-if-changed={path}");
            path.clear();
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| *n == ' ') => path.push(chars.next().unwrap_or(' ')),
            '\\' if chars.peek().is_some_and(|n| *n == '\n') => flush(&mut path),
            c if c.is_whitespace() => flush(&mut path),
            c => path.push(c),
        }
    }
    flush(&mut path);
}

/// `cargo:rerun-if-changed` for the subcore's manifest, and for each directory from `dir`
/// up: its `Cargo.toml`, `Cargo.lock` and `.cargo` (a workspace manifest, the lock file,
/// the `[env]` configuration).
pub(crate) fn rerun_for_manifests(manifest: &Path, dir: &Path) {
    println!("cargo:rerun-if-changed={}", manifest.display());
    for d in dir.ancestors() {
        for name in ["Cargo.toml", "Cargo.lock", ".cargo"] {
            let p = d.join(name);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remapped_prefixes_are_whole_directories_in_a_toml_array() {
        let remap =
            [(PathBuf::from("/work/my \"pair\""), String::new()), (PathBuf::from("/home/u/"), ".".into())];
        assert_eq!(
            crate::remap_path_config("riscv32imac-unknown-none-elf", &remap),
            r#"target.riscv32imac-unknown-none-elf.rustflags=["--remap-path-prefix=/work/my \"pair\"/=","--remap-path-prefix=/home/u/=./"]"#
        );
    }
}
