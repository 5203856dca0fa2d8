//! The HP-core-1 runtime: boot entry, trap vector (CLIC mode), trap handler, panics.

use esp_amp::port::{InterruptLine, Platform};
use esp_amp::sw_intr::SwIntrId;
use esp_amp::system::panic::{set_panic_sink, PanicDump, PanicSink};
use esp_amp_riscv::{HandlerSlot, IrqEpoch, TrapFrame, INTERRUPT};

use crate::{FromCpuLine, HpPlatform};

/// The software-interrupt handler the trap handler runs (see [`with_interrupts`]).
pub static SW_HANDLER: HandlerSlot = HandlerSlot::new();
/// Incremented after every interrupt (what [`HpPlatform::wait_irq`] waits for).
pub static IRQ_EPOCH: IrqEpoch = IrqEpoch::new();

core::arch::global_asm!(
    // In CLIC mode every exception and every non-vectored interrupt enters at mtvec's
    // 64-byte aligned base (the linker script aligns this section).
    ".section .trap.vector, \"ax\"",
    ".globl _trap_vector",
    "_trap_vector:",
    "    j _trap_entry",
    "",
    ".section .text.start, \"ax\"",
    ".globl _start",
    "_start:",
    ".option push",
    ".option norelax",
    "    la gp, __global_pointer$",
    ".option pop",
    "    la sp, __stack_top",
    // mstatus.FS = Initial: riscv32imafc code may use the FPU (the trap entry saves no FP
    // registers: no handler here uses floating point).
    "    li t0, 0x2000",
    "    csrs mstatus, t0",
    // mtvec in CLIC mode (low bits 0b11); interrupt threshold 0 (`mintthresh`, CSR 0x347:
    // exists on P4 chip revision 3 and later only, the revisions esp-hal 1.2 supports and
    // whose CLIC esp-hal programs through the same CSR; on an older P4 this instruction
    // would trap. `esp_amp_soc::clic::MINTTHRESH_CSR`).
    "    la t0, _trap_vector",
    "    ori t0, t0, 3",
    "    csrw mtvec, t0",
    "    csrw {mintthresh}, zero",
    // The loader zero-fills the region; clearing .bss again makes a restart without a
    // reload start from the same state.
    "    la t0, __bss_start",
    "    la t1, __bss_end",
    "1:  bgeu t0, t1, 2f",
    "    sw zero, 0(t0)",
    "    addi t0, t0, 4",
    "    j 1b",
    "2:  call esp_amp_hp_start",
    "3:  wfi",
    "    j 3b",
    mintthresh = const esp_amp_soc::clic::MINTTHRESH_CSR,
);

extern "Rust" {
    /// The firmware's main function (see [`entry!`](crate::entry)).
    fn esp_amp_hp_main() -> !;
}

extern "C" {
    /// Linker-script symbols: the bounds of this image's stack.
    static __stack_bottom: u8;
    static __stack_top: u8;
}

#[no_mangle]
extern "C" fn esp_amp_hp_start() -> ! {
    // As C's `subcore_startup` and esp-hal's second-core start: a later reset of this core
    // must wait in the ROM, not re-enter this image (the maincore may have replaced it).
    crate::regs::clear_rom_boot_addr();
    // Feature `uart-console`: `print!` and panic messages go to the UART from the start
    // (until the application installs another printer).
    #[cfg(feature = "uart-console")]
    esp_amp::system::print::set_global(crate::uart_printer());
    // SAFETY: `esp_amp_hp_main` is defined by the firmware through `entry!`, with this
    // signature.
    unsafe { esp_amp_hp_main() }
}

#[no_mangle]
extern "C" fn esp_amp_trap(frame: &mut TrapFrame) {
    let mcause = riscv::register::mcause::read().bits() as u32;
    if mcause & INTERRUPT == 0 {
        exception(frame, mcause, riscv::register::mtval::read() as u32);
    }
    // As C: clear, then dispatch without looking at the status (a stale dispatch finds an
    // empty software-interrupt word). Line 30 is the only interrupt this core enables.
    FromCpuLine.clear();
    if let Some(handler) = SW_HANDLER.get() {
        handler();
    }
    IRQ_EPOCH.bump();
}

/// Writes the exception (or the `unimp` of a panic) into the panic dump, tells the
/// maincore, and waits, interrupts masked, for the maincore to stop this core.
fn exception(frame: &TrapFrame, mcause: u32, mtval: u32) -> ! {
    // Addresses only: the symbols mark the stack's bounds and are never dereferenced.
    let bottom = core::ptr::addr_of!(__stack_bottom) as usize as u32;
    let top = core::ptr::addr_of!(__stack_top) as usize as u32;
    let own = crate::window(bottom, top - bottom);
    esp_amp_riscv::dump_exception(crate::panic_dump(), own, frame, mcause, mtval);
    crate::trigger_main(SwIntrId::PANIC);
    HpPlatform.interrupts_disable();
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
/// `&|| { sw.isr(); }`), the line and interrupts enabled; masks both again when `body`
/// returns, before the handler is removed.
pub fn with_interrupts<R>(handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
    SW_HANDLER.with_interrupts(&FromCpuLine, handler, body)
}
