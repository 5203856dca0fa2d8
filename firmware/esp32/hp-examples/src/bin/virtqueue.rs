//! Subcore of the `virtqueue` example on the P4's HP core 1: `amp_examples::sub::virtqueue`.
#![no_std]
#![no_main]

esp_amp_hp::entry!(main);

fn main() -> ! {
    amp_examples::sub::virtqueue(&hp_examples::HpBoard)
}
