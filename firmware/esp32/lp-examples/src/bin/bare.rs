//! The LP runtime alone (reset, trap and panic paths, the interrupt line) and no IPC: the
//! baseline that `cargo xtask esp32` subtracts from the other examples to size their IPC
//! code as linked.
#![no_std]
#![no_main]

use esp_amp::port::Platform;
use esp_amp_lp::LpPlatform;

esp_amp_lp::entry!(main);

fn main() -> ! {
    esp_amp_lp::report_panics();
    esp_amp_lp::with_interrupts(&|| {}, || loop {
        LpPlatform.wait_irq(LpPlatform.irq_epoch(), None)
    })
}
