//! The QEMU port as a [`Board`] for the subcore halves of the examples
//! (`amp_examples::sub`): each binary of this package is one call.
#![no_std]

use core::cell::RefCell;

use amp_examples::Board;
use critical_section::Mutex;
use esp_amp::event::Trigger;
use esp_amp::port::Platform;
use esp_amp::shm::Shm;
use esp_amp::system::panic::{set_panic_sink, PanicDump, PanicSink};
use esp_amp::SubCore;
use esp_amp_qemu::{self as port, console, ClintLine, PeerTrigger, QemuPlatform};

/// Hart 1 of the QEMU `virt` machine.
pub struct QemuBoard;

/// Where the global printer's service queue notifies from (it must be `'static`).
static TO_MAINCORE: PeerTrigger<SubCore> = PeerTrigger::new();
static CLOCK: QemuPlatform = QemuPlatform;

/// The fallback gets single bytes; whole lines go to the UART, so they do not interleave
/// with the maincore's.
static FALLBACK_LINE: Mutex<RefCell<([u8; 128], usize)>> = Mutex::new(RefCell::new(([0; 128], 0)));

fn to_uart(bytes: &[u8]) {
    critical_section::with(|cs| {
        let (buf, len) = &mut *FALLBACK_LINE.borrow(cs).borrow_mut();
        for &b in bytes {
            if *len < buf.len() {
                buf[*len] = b;
                *len += 1;
            }
            if b == b'\n' || *len == buf.len() {
                console::print_fmt(format_args!("{}", core::str::from_utf8(&buf[..*len]).unwrap_or("?\n")));
                *len = 0;
            }
        }
    });
}

impl Board for QemuBoard {
    type Line = ClintLine;
    type Clock = QemuPlatform;

    fn line(&self) -> ClintLine {
        ClintLine::this_hart()
    }
    fn clock(&self) -> QemuPlatform {
        QemuPlatform
    }
    fn static_clock(&self) -> &'static (dyn Platform + Sync) {
        &CLOCK
    }
    fn sw_intr_header(&self) -> Shm<'static> {
        port::sw_intr_header()
    }
    fn sys_info_pool(&self) -> Shm<'static> {
        port::sys_info_pool()
    }
    fn rtc_pool(&self) -> Option<Shm<'static>> {
        None
    }
    fn with_interrupts<R>(&self, handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
        port::with_interrupts(handler, body)
    }
    /// Exceptions write their register frame into the panic dump, and Rust panics their
    /// message plus the frame of the `unimp` that ends them (as C's `abort()`); either way
    /// the maincore gets software interrupt 28.
    fn report_panics(&self) {
        port::set_exception_hook(port::boot::dump_exception);
        if let Ok(dump) = PanicDump::new(port::panic_dump()) {
            set_panic_sink(PanicSink { dump, notify: &port::boot::notify_panic, frame_by_trap: true });
        }
    }
    fn trigger_main(&self) -> &'static (dyn Trigger + Sync) {
        &TO_MAINCORE
    }
    fn log(&self, line: core::fmt::Arguments<'_>) {
        console::print_fmt(format_args!("{line}\n"));
    }
    fn print_fallback(&self) -> Option<esp_amp::system::print::Fallback<'static>> {
        Some(&to_uart)
    }
    fn instructions(&self) -> u64 {
        port::instret()
    }
    fn fault(&self) -> ! {
        // SAFETY: a store to address 4, which is not RAM on `virt`: the hart traps (store
        // access fault) before anything is written, and the exception hook never returns
        // here. No Rust memory is involved.
        unsafe { core::arch::asm!("sw {0}, 4(zero)", in(reg) 0xdead_u32, options(noreturn)) }
    }
}
