//! Subcore of the `rpc` pair on QEMU: `amp_examples::sub::rpc` on hart 1.
#![no_std]
#![no_main]

esp_amp_qemu::entry!(main);

fn main() -> ! {
    amp_examples::sub::rpc(&qemu_sub::QemuBoard)
}
