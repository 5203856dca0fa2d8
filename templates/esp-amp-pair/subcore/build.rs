//! Links with the linker script the runtime generated from the pair's layout.
fn main() {
    println!("cargo:rustc-link-arg-bins=-T{% if chip == "esp32p4" %}hp{% else %}lp{% endif %}.x");
}
