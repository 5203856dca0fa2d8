//! Subcore of the `stack` example on the LP core: `amp_examples::sub::stack`. Built and
//! measured for the size report (the whole IPC stack as linked); its maincore half runs
//! on QEMU.
#![no_std]
#![no_main]

esp_amp_lp::entry!(main);

fn main() -> ! {
    amp_examples::sub::stack(&lp_examples::LpBoard)
}
