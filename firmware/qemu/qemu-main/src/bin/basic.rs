//! Maincore of the `basic` pair (hart 0): `amp_examples::maincore::basic` against the
//! subcore ELF of the same name. Prints `PASS` and exits 0 through the test device, or
//! exits non-zero with the reason.
#![no_std]
#![no_main]

esp_amp_qemu::entry!(main);

static SUBCORE_ELF: &[u8] = include_bytes!(concat!(env!("SUB_DIR"), "/basic"));

/// Room for the misplaced copy of the subcore ELF that the loader must refuse.
static mut SCRATCH: [u8; 128 * 1024] = [0; 128 * 1024];

fn main() -> ! {
    // SAFETY: the only reference to SCRATCH, made once, in single-threaded maincore code.
    let scratch = unsafe { &mut *core::ptr::addr_of_mut!(SCRATCH) };
    qemu_main::run("basic", |b, sub| amp_examples::maincore::basic(b, sub, SUBCORE_ELF, scratch))
}
