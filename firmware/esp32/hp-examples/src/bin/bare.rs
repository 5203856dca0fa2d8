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
        let epoch = HpPlatform.irq_epoch();
        // Every real subcore has a panic site, and with it the panic handler and its
        // report; this one (not taken: the epoch counts interrupts, and nothing here
        // raises one)
        // links them here too, so the IPC code measured against this image does not
        // count them (their cost: docs/benchmarks.md, "Panic location").
        if epoch == u32::MAX {
            panic!("interrupt epoch at its end");
        }
        HpPlatform.wait_irq(epoch, None)
    })
}
