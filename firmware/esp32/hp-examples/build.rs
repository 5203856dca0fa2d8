//! Links every example with the linker script that `esp-amp-hp`'s build script generated
//! from the layout (it is on the library search path).
fn main() {
    println!("cargo:rustc-link-arg-bins=-Thp.x");
}
