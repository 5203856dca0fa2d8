//! Links every example with the LP linker script that `esp-amp-lp`'s build script
//! generated from the layout (it is on the library search path).
fn main() {
    println!("cargo:rustc-link-arg-bins=-Tlp.x");
}
