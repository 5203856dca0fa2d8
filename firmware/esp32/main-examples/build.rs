//! Builds the subcore examples of this workspace for the chip of this build
//! (`lp-examples` for the C6/C5 LP core, `hp-examples` for the P4's HP core 1) and embeds
//! them, through the build helper every esp-amp maincore uses (`esp_amp_build::SubcoreCrate`):
//! each binary becomes an ESP app image, checked with the loader against the layout of
//! the same configuration, in `OUT_DIR` for `esp_amp_esp32::include_subcore!`.
//!
//! Also links every binary with esp-hal's `linkall.x` and the port's `esp_amp_main.x`.

use esp_amp_build::{config, Chip, SubcoreCrate};

fn main() {
    println!("cargo:rustc-link-arg-bins=-Tlinkall.x");
    println!("cargo:rustc-link-arg-bins=-Tesp_amp_main.x");

    // Two subcore packages, one per kind of subcore; an application has one, and its
    // build script is the last line alone.
    let chip = config::chip_from_features().unwrap_or_else(|e| panic!("main-examples: {e}"));
    let subcore = match chip {
        Chip::Esp32C6 | Chip::Esp32C5 => "../lp-examples",
        Chip::Esp32P4 => "../hp-examples",
    };
    // Source paths relative to the project's root, as in the xtask's own subcore builds
    // (esp_amp_host::firmware), so the embedded images are byte for byte those and their
    // sizes do not depend on where the project is checked out.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../..");
    SubcoreCrate::new(subcore).remap_path_prefix(root, "").build();
}
