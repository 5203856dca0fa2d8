//! `rpc`, maincore side (HP core, esp-hal): `amp_examples::maincore::rpc` against the
//! LP image of the same name, embedded by the build script. Prints `PASS` or
//! `FAIL: <why>`.
#![no_std]
#![no_main]

esp_bootloader_esp_idf::esp_app_desc!();

static LP_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rpc.bin"));

#[esp_hal::main]
fn main() -> ! {
    main_examples::run("rpc", LP_IMAGE, |b, sub| amp_examples::maincore::rpc(b, sub, LP_IMAGE))
}
