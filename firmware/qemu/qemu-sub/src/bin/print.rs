//! Subcore of the `print` pair on QEMU: `amp_examples::sub::print` on hart 1.
#![no_std]
#![no_main]

esp_amp_qemu::entry!(main);

fn main() -> ! {
    amp_examples::sub::print(&qemu_sub::QemuBoard)
}
