//! The trap vector shared by both runtimes: every register is saved in a [`TrapFrame`]
//! (so an exception can be dumped whole), then [`qemu_trap`] dispatches.

use core::cell::Cell;
use core::sync::atomic::Ordering;

use critical_section::Mutex;

use crate::IRQ_EPOCH;

/// The registers at the trap: `regs[i]` is `x{i}` for i ≥ 1 (`regs[2]` the `sp` before the
/// trap), `regs[0]` holds `mepc`.
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    pub regs: [u32; 32],
}

impl TrapFrame {
    /// The 37-word frame of an ESP-AMP panic dump (spec §8.5: MEPC, RA, SP, GP, TP, T0–T2,
    /// S0, S1, A0–A7, S2–S11, T3–T6, MSTATUS, MTVEC, MCAUSE, MTVAL, MHARTID).
    pub fn dump_frame(&self, mcause: u32, mtval: u32) -> [u32; 37] {
        // The dump's order after MEPC is exactly x1..x31.
        let mut f = [0u32; 37];
        f[..32].copy_from_slice(&self.regs);
        f[32] = riscv::register::mstatus::read().bits() as u32;
        f[33] = riscv::register::mtvec::read().bits() as u32;
        f[34] = mcause;
        f[35] = mtval;
        f[36] = crate::hart_id();
        f
    }
}

core::arch::global_asm!(
    ".section .text.trap, \"ax\"",
    ".balign 4",
    ".globl _trap_entry",
    "_trap_entry:",
    "    addi sp, sp, -128",
    "    sw x1, 4(sp)",
    "    sw x3, 12(sp)",
    "    sw x4, 16(sp)",
    "    sw x5, 20(sp)",
    "    sw x6, 24(sp)",
    "    sw x7, 28(sp)",
    "    sw x8, 32(sp)",
    "    sw x9, 36(sp)",
    "    sw x10, 40(sp)",
    "    sw x11, 44(sp)",
    "    sw x12, 48(sp)",
    "    sw x13, 52(sp)",
    "    sw x14, 56(sp)",
    "    sw x15, 60(sp)",
    "    sw x16, 64(sp)",
    "    sw x17, 68(sp)",
    "    sw x18, 72(sp)",
    "    sw x19, 76(sp)",
    "    sw x20, 80(sp)",
    "    sw x21, 84(sp)",
    "    sw x22, 88(sp)",
    "    sw x23, 92(sp)",
    "    sw x24, 96(sp)",
    "    sw x25, 100(sp)",
    "    sw x26, 104(sp)",
    "    sw x27, 108(sp)",
    "    sw x28, 112(sp)",
    "    sw x29, 116(sp)",
    "    sw x30, 120(sp)",
    "    sw x31, 124(sp)",
    "    addi t0, sp, 128",
    "    sw t0, 8(sp)",
    "    csrr t0, mepc",
    "    sw t0, 0(sp)",
    "    mv a0, sp",
    "    call qemu_trap",
    "    lw t0, 0(sp)",
    "    csrw mepc, t0",
    "    lw x1, 4(sp)",
    "    lw x3, 12(sp)",
    "    lw x4, 16(sp)",
    "    lw x5, 20(sp)",
    "    lw x6, 24(sp)",
    "    lw x7, 28(sp)",
    "    lw x8, 32(sp)",
    "    lw x9, 36(sp)",
    "    lw x10, 40(sp)",
    "    lw x11, 44(sp)",
    "    lw x12, 48(sp)",
    "    lw x13, 52(sp)",
    "    lw x14, 56(sp)",
    "    lw x15, 60(sp)",
    "    lw x16, 64(sp)",
    "    lw x17, 68(sp)",
    "    lw x18, 72(sp)",
    "    lw x19, 76(sp)",
    "    lw x20, 80(sp)",
    "    lw x21, 84(sp)",
    "    lw x22, 88(sp)",
    "    lw x23, 92(sp)",
    "    lw x24, 96(sp)",
    "    lw x25, 100(sp)",
    "    lw x26, 104(sp)",
    "    lw x27, 108(sp)",
    "    lw x28, 112(sp)",
    "    lw x29, 116(sp)",
    "    lw x30, 120(sp)",
    "    lw x31, 124(sp)",
    "    addi sp, sp, 128",
    "    mret",
);

type SwHandler = &'static (dyn Fn() + Sync);
/// What an exception does (never returns): the frame, `mcause`, `mtval`.
pub type ExceptionHook = fn(&TrapFrame, u32, u32) -> !;

static SW_HANDLER: Mutex<Cell<Option<SwHandler>>> = Mutex::new(Cell::new(None));
static EXCEPTION_HOOK: Mutex<Cell<Option<ExceptionHook>>> = Mutex::new(Cell::new(None));

/// Runs `handler` on every machine software interrupt of this hart (typically
/// `|| { sw.isr(); }`). Without one, the interrupt is only cleared.
pub fn set_sw_interrupt_handler(handler: SwHandler) {
    critical_section::with(|cs| SW_HANDLER.borrow(cs).set(Some(handler)));
}

/// Runs `body` with `handler` installed as the software-interrupt handler (as
/// [`set_sw_interrupt_handler`], for a handler that borrows locals), and removes it when
/// `body` returns.
pub fn with_sw_interrupt_handler<R>(handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
    // SAFETY: only the lifetime is extended. The handler is removed below before `handler`
    // can go out of scope; the firmware is built with `panic = "abort"`, so `body` cannot
    // unwind past the removal.
    let forever: SwHandler = unsafe { core::mem::transmute::<&(dyn Fn() + Sync), SwHandler>(handler) };
    set_sw_interrupt_handler(forever);
    let r = body();
    critical_section::with(|cs| SW_HANDLER.borrow(cs).set(None));
    r
}

/// Replaces the default exception behaviour (print the registers, fail the QEMU run).
pub fn set_exception_hook(hook: ExceptionHook) {
    critical_section::with(|cs| EXCEPTION_HOOK.borrow(cs).set(Some(hook)));
}

const INTERRUPT: u32 = 0x8000_0000;
const MACHINE_SOFT: u32 = 3;
const MACHINE_TIMER: u32 = 7;

#[no_mangle]
extern "C" fn qemu_trap(frame: &mut TrapFrame) {
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
            match critical_section::with(|cs| SW_HANDLER.borrow(cs).get()) {
                Some(h) => h(),
                None => esp_amp::port::InterruptLine::clear(&crate::ClintLine::this_hart()),
            }
        }
        // SAFETY: masking the timer interrupt is always sound; `wait_irq` re-arms it.
        MACHINE_TIMER => unsafe { riscv::register::mie::clear_mtimer() },
        _ => {}
    }
    // Release: what the handler did is visible to a task that sees the new epoch.
    IRQ_EPOCH.fetch_add(1, Ordering::Release);
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
