//! Subcore of the `print` example on the P4's HP core 1: `amp_examples::sub::print`.
#![no_std]
#![no_main]

esp_amp_hp::entry!(main);

fn main() -> ! {
    amp_examples::sub::print(&hp_examples::HpBoard)
}
