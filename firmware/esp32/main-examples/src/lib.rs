//! What the maincore examples share: failing with a reason, and reporting a subcore panic
//! from the dump.
#![no_std]

use esp_amp::port::InterruptLine;
use esp_amp::system::panic::PanicMonitor;
use esp_amp_esp32::LpSubcore;
use esp_println::println;

/// Prints `FAIL: <why>` and stops here.
pub fn fail(why: core::fmt::Arguments<'_>) -> ! {
    println!("FAIL: {why}");
    loop {
        core::hint::spin_loop();
    }
}

/// If `monitor` saw the subcore's panic interrupt: stops the LP core, prints the report
/// from the dump (the C version's format) and fails.
pub fn report_subcore_panic<L: InterruptLine>(sub: &mut LpSubcore, monitor: &PanicMonitor<L>) {
    if sub.handle_panic(monitor, |report| println!("{report}")) {
        fail(format_args!("the subcore panicked"));
    }
}

/// The maincore's own panics: the message, then stop.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    fail(format_args!("maincore panic: {info}"))
}
