//! Subcore of the `stack` example on the P4's HP core 1: `amp_examples::sub::stack`. Built
//! and measured for the size report (the whole IPC stack as linked); its maincore half
//! runs on QEMU.
#![no_std]
#![no_main]

esp_amp_hp::entry!(main);

fn main() -> ! {
    amp_examples::sub::stack(&hp_examples::HpBoard)
}
