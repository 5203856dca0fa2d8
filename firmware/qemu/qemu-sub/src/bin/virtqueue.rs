//! Subcore of the `virtqueue` pair on QEMU: `amp_examples::sub::virtqueue` on hart 1.
#![no_std]
#![no_main]

esp_amp_qemu::entry!(main);

fn main() -> ! {
    amp_examples::sub::virtqueue(&qemu_sub::QemuBoard)
}
