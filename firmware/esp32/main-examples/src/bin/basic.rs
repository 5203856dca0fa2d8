//! `basic`, maincore side (HP core 0, esp-hal): `amp_examples::maincore::basic` against the
//! subcore image of the same name, embedded by the build script: software interrupts, events,
//! shared atomics, RPMsg echo, and a panic and an exception of the subcore reported from
//! the dump. Prints `PASS` or `FAIL: <why>`.
#![no_std]
#![no_main]

esp_bootloader_esp_idf::esp_app_desc!();

const IMAGE: &[u8] = esp_amp_esp32::include_subcore!("basic");
static SUBCORE_IMAGE: &[u8] = IMAGE;

/// Room for the misplaced copy of the subcore image that the loader must refuse.
static mut SCRATCH: [u8; IMAGE.len()] = [0; IMAGE.len()];

#[esp_hal::main]
fn main() -> ! {
    // SAFETY: the only reference to SCRATCH, made once, before anything else runs.
    let scratch = unsafe { &mut *core::ptr::addr_of_mut!(SCRATCH) };
    main_examples::run("basic", SUBCORE_IMAGE, |b, sub| {
        amp_examples::maincore::basic(b, sub, SUBCORE_IMAGE, scratch)
    })
}
