//! The project's tasks as a library, so the test suite runs exactly what
//! `cargo xtask` runs.

pub mod esp32;
pub mod esptool;
pub mod fuzz;
pub mod qemu;
pub mod template;
pub mod vs_c;
