//! Subcore of the `virtqueue` example on the LP core: `amp_examples::sub::virtqueue`.
#![no_std]
#![no_main]

esp_amp_lp::entry!(main);

fn main() -> ! {
    amp_examples::sub::virtqueue(&lp_examples::LpBoard)
}
