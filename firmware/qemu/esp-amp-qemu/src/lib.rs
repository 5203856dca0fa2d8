//! esp-amp port for `qemu-system-riscv32 -machine virt -smp 2 -bios none`.
//!
//! - Interrupt line: CLINT machine software interrupts (`msip` of the peer hart).
//! - Time: CLINT `mtime` (10 MHz); timed idling with `mtimecmp` and `wfi`.
//! - Console: the 16550 UART; exit: the SiFive test device.
//! - Runtimes (`main-rt` / `sub-rt`): entry, stack, trap vector; hart 1 parks in the
//!   maincore image until released (see [`boot`]).
#![no_std]

/// The memory map: maincore image, subcore region, shared region, panic dump and boot
/// mailbox, in the first 2 MiB of RAM.
pub mod layout;

#[cfg(all(feature = "main-rt", feature = "sub-rt"))]
compile_error!("enable one runtime: `main-rt` (maincore image) or `sub-rt` (subcore image); build the two firmware packages separately");

pub mod boot;
pub mod console;
mod trap;

use esp_amp::port::{InterruptLine, Platform};
use esp_amp::shm::Shm;
use layout::*;

pub use trap::{set_exception_hook, set_sw_interrupt_handler, with_sw_interrupt_handler, TrapFrame};

/// A 32-bit MMIO register.
fn mmio(addr: u32) -> *mut u32 {
    addr as usize as *mut u32
}

/// Writes `v` to the device register at `addr`.
///
/// Only used with the addresses of [`layout`], which are device registers of `virt`.
fn mmio_write(addr: u32, v: u32) {
    // SAFETY: `addr` is one of the CLINT/UART/test-device registers of the `virt` machine
    // (constants of `layout`), valid for a 32-bit volatile write; no Rust object lives there.
    unsafe { mmio(addr).write_volatile(v) }
}

fn mmio_read(addr: u32) -> u32 {
    // SAFETY: as in `mmio_write`, for a 32-bit volatile read.
    unsafe { mmio(addr).read_volatile() }
}

/// This hart's id.
pub fn hart_id() -> u32 {
    riscv::register::mhartid::read() as u32
}

/// `mtime`, in 10 MHz ticks.
pub fn mtime() -> u64 {
    // The high word may change between the two reads: read it again until stable.
    loop {
        let hi = mmio_read(CLINT_MTIME + 4);
        let lo = mmio_read(CLINT_MTIME);
        if mmio_read(CLINT_MTIME + 4) == hi {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

fn set_mtimecmp(hart: u32, t: u64) {
    let at = clint_mtimecmp(hart);
    // Write the high word to its maximum first, so no early match happens in between.
    mmio_write(at + 4, u32::MAX);
    mmio_write(at, t as u32);
    mmio_write(at + 4, (t >> 32) as u32);
}

/// Instructions retired by this hart (`minstret`).
pub fn instret() -> u64 {
    riscv::register::minstret::read64()
}

/// Ends the QEMU run through the test device: status 0 on `Ok`, `code` otherwise.
pub fn exit(result: Result<(), u16>) -> ! {
    let v = match result {
        Ok(()) => 0x5555,
        // 0x3333 alone would exit with status 0: a failure carries a non-zero code.
        Err(code) => (u32::from(code.max(1)) << 16) | 0x3333,
    };
    mmio_write(TEST_DEVICE, v);
    loop {
        riscv::asm::wfi();
    }
}

/// The software-interrupt line between the two harts.
#[derive(Clone, Copy, Debug)]
pub struct ClintLine {
    me: u32,
    peer: u32,
}

impl ClintLine {
    /// The line of the running hart (0 or 1), towards the other one.
    pub fn this_hart() -> Self {
        let me = hart_id();
        ClintLine { me, peer: 1 - me.min(1) }
    }
}

impl InterruptLine for ClintLine {
    fn raise(&self) {
        mmio_write(clint_msip(self.peer), 1);
    }
    fn clear(&self) {
        mmio_write(clint_msip(self.me), 0);
    }
    fn enable(&self) {
        // SAFETY: setting MSIE only lets the installed trap vector take software interrupts.
        unsafe { riscv::register::mie::set_msoft() };
    }
    fn disable(&self) {
        // SAFETY: clearing MSIE only masks software interrupts.
        unsafe { riscv::register::mie::clear_msoft() };
    }
}

/// Incremented by the trap handler after every interrupt it handled on this hart.
pub(crate) static IRQ_EPOCH: esp_amp_riscv::IrqEpoch = esp_amp_riscv::IrqEpoch::new();

/// Time, interrupt mask and idling for the running hart.
#[derive(Clone, Copy, Debug, Default)]
pub struct QemuPlatform;

/// How many times `wait_irq` looked at its condition with interrupts masked, each
/// followed by a `wfi` unless the wait was over: a sleeping wait looks once per wake-up, a
/// spinning one would look thousands of times per millisecond. Read by the examples
/// (`wait_checks`) to show that a timed wait sleeps; `-icount` makes `minstret` follow
/// virtual time, so instructions cannot show it.
static WAIT_CHECKS: [core::sync::atomic::AtomicU32; 2] =
    [core::sync::atomic::AtomicU32::new(0), core::sync::atomic::AtomicU32::new(0)];

/// This hart's count of checks in `wait_irq`.
fn wait_checks_of_this_hart() -> &'static core::sync::atomic::AtomicU32 {
    &WAIT_CHECKS[hart_id() as usize % WAIT_CHECKS.len()]
}

/// The number of masked checks `wait_irq` has made on this hart so far.
pub fn wait_checks() -> u32 {
    wait_checks_of_this_hart().load(core::sync::atomic::Ordering::Relaxed)
}

/// How many polls `wait_irq` spins before it sleeps in `wfi`. Under `-icount` a spinning
/// hart burns its whole time slice, so the spin stays short.
const SPIN_BEFORE_WFI: u32 = 64;

impl Platform for QemuPlatform {
    fn now_ms(&self) -> u32 {
        (mtime() / u64::from(MTIME_HZ / 1000)) as u32
    }
    fn delay_us(&self, us: u32) {
        let end = mtime() + u64::from(us) * u64::from(MTIME_HZ / 1_000_000);
        while mtime() < end {}
    }
    fn interrupts_enable(&self) {
        esp_amp_riscv::interrupts_enable();
    }
    fn interrupts_disable(&self) {
        esp_amp_riscv::interrupts_disable();
    }
    fn irq_epoch(&self) -> u32 {
        IRQ_EPOCH.get()
    }
    fn wait_irq(&self, epoch: u32, timeout_ms: Option<u32>) {
        for _ in 0..SPIN_BEFORE_WFI {
            if self.irq_epoch() != epoch {
                return;
            }
            core::hint::spin_loop();
        }
        let deadline = timeout_ms.map(|ms| mtime() + u64::from(ms) * u64::from(MTIME_HZ / 1000));
        if let Some(t) = deadline {
            // The timer interrupt wakes `wfi`; the trap handler masks it again.
            set_mtimecmp(hart_id(), t);
            // SAFETY: MTIE only lets the installed trap vector take the timer interrupt.
            unsafe { riscv::register::mie::set_mtimer() };
        }
        // Checked with interrupts masked, so one that arrives after the check still ends
        // `wfi` (see `esp_amp_riscv::wait_for_interrupt`); checked unmasked, a software
        // interrupt between the check and `wfi` was lost until the deadline.
        esp_amp_riscv::wait_for_interrupt(|| {
            wait_checks_of_this_hart().fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            self.irq_epoch() != epoch || deadline.is_some_and(|t| mtime() >= t)
        });
        // SAFETY: masking the timer interrupt is always sound.
        unsafe { riscv::register::mie::clear_mtimer() };
    }
}

/// The shared region, identity-mapped.
pub fn shared() -> Shm<'static> {
    // SAFETY: [SHARED_START, +SHARED_SIZE) is RAM reserved for shared memory by the layout
    // (no image is linked there), 4-byte aligned, accessed only through `Shm` by both harts.
    unsafe { Shm::from_raw(SHARED_START as usize as *mut u8, SHARED_START, SHARED_SIZE) }
}

/// The software-interrupt header (first 0x20 bytes of the shared region).
pub fn sw_intr_header() -> Shm<'static> {
    shared().slice(SHARED_START, 0x20).expect("inside the shared region")
}

/// The SysInfo pool (the shared region after its header).
pub fn sys_info_pool() -> Shm<'static> {
    shared().slice(SHARED_START + 0x20, SHARED_SIZE - 0x20).expect("inside the shared region")
}

/// Runs `body` with `handler` as the software-interrupt handler (see
/// [`with_sw_interrupt_handler`]), with this hart's line and its interrupts enabled; masks
/// both again when `body` returns, before the handler is removed.
pub fn with_interrupts<R>(handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
    trap::SW_HANDLER.with_interrupts(&ClintLine::this_hart(), handler, body)
}

/// A `'static` software-interrupt trigger towards the peer hart, for what must outlive a
/// local [`esp_amp::sw_intr::SwIntr`]: the global printer's service queue, the panic path.
/// `R` is the role of the running hart.
pub struct PeerTrigger<R: esp_amp::Role>(core::marker::PhantomData<fn() -> R>);

impl<R: esp_amp::Role> PeerTrigger<R> {
    pub const fn new() -> Self {
        PeerTrigger(core::marker::PhantomData)
    }
}

impl<R: esp_amp::Role> Default for PeerTrigger<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: esp_amp::Role> esp_amp::event::Trigger for PeerTrigger<R> {
    fn trigger(&self, id: esp_amp::sw_intr::SwIntrId) {
        // An endpoint without handler slots: only its trigger (post, fence, raise) is used.
        let sw =
            esp_amp::sw_intr::SwIntr::<R, ClintLine, 0>::attach(sw_intr_header(), ClintLine::this_hart());
        if let Ok(sw) = sw {
            sw.trigger(id);
        }
    }
}

/// The panic-dump region.
pub fn panic_dump() -> Shm<'static> {
    // SAFETY: the dump region is RAM reserved by the layout, 4-byte aligned, accessed only
    // through `Shm`.
    unsafe { Shm::from_raw(PANIC_DUMP_START as usize as *mut u8, PANIC_DUMP_START, PANIC_DUMP_SIZE) }
}

/// The maincore's panic handler: print and fail the QEMU run.
#[cfg(all(feature = "main-rt", target_os = "none"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    console::print_fmt(format_args!("maincore panic: {info}\n"));
    exit(Err(0xF))
}
