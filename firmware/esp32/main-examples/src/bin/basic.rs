//! `basic`, maincore side (HP core, esp-hal): `amp_examples::maincore::basic` against the
//! LP image of the same name, embedded by the build script: software interrupts, events,
//! shared atomics, RPMsg echo, and a panic and an exception of the LP core reported from
//! the dump. Prints `PASS` or `FAIL: <why>`.
#![no_std]
#![no_main]

esp_bootloader_esp_idf::esp_app_desc!();

static LP_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/basic.bin"));

/// Room for the misplaced copy of the LP image that the loader must refuse.
static mut SCRATCH: [u8; 16 * 1024] = [0; 16 * 1024];

#[esp_hal::main]
fn main() -> ! {
    // SAFETY: the only reference to SCRATCH, made once, before anything else runs.
    let scratch = unsafe { &mut *core::ptr::addr_of_mut!(SCRATCH) };
    main_examples::run("basic", LP_IMAGE, |b, sub| amp_examples::maincore::basic(b, sub, LP_IMAGE, scratch))
}
