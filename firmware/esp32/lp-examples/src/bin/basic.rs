//! Subcore of the `basic` example on the LP core: `amp_examples::sub::basic`.
#![no_std]
#![no_main]

esp_amp_lp::entry!(main);

fn main() -> ! {
    amp_examples::sub::basic(&lp_examples::LpBoard)
}
