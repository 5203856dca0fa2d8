//! Subcore of the `basic` example on the P4's HP core 1: `amp_examples::sub::basic`.
#![no_std]
#![no_main]

esp_amp_hp::entry!(main);

fn main() -> ! {
    amp_examples::sub::basic(&hp_examples::HpBoard)
}
