//! `rpc`, maincore side (HP core 0, esp-hal): `amp_examples::maincore::rpc` against the
//! subcore image of the same name, embedded by the build script. Prints `PASS` or
//! `FAIL: <why>`.
#![no_std]
#![no_main]

esp_bootloader_esp_idf::esp_app_desc!();

static SUBCORE_IMAGE: &[u8] = esp_amp_esp32::include_subcore!("rpc");

#[esp_hal::main]
fn main() -> ! {
    main_examples::run("rpc", SUBCORE_IMAGE, |b, sub| amp_examples::maincore::rpc(b, sub, SUBCORE_IMAGE))
}
