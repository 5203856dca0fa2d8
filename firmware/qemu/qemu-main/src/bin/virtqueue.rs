//! Maincore of the `virtqueue` pair (hart 0): `amp_examples::maincore::virtqueue` against the
//! subcore ELF of the same name. Prints `PASS` and exits 0 through the test device, or
//! exits non-zero with the reason.
#![no_std]
#![no_main]

esp_amp_qemu::entry!(main);

static SUBCORE_ELF: &[u8] = include_bytes!(concat!(env!("SUB_DIR"), "/virtqueue"));

fn main() -> ! {
    qemu_main::run("virtqueue", |b, sub| amp_examples::maincore::virtqueue(b, sub, SUBCORE_ELF))
}
