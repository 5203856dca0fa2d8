//! `virtqueue`, maincore side (HP core, esp-hal): `amp_examples::maincore::virtqueue` against the
//! LP image of the same name, embedded by the build script. Prints `PASS` or
//! `FAIL: <why>`.
#![no_std]
#![no_main]

esp_bootloader_esp_idf::esp_app_desc!();

static LP_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/virtqueue.bin"));

#[esp_hal::main]
fn main() -> ! {
    main_examples::run("virtqueue", LP_IMAGE, |b, sub| amp_examples::maincore::virtqueue(b, sub, LP_IMAGE))
}
