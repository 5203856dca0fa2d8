//! What every RISC-V esp-amp firmware port shares.
//!
//! - [`TrapFrame`] and the trap entry `_trap_entry` (in section `.text.trap`): every
//!   general register is saved on the stack, then the port's
//!   `#[no_mangle] extern "C" fn esp_amp_trap(frame: &mut TrapFrame)` runs (a port without
//!   it does not link), then the registers (and `mepc`, which the handler may change) are
//!   restored and `mret` returns. A whole frame
//!   costs a few cycles more per interrupt than saving the caller-saved registers only, and
//!   lets an exception be dumped as C's `RvExcFrame`.
//! - [`dump_exception`]: an exception (or the `unimp` that ends a Rust panic) written into
//!   the panic dump: the frame, and the stack from the trapping `sp` up to the top of the
//!   core's own stack region.
//! - [`HandlerSlot`]: the software-interrupt handler a port's trap handler calls, and
//!   [`IrqEpoch`], the counter its `Platform::wait_irq` watches.
#![no_std]
#![deny(missing_docs)]

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};

use critical_section::Mutex;
use esp_amp::shm::Shm;
use esp_amp::system::panic::{abort_pending, PanicDump, STACK_DUMP_SIZE};

/// The registers at the trap: `regs[i]` is `x{i}` for i ≥ 1 (`regs[2]` the `sp` before
/// the trap), `regs[0]` holds `mepc`.
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    /// The registers, laid out as the type says.
    pub regs: [u32; 32],
}

impl TrapFrame {
    /// The 37-word frame of an ESP-AMP panic dump (docs/protocol.md §8.5: MEPC, RA, SP, GP, TP, T0–T2,
    /// S0, S1, A0–A7, S2–S11, T3–T6, MSTATUS, MTVEC, MCAUSE, MTVAL, MHARTID).
    pub fn dump_frame(&self, mcause: u32, mtval: u32) -> [u32; 37] {
        // The dump's order after MEPC is exactly x1..x31.
        let mut f = [0u32; 37];
        f[..32].copy_from_slice(&self.regs);
        f[32] = riscv::register::mstatus::read().bits() as u32;
        f[33] = riscv::register::mtvec::read().bits() as u32;
        f[34] = mcause;
        f[35] = mtval;
        f[36] = riscv::register::mhartid::read() as u32;
        f
    }
}

/// A software-interrupt handler, as a port's trap handler runs it.
pub type Handler = &'static (dyn Fn() + Sync);

/// Where a port keeps its software-interrupt handler.
pub struct HandlerSlot(Mutex<Cell<Option<Handler>>>);

impl HandlerSlot {
    /// An empty slot.
    pub const fn new() -> Self {
        HandlerSlot(Mutex::new(Cell::new(None)))
    }

    /// Installs `handler` (typically `|| { sw.isr(); }`).
    #[inline]
    pub fn set(&self, handler: Handler) {
        critical_section::with(|cs| self.0.borrow(cs).set(Some(handler)));
    }

    /// Installs `handler` unless one is installed already; `false` then (nothing changes).
    pub fn try_set(&self, handler: Handler) -> bool {
        critical_section::with(|cs| {
            let slot = self.0.borrow(cs);
            let free = slot.get().is_none();
            if free {
                slot.set(Some(handler));
            }
            free
        })
    }

    /// The handler, if one is installed.
    #[inline]
    pub fn get(&self) -> Option<Handler> {
        critical_section::with(|cs| self.0.borrow(cs).get())
    }

    /// Runs `body` with `handler` installed (as [`HandlerSlot::set`], for a handler that
    /// borrows locals), and removes it when `body` returns.
    #[inline]
    pub fn with<R>(&self, handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
        // SAFETY: only the lifetime is extended. The handler is removed below before
        // `handler` can go out of scope; the firmware is built with `panic = "abort"` (and a
        // panic ends in the panic handler, which never returns), so `body` cannot unwind
        // past the removal.
        let forever: Handler = unsafe { core::mem::transmute::<&(dyn Fn() + Sync), Handler>(handler) };
        self.set(forever);
        let r = body();
        critical_section::with(|cs| self.0.borrow(cs).set(None));
        r
    }
}

impl HandlerSlot {
    /// Runs `body` with `handler` installed (as [`HandlerSlot::with`]), `line` and this
    /// hart's interrupts enabled; masks both again when `body` returns, before the handler
    /// is removed. What each port's `with_interrupts` is.
    #[inline]
    pub fn with_interrupts<R>(
        &self,
        line: &impl esp_amp::port::InterruptLine,
        handler: &(dyn Fn() + Sync),
        body: impl FnOnce() -> R,
    ) -> R {
        self.with(handler, || {
            line.enable();
            interrupts_enable();
            let r = body();
            line.disable();
            interrupts_disable();
            r
        })
    }
}

impl Default for HandlerSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts the interrupts a core has handled; `Platform::irq_epoch` reads it.
pub struct IrqEpoch(AtomicU32);

impl IrqEpoch {
    /// A count of 0.
    pub const fn new() -> Self {
        IrqEpoch(AtomicU32::new(0))
    }

    /// At the end of every interrupt the trap handler took.
    pub fn bump(&self) {
        // Release: what the handler did is visible to a task that sees the new epoch.
        self.0.fetch_add(1, Ordering::Release);
    }

    /// The count (wrapping): compare it with an earlier one to know whether an interrupt
    /// came in between.
    pub fn get(&self) -> u32 {
        // Acquire: pairs with `bump`.
        self.0.load(Ordering::Acquire)
    }
}

impl Default for IrqEpoch {
    fn default() -> Self {
        Self::new()
    }
}

/// The 64-bit cycle counter (`mcycle`/`mcycleh`, read until stable).
#[inline]
pub fn cycles() -> u64 {
    riscv::register::mcycle::read64()
}

/// How fast a core's `mcycle` counts.
pub trait CycleRate {
    /// Cycles per microsecond (1..=65536; see [`esp_amp::port::cycles_to_ms`]).
    fn cycles_per_us(&self) -> u32;
}

/// A rate fixed when the firmware is built (the LP core's nominal 16 MHz). The clock's
/// arithmetic then folds to constants.
#[derive(Clone, Copy, Debug)]
pub struct FixedRate(pub u32);

impl CycleRate for FixedRate {
    #[inline]
    fn cycles_per_us(&self) -> u32 {
        self.0
    }
}

/// Time and idling of a bare-metal core that counts its interrupts in an [`IrqEpoch`]: the
/// `now_ms`, `delay_us` and `wait_irq` of its `Platform`, from `mcycle` at the rate `R`
/// gives (fixed, or read at run time where the core's clock is configurable, as on the
/// P4's HP core 1).
///
/// No timer interrupt is armed here: `wait_irq` with a timeout polls the cycle counter;
/// without one it sleeps in `wfi` until the epoch moves. A port with a wake-up timer arms
/// it itself and uses this only as the fallback (the LP-core port's LP timer alarm).
///
/// ```ignore
/// const CLOCK: CycleClock = CycleClock::new(FixedRate(16), &IRQ_EPOCH); // 16 MHz
/// ```
#[derive(Clone, Copy)]
pub struct CycleClock<R = FixedRate> {
    rate: R,
    epoch: &'static IrqEpoch,
}

impl<R: CycleRate> CycleClock<R> {
    /// A clock counting `mcycle` at `rate`, with interrupts counted by `epoch`.
    pub const fn new(rate: R, epoch: &'static IrqEpoch) -> Self {
        CycleClock { rate, epoch }
    }

    /// Milliseconds since reset (wrapping), without a 64-bit division.
    #[inline]
    pub fn now_ms(&self) -> u32 {
        esp_amp::port::cycles_to_ms(cycles(), self.rate.cycles_per_us())
    }

    /// Busy-waits `us` microseconds.
    #[inline]
    pub fn delay_us(&self, us: u32) {
        let end = cycles() + u64::from(us) * u64::from(self.rate.cycles_per_us());
        while cycles() < end {}
    }

    /// The interrupt count (`Platform::irq_epoch`).
    #[inline]
    pub fn irq_epoch(&self) -> u32 {
        self.epoch.get()
    }

    /// Returns once the epoch differs from `seen`, or after `timeout_ms`
    /// (`Platform::wait_irq`).
    #[inline]
    pub fn wait_irq(&self, seen: u32, timeout_ms: Option<u32>) {
        match timeout_ms {
            Some(ms) => {
                let per_ms = u64::from(self.rate.cycles_per_us()) * 1000;
                let end = cycles() + u64::from(ms) * per_ms;
                while self.epoch.get() == seen && cycles() < end {
                    core::hint::spin_loop();
                }
            }
            None => wait_for_interrupt(|| self.epoch.get() != seen),
        }
    }
}

/// Sleeps in `wfi` until `done()` holds, without losing a wake-up.
///
/// `done()` is checked with this hart's interrupts masked and `wfi` runs still masked: an
/// interrupt that arrives after the check stays pending, and a pending interrupt that is
/// enabled in `mie` ends `wfi` even while `mstatus.MIE` is clear (RISC-V privileged spec,
/// WFI). Unmasking then runs its handler, and the loop checks again. Checked with
/// interrupts enabled, an interrupt between the check and `wfi` would be handled first and
/// `wfi` would then sleep until the next one: for ever, if none comes. The caller's
/// `mstatus.MIE` is restored after each round.
pub fn wait_for_interrupt(mut done: impl FnMut() -> bool) {
    loop {
        let was_enabled = riscv::register::mstatus::read().mie();
        interrupts_disable();
        let finished = done();
        if !finished {
            riscv::asm::wfi();
        }
        if was_enabled {
            interrupts_enable();
        }
        if finished {
            return;
        }
    }
}

/// Enables interrupts on this hart (`mstatus.MIE`): the `Platform::interrupts_enable` of
/// a port whose runtime installs `_trap_entry` before any firmware code runs.
#[inline]
pub fn interrupts_enable() {
    // SAFETY: every port using this crate points `mtvec` at `_trap_entry` in its reset
    // code, before firmware code can call this, so an interrupt finds a handler.
    unsafe { riscv::register::mstatus::set_mie() };
}

/// Disables interrupts on this hart (`mstatus.MIE`).
#[inline]
pub fn interrupts_disable() {
    // SAFETY: masking interrupts is always sound.
    unsafe { riscv::register::mstatus::clear_mie() };
}

/// `mcause` bit of an interrupt.
pub const INTERRUPT: u32 = 0x8000_0000;

/// Writes the exception in `frame` into the panic dump `dump`: the register frame, and
/// the stack from the trapping `sp` to `stack.device_end()` (at most 1 KiB; nothing when
/// `sp` is not inside `stack`, so a wild `sp` cannot make us read elsewhere). The report
/// stays an abort when the trap is the `unimp` of a Rust panic whose message is already
/// written ([`abort_pending`]); otherwise it is marked an exception. `false` if `dump` is
/// not a panic-dump region.
pub fn dump_exception(dump: Shm<'_>, stack: Shm<'_>, frame: &TrapFrame, mcause: u32, mtval: u32) -> bool {
    let Ok(dump) = PanicDump::new(dump) else { return false };
    let regs = frame.dump_frame(mcause, mtval);
    let sp = frame.regs[2];
    let mut bytes = [0u8; STACK_DUMP_SIZE];
    let len =
        if stack.contains(sp, 1) { ((stack.device_end() - sp) as usize).min(STACK_DUMP_SIZE) } else { 0 };
    let len = if stack.read_bytes(sp, &mut bytes[..len]).is_ok() { len } else { 0 };
    dump.write_frame(&regs, &bytes[..len]);
    if !abort_pending() {
        dump.mark_exception();
    }
    true
}

#[cfg(feature = "trap-entry")]
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
    "    call esp_amp_trap",
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
