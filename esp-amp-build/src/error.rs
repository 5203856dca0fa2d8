//! What can go wrong, each with what to do about it.

use std::fmt;
use std::path::PathBuf;

/// Why the subcore could not be built or embedded.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Not run from a build script (`OUT_DIR` is not set).
    NotABuildScript,
    /// The maincore package enables no chip feature, or several.
    ChipFeature {
        /// The chip features found enabled (none, or more than one).
        found: Vec<&'static str>,
    },
    /// A configuration variable has a value that cannot be read.
    BadValue {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// The configuration gives no valid layout for the chip.
    Layout(String),
    /// `cargo metadata` on the subcore crate failed, or did not describe it.
    Metadata(String),
    /// The subcore package has no binary to embed.
    NoBinaries {
        /// The package.
        package: String,
    },
    /// A binary asked for with [`SubcoreCrate::bins`](crate::SubcoreCrate::bins) does not exist.
    NoSuchBinary {
        /// The package.
        package: String,
        /// The binary.
        bin: String,
    },
    /// The toolchain has no standard library for the subcore's target and may not build one.
    TargetMissing {
        /// The target.
        target: &'static str,
    },
    /// The subcore build failed (cargo printed why above).
    Cargo {
        /// The package.
        package: String,
        /// The command's exit status.
        status: String,
        /// The linker said the subcore does not fit its memory.
        too_large: bool,
    },
    /// An image is not what the loader accepts.
    Image {
        /// The binary.
        bin: String,
        /// The loader's reason.
        reason: String,
        /// What to change.
        hint: String,
    },
    /// A file could not be read or written.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotABuildScript => {
                f.write_str("esp-amp-build runs in a build script (OUT_DIR is not set)")
            }
            Error::ChipFeature { found } if found.is_empty() => f.write_str(
                "enable one chip feature of the maincore package: `esp32c6`, `esp32c5` or `esp32p4` \
                 (e.g. `cargo build --features esp32c6`, or a default feature)",
            ),
            Error::ChipFeature { found } => {
                write!(f, "enable one chip feature of the maincore package, not {}", found.join(" and "))
            }
            Error::BadValue { variable, value, expected } => {
                write!(f, "{variable}={value:?} is not {expected}")
            }
            Error::Layout(e) => write!(f, "the AMP configuration gives no layout: {e}"),
            Error::Metadata(e) => write!(f, "reading the subcore crate: {e}"),
            Error::NoBinaries { package } => write!(
                f,
                "subcore package `{package}` has no binary to embed (a subcore is a binary crate: \
                 src/main.rs or src/bin/*.rs)"
            ),
            Error::NoSuchBinary { package, bin } => {
                write!(f, "subcore package `{package}` has no binary `{bin}`")
            }
            Error::TargetMissing { target } => write!(
                f,
                "the toolchain has no standard library for the subcore's target {target}: run \
                 `rustup target add {target}`. Where rustup cannot install it, install \
                 `rust-src` (`rustup component add rust-src`) and build with RUSTC_BOOTSTRAP=1, \
                 which lets the subcore build `core` from source (-Zbuild-std)"
            ),
            Error::Cargo { package, status, too_large } => {
                write!(f, "building subcore package `{package}` failed ({status}); cargo's output is above")?;
                if *too_large {
                    f.write_str(
                        "\n  help: the subcore does not fit the memory the configuration gives it: \
                         raise ESP_AMP_SUBCORE_USE_HP_MEM_SIZE (code and data in HP RAM), \
                         ULP_COPROC_RESERVE_MEM (a pure-RTC LP subcore) or lower \
                         ESP_AMP_SUBCORE_STACK_SIZE_MIN, in the [env] table of \
                         .cargo/config.toml, or make the subcore smaller",
                    )?;
                }
                Ok(())
            }
            Error::Image { bin, reason, hint } => {
                write!(f, "subcore image `{bin}`: {reason}")?;
                if !hint.is_empty() {
                    write!(f, "\n  help: {hint}")?;
                }
                Ok(())
            }
            Error::Io(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(_, e) => Some(e),
            _ => None,
        }
    }
}
