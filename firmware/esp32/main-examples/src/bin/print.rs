//! `print`, maincore side (HP core 0, esp-hal): `amp_examples::maincore::print` against the
//! subcore image of the same name, embedded by the build script. Prints `PASS` or
//! `FAIL: <why>`.
#![no_std]
#![no_main]

esp_bootloader_esp_idf::esp_app_desc!();

static SUBCORE_IMAGE: &[u8] = esp_amp_esp32::include_subcore!("print");

#[esp_hal::main]
fn main() -> ! {
    main_examples::run("print", SUBCORE_IMAGE, |b, sub| amp_examples::maincore::print(b, sub, SUBCORE_IMAGE))
}
