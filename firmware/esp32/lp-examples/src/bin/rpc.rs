//! Subcore of the `rpc` example on the LP core: `amp_examples::sub::rpc`.
#![no_std]
#![no_main]

esp_amp_lp::entry!(main);

fn main() -> ! {
    amp_examples::sub::rpc(&lp_examples::LpBoard)
}
