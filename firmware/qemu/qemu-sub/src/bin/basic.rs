//! Subcore of the `basic` pair on QEMU: `amp_examples::sub::basic` on hart 1.
#![no_std]
#![no_main]

esp_amp_qemu::entry!(main);

fn main() -> ! {
    amp_examples::sub::basic(&qemu_sub::QemuBoard)
}
