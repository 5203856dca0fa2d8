//! Subcore of the `stack` pair on QEMU: `amp_examples::sub::stack` on hart 1.
#![no_std]
#![no_main]

esp_amp_qemu::entry!(main);

fn main() -> ! {
    amp_examples::sub::stack(&qemu_sub::QemuBoard)
}
