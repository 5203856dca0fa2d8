//! Builds the subcore crate and embeds it (esp-amp-build): its image is checked against the
//! pair's layout here, at build time, and `include_subcore!` takes it from OUT_DIR.
fn main() {
    // esp-hal's linker scripts, then esp-amp's checks that the maincore stays out of the
    // subcore's and the shared memory.
    println!("cargo:rustc-link-arg-bins=-Tlinkall.x");
    println!("cargo:rustc-link-arg-bins=-Tesp_amp_main.x");
    esp_amp_build::SubcoreCrate::new("../subcore").build();
}
