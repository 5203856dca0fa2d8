//! The LP core runtime: vector table, reset vector, trap handler, panics.

use esp_amp::port::{InterruptLine, Platform};
use esp_amp::sw_intr::SwIntrId;
use esp_amp::system::panic::{set_panic_sink, PanicDump, PanicSink};
use esp_amp_riscv::{HandlerSlot, IrqEpoch, TrapFrame, INTERRUPT};

use crate::layout::{LP_APP_SIZE, LP_APP_START};
use crate::{LpPlatform, PmuLine};

/// The software-interrupt handler the trap handler runs (see [`with_interrupts`]).
pub static SW_HANDLER: HandlerSlot = HandlerSlot::new();
/// Incremented after every interrupt (what [`LpPlatform::wait_irq`] waits for).
pub static IRQ_EPOCH: IrqEpoch = IrqEpoch::new();

core::arch::global_asm!(
    // 32 four-byte jumps (no compressed instructions): exception and interrupts all go to
    // the one trap entry, whether the core uses `mtvec` in direct or vectored mode.
    ".section .vectors, \"ax\"",
    ".option push",
    ".option norvc",
    ".globl _vectors",
    "_vectors:",
    ".rept 32",
    "    j _trap_entry",
    ".endr",
    ".option pop",
    "",
    ".section .text.start, \"ax\"",
    ".globl _start",
    "_start:",
    ".option push",
    ".option norelax",
    "    la gp, __global_pointer$",
    ".option pop",
    "    la sp, __stack_top",
    "    la t0, _vectors",
    "    ori t0, t0, 1",
    "    csrw mtvec, t0",
    // The loader zero-fills the subcore's memory; clearing .bss again makes a restart
    // without a reload start from the same state.
    "    la t0, __bss_start",
    "    la t1, __bss_end",
    "1:  bgeu t0, t1, 2f",
    "    sw zero, 0(t0)",
    "    addi t0, t0, 4",
    "    j 1b",
    "2:  call esp_amp_lp_start",
    "3:  wfi",
    "    j 3b",
);

extern "Rust" {
    /// The firmware's main function (see [`entry!`](crate::entry)).
    fn esp_amp_lp_main() -> !;
}

#[no_mangle]
extern "C" fn esp_amp_lp_start() -> ! {
    // Feature `uart-console`: `print!` and panic messages go to the UART from the start
    // (until the application installs another printer).
    #[cfg(feature = "uart-console")]
    esp_amp::system::print::set_global(crate::uart_printer());
    // SAFETY: `esp_amp_lp_main` is defined by the firmware through `entry!`, with this
    // signature.
    unsafe { esp_amp_lp_main() }
}

#[no_mangle]
extern "C" fn esp_amp_trap(frame: &mut TrapFrame) {
    let mcause = riscv::register::mcause::read().bits() as u32;
    if mcause & INTERRUPT == 0 {
        exception(frame, mcause, riscv::register::mtval::read() as u32);
    }
    // As C: clear, then dispatch without looking at the status (the status bit is gone
    // once cleared, and a stale dispatch finds an empty software-interrupt word).
    PmuLine.clear();
    // The LP timer's alarm of a timed wait arrives on the same line.
    crate::timer::acknowledge();
    if let Some(handler) = SW_HANDLER.get() {
        handler();
    }
    IRQ_EPOCH.bump();
}

/// Writes the exception (or the `unimp` of a panic) into the panic dump, tells the
/// maincore, and waits, interrupts masked, for the maincore to stop this core.
fn exception(frame: &TrapFrame, mcause: u32, mtval: u32) -> ! {
    let own = crate::window(LP_APP_START, LP_APP_SIZE);
    esp_amp_riscv::dump_exception(crate::panic_dump(), own, frame, mcause, mtval);
    crate::trigger_main(SwIntrId::PANIC);
    LpPlatform.interrupts_disable();
    loop {
        riscv::asm::wfi();
    }
}

fn notify_panic() {
    crate::trigger_main(SwIntrId::PANIC);
}

/// Rust panics go to the panic dump: their message, then (through the `unimp` that ends
/// them, as C's `abort()`) the register frame and stack; the maincore gets software
/// interrupt 28. Exceptions are always dumped.
pub fn report_panics() {
    if let Ok(dump) = PanicDump::new(crate::panic_dump()) {
        set_panic_sink(PanicSink { dump, notify: &notify_panic, frame_by_trap: true });
    }
}

/// Runs `body` with `handler` as the software-interrupt handler (typically
/// `&|| { sw.isr(); }`), the PMU line and interrupts enabled; masks both again when `body`
/// returns, before the handler is removed.
pub fn with_interrupts<R>(handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
    SW_HANDLER.with_interrupts(&PmuLine, handler, body)
}
