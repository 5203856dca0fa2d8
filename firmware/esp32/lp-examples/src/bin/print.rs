//! Subcore of the `print` example on the LP core: `amp_examples::sub::print`.
#![no_std]
#![no_main]

esp_amp_lp::entry!(main);

fn main() -> ! {
    amp_examples::sub::print(&lp_examples::LpBoard)
}
