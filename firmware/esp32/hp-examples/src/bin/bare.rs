//! The HP-core-1 runtime alone (reset, trap and panic paths, the interrupt line) and no IPC: the
//! baseline that `cargo xtask esp32` subtracts from the other examples to size their IPC
//! code as linked.
#![no_std]
#![no_main]

use esp_amp::port::Platform;
use esp_amp_hp::HpPlatform;

esp_amp_hp::entry!(main);

fn main() -> ! {
    esp_amp_hp::report_panics();
    esp_amp_hp::with_interrupts(&|| {}, || loop {
        HpPlatform.wait_irq(HpPlatform.irq_epoch(), None)
    })
}
