//! What every subcore example shares: its panics and exceptions go to the panic dump.
#![no_std]

use esp_amp::system::panic::{set_panic_sink, PanicDump, PanicSink};
use esp_amp_qemu as port;

/// Exceptions write their register frame into the panic dump, and Rust panics their
/// message plus the frame of the `unimp` that ends them (as C's `abort()`); either way the
/// maincore gets software interrupt 28.
pub fn report_panics() {
    port::set_exception_hook(port::boot::dump_exception);
    if let Ok(dump) = PanicDump::new(port::panic_dump()) {
        set_panic_sink(PanicSink { dump, notify: &port::boot::notify_panic, frame_by_trap: true });
    }
}
