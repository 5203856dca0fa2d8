//! Build-script helper for an esp-amp maincore + subcore pair: builds the subcore crate,
//! turns it into an ESP app image, checks it with esp-amp's loader against the layout of
//! the pair's one configuration, and leaves it in `OUT_DIR` for the maincore to embed.
//!
//! The maincore's `build.rs` is one call:
//!
//! ```no_run
//! // The `fn main` of the maincore crate's build.rs (a build-dependency on esp-amp-build):
//! esp_amp_build::SubcoreCrate::new("../subcore").build();
//! ```
//!
//! and its program embeds an image with the maincore port's macro:
//!
//! ```ignore
//! static SUBCORE: &[u8] = esp_amp_esp32::include_subcore!("subcore");
//! ```
//!
//! What [`SubcoreCrate::build`] does:
//!
//! 1. takes the chip from the maincore package's `esp32c6` / `esp32c5` / `esp32p4` feature
//!    and the layout options from the environment ([`config`]);
//! 2. runs `cargo build` on the subcore crate for its target
//!    ([`config::subcore_target`]) with the same profile and toolchain, the chip's feature
//!    (when the subcore declares it), a clean environment (the maincore's flags, target
//!    and wrappers are not the subcore's) and its own target directory
//!    (`<target dir>/esp-amp-subcore`, or `ESP_AMP_SUBCORE_TARGET_DIR`);
//! 3. for every binary of the subcore package, makes the ESP app image, checks it (and
//!    the ELF) with the loader against the layout, including the configuration record
//!    the subcore runtime puts in the image, and writes `OUT_DIR/esp-amp-subcore/<bin>.bin`;
//! 4. prints `cargo:rerun-if-changed` for every source file the subcore build read (from
//!    cargo's dep-info), its manifests and `.cargo` directories, and
//!    `cargo:rerun-if-env-changed` for every configuration variable, so that changing a
//!    subcore source or a configuration value rebuilds both halves.
//!
//! Without the target's `rust-std` (`rustup target add riscv32imac-unknown-none-elf`), the
//! subcore's `core` is built from `rust-src` with `-Zbuild-std`, which a stable toolchain
//! allows only when the maincore build runs with `RUSTC_BOOTSTRAP=1`; otherwise the error
//! says which command to run.

#![deny(missing_docs)]

pub mod config;
mod error;
mod nested;

use std::path::{Path, PathBuf};

pub use error::Error;
pub use esp_amp::layout::{AmpConfig, Chip};

use esp_amp::image::esp::write_image;
use esp_amp::image::load::{plan_image, LoadTarget};
use esp_amp::image::{esp_chip_id, Image};
use esp_amp::layout::MemoryLayout;

/// The directory below `OUT_DIR` that holds the images (what the maincore ports'
/// `include_subcore!` reads).
pub const IMAGE_DIR: &str = "esp-amp-subcore";

/// A subcore crate to build and embed; see the crate docs.
#[derive(Debug, Clone)]
pub struct SubcoreCrate {
    dir: PathBuf,
    package: Option<String>,
    bins: Option<Vec<String>>,
    features: Vec<String>,
    chip: Option<Chip>,
    config: Option<AmpConfig>,
    remap: Vec<(PathBuf, String)>,
}

/// What [`SubcoreCrate::build`] produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// The chip the pair is built for.
    pub chip: Chip,
    /// The configuration both halves were built with.
    pub config: AmpConfig,
    /// `(binary name, ESP app image path)` for every embedded binary.
    pub images: Vec<(String, PathBuf)>,
}

impl SubcoreCrate {
    /// The subcore crate (or workspace, with [`SubcoreCrate::package`]) at `dir`, relative to
    /// the maincore crate's directory unless absolute.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        let dir = match std::env::var_os("CARGO_MANIFEST_DIR") {
            Some(base) if dir.is_relative() => PathBuf::from(base).join(dir),
            _ => dir.to_path_buf(),
        };
        SubcoreCrate {
            dir,
            package: None,
            bins: None,
            features: Vec::new(),
            chip: None,
            config: None,
            remap: Vec::new(),
        }
    }

    /// The package to build when `dir` is a workspace with several.
    pub fn package(mut self, name: &str) -> Self {
        self.package = Some(name.to_string());
        self
    }

    /// Only these binaries (default: every binary of the package whose
    /// `required-features` are enabled).
    pub fn bins(mut self, bins: &[&str]) -> Self {
        self.bins = Some(bins.iter().map(|b| b.to_string()).collect());
        self
    }

    /// Extra cargo features of the subcore package (the chip's feature is added by itself).
    pub fn features(mut self, features: &[&str]) -> Self {
        self.features.extend(features.iter().map(|f| f.to_string()));
        self
    }

    /// The chip, instead of the maincore package's chip feature.
    pub fn chip(mut self, chip: Chip) -> Self {
        self.chip = Some(chip);
        self
    }

    /// The configuration, instead of the environment (the subcore build then gets it
    /// through the same variables, so both halves still agree).
    pub fn config(mut self, config: AmpConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// Source paths below `from` appear in the subcore image as `to` followed by the rest
    /// of the path (rustc's `--remap-path-prefix`), e.g. in the `<file>:<line>` of a
    /// subcore panic report. With the project's root remapped to `""`, the image no longer
    /// depends on where the project is checked out: two clones build the same bytes, and
    /// the image does not carry the builder's home directory.
    ///
    /// `from` is made canonical (the form cargo gives rustc) and matched as a whole
    /// directory; a non-empty `to` gets a trailing separator. May be repeated; rustc
    /// applies the last matching prefix.
    ///
    /// ```no_run
    /// // In the maincore crate's build.rs, with the subcore next to it and the project's
    /// // root one level up:
    /// let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    /// esp_amp_build::SubcoreCrate::new("../subcore").remap_path_prefix(root, "").build();
    /// ```
    pub fn remap_path_prefix(mut self, from: impl AsRef<Path>, to: &str) -> Self {
        let from = from.as_ref();
        let from = std::fs::canonicalize(from).unwrap_or_else(|_| from.to_path_buf());
        self.remap.push((from, to.to_string()));
        self
    }

    /// Builds, checks and writes the images; on error prints it for cargo and exits the
    /// build script with status 1.
    pub fn build(self) -> Built {
        match self.try_build() {
            Ok(built) => built,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }

    /// As [`SubcoreCrate::build`], returning the error.
    pub fn try_build(self) -> Result<Built, Error> {
        let chip = match self.chip {
            Some(c) => c,
            None => config::chip_from_features()?,
        };
        let config = match self.config {
            Some(c) => c,
            None => config::from_env(chip)?,
        };
        let layout = MemoryLayout::new(chip, &config).map_err(|e| Error::Layout(e.to_string()))?;
        let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or(Error::NotABuildScript)?);
        let package = nested::describe(&self.dir, self.package.as_deref())?;
        let mut features = self.features.clone();
        if package.features.iter().any(|f| f == chip.name()) && !features.iter().any(|f| f == chip.name()) {
            features.push(chip.name().to_string());
        }
        let bins = match &self.bins {
            Some(b) => {
                if let Some(missing) = b.iter().find(|b| !package.bins.iter().any(|(n, _)| n == *b)) {
                    return Err(Error::NoSuchBinary { package: package.name.clone(), bin: missing.clone() });
                }
                b.clone()
            }
            None => package
                .bins
                .iter()
                .filter(|(_, required)| required.iter().all(|f| features.contains(f)))
                .map(|(n, _)| n.clone())
                .collect(),
        };
        if bins.is_empty() {
            return Err(Error::NoBinaries { package: package.name.clone() });
        }

        let target = config::subcore_target(chip);
        let build = nested::Build {
            dir: &self.dir,
            manifest: &package.manifest,
            package: &package.name,
            features: &features,
            target,
            target_dir: &nested::target_dir(&out),
            config: self.config.as_ref(),
            remap: &self.remap,
        };
        let elf_dir = build.run()?;

        let rules = LoadTarget::for_layout(&layout);
        let dir = out.join(IMAGE_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::Io(dir.clone(), e))?;
        let mut images = Vec::new();
        for bin in &bins {
            let elf_path = elf_dir.join(bin);
            let elf = std::fs::read(&elf_path).map_err(|e| Error::Io(elf_path.clone(), e))?;
            let image = esp_image(&elf, chip, &rules).map_err(|reason| Error::Image {
                bin: bin.clone(),
                reason,
                hint: hint(&layout),
            })?;
            let path = dir.join(format!("{bin}.bin"));
            std::fs::write(&path, image).map_err(|e| Error::Io(path.clone(), e))?;
            nested::rerun_for_sources(&elf_dir.join(format!("{bin}.d")));
            images.push((bin.clone(), path));
        }
        nested::rerun_for_manifests(&package.manifest, &self.dir);
        Ok(Built { chip, config, images })
    }
}

/// A cargo `--config` value that adds rustc's `--remap-path-prefix` for each `(from, to)`
/// to `target`'s `rustflags` (cargo joins arrays from `--config` with those of the
/// `.cargo/config.toml` files, so a crate's own flags stay). `from` is matched as a whole
/// directory; a non-empty `to` gets a trailing separator. What
/// [`SubcoreCrate::remap_path_prefix`] passes to the nested build, for other firmware
/// builds that must name their sources the same way.
///
/// ```
/// use std::path::PathBuf;
/// let arg = esp_amp_build::remap_path_config("riscv32imac-unknown-none-elf", &[(PathBuf::from("/src/pair"), String::new())]);
/// assert_eq!(arg, r#"target.riscv32imac-unknown-none-elf.rustflags=["--remap-path-prefix=/src/pair/="]"#);
/// ```
pub fn remap_path_config(target: &str, remap: &[(PathBuf, String)]) -> String {
    // A TOML basic string: backslashes and quotes escaped.
    let quoted = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let flags: Vec<String> = remap
        .iter()
        .map(|(from, to)| {
            let mut from = from.display().to_string();
            if !from.ends_with(std::path::MAIN_SEPARATOR) {
                from.push(std::path::MAIN_SEPARATOR);
            }
            let mut to = to.clone();
            if !to.is_empty() && !to.ends_with(std::path::MAIN_SEPARATOR) {
                to.push(std::path::MAIN_SEPARATOR);
            }
            quoted(&format!("--remap-path-prefix={from}={to}"))
        })
        .collect();
    format!("target.{target}.rustflags=[{}]", flags.join(","))
}

/// The ESP app image of `elf`, checked with the loader before and after conversion.
pub fn esp_image(elf: &[u8], chip: Chip, target: &LoadTarget) -> Result<Vec<u8>, String> {
    let image = Image::parse(elf).map_err(|e| format!("not a RISC-V ELF image: {e}"))?;
    plan_image(&image, target).map_err(|e| format!("the loader refuses the ELF: {e}"))?;
    // Room for the 24-byte header, each segment's 8-byte header and its bytes in memory
    // padded to 4 (`.bss` tails are written as zeros), the checksum padding and a SHA-256.
    let room: usize =
        image.segments().iter().map(|s| 8 + (s.mem_len as usize).max(s.data.len()).div_ceil(4) * 4).sum();
    let mut buf = vec![0u8; 24 + room + 16 + 32];
    let n = write_image(&image, esp_chip_id(chip), &mut buf).map_err(|e| format!("ESP image: {e}"))?;
    buf.truncate(n);
    let again = Image::parse(&buf).map_err(|e| format!("ESP image: {e}"))?;
    plan_image(&again, target).map_err(|e| format!("the loader refuses the ESP image: {e}"))?;
    Ok(buf)
}

/// What to change when an image does not fit its layout.
fn hint(layout: &MemoryLayout) -> String {
    let c = &layout.config;
    match (layout.subcore_hp, layout.rtc) {
        (Some(hp), _) => format!(
            "the subcore's code and data must fit its HP region ({} bytes, \
             ESP_AMP_SUBCORE_USE_HP_MEM_SIZE) and its stack the rest; raise the option in \
             the [env] table of .cargo/config.toml (both halves read it) or make the \
             subcore smaller",
            hp.len()
        ),
        (None, Some(rtc)) => format!(
            "a pure-RTC subcore must fit LP RAM ({} bytes for code, data and stack, from \
             ULP_COPROC_RESERVE_MEM = {}); raise ULP_COPROC_RESERVE_MEM or make the subcore \
             smaller",
            rtc.app.len(),
            c.ulp_coproc_reserve_mem
        ),
        (None, None) => String::new(),
    }
}
