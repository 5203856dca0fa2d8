//! Subcore of the `rpc` example on the P4's HP core 1: `amp_examples::sub::rpc`.
#![no_std]
#![no_main]

esp_amp_hp::entry!(main);

fn main() -> ! {
    amp_examples::sub::rpc(&hp_examples::HpBoard)
}
