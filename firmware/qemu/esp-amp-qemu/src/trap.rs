//! The trap handler of both runtimes: `esp_amp_riscv`'s trap entry saves every register
//! in a [`TrapFrame`] (so an exception can be dumped whole), then `esp_amp_trap` here
//! dispatches.

use core::cell::Cell;

use critical_section::Mutex;

use crate::IRQ_EPOCH;
pub use esp_amp_riscv::TrapFrame;
use esp_amp_riscv::{HandlerSlot, INTERRUPT};

/// What an exception does (never returns): the frame, `mcause`, `mtval`.
pub type ExceptionHook = fn(&TrapFrame, u32, u32) -> !;

pub(crate) static SW_HANDLER: HandlerSlot = HandlerSlot::new();
static EXCEPTION_HOOK: Mutex<Cell<Option<ExceptionHook>>> = Mutex::new(Cell::new(None));

/// Runs `handler` on every machine software interrupt of this hart (typically
/// `|| { sw.isr(); }`). Without one, the interrupt is only cleared.
pub fn set_sw_interrupt_handler(handler: esp_amp_riscv::Handler) {
    SW_HANDLER.set(handler);
}

/// Runs `body` with `handler` installed as the software-interrupt handler (as
/// [`set_sw_interrupt_handler`], for a handler that borrows locals), and removes it when
/// `body` returns.
pub fn with_sw_interrupt_handler<R>(handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
    SW_HANDLER.with(handler, body)
}

/// Replaces the default exception behaviour (print the registers, fail the QEMU run).
pub fn set_exception_hook(hook: ExceptionHook) {
    critical_section::with(|cs| EXCEPTION_HOOK.borrow(cs).set(Some(hook)));
}

const MACHINE_SOFT: u32 = 3;
const MACHINE_TIMER: u32 = 7;

#[no_mangle]
extern "C" fn esp_amp_trap(frame: &mut TrapFrame) {
    let mcause = riscv::register::mcause::read().bits() as u32;
    if mcause & INTERRUPT == 0 {
        let mtval = riscv::register::mtval::read() as u32;
        let hook = critical_section::with(|cs| EXCEPTION_HOOK.borrow(cs).get());
        match hook {
            Some(h) => h(frame, mcause, mtval),
            None => default_exception(frame, mcause, mtval),
        }
    }
    match mcause & !INTERRUPT {
        MACHINE_SOFT => {
            #[cfg(feature = "sub-rt")]
            crate::boot::park_if_stopped();
            match SW_HANDLER.get() {
                Some(h) => h(),
                None => esp_amp::port::InterruptLine::clear(&crate::ClintLine::this_hart()),
            }
        }
        // SAFETY: masking the timer interrupt is always sound; `wait_irq` re-arms it.
        MACHINE_TIMER => unsafe { riscv::register::mie::clear_mtimer() },
        _ => {}
    }
    IRQ_EPOCH.bump();
}

fn default_exception(frame: &TrapFrame, mcause: u32, mtval: u32) -> ! {
    crate::console::print_fmt(format_args!(
        "hart {}: exception mcause={mcause} mepc=0x{:08x} mtval=0x{mtval:08x} ra=0x{:08x}\n",
        crate::hart_id(),
        frame.regs[0],
        frame.regs[1]
    ));
    crate::exit(Err(0xE))
}
