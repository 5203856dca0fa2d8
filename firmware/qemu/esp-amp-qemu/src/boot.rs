//! Both harts start at `_start` in the maincore image. Hart 0 runs the maincore; hart 1
//! parks in `_park` — no stack, no RAM writes, only CSRs, its own `msip` and reads of the
//! mailbox — until the maincore has loaded the subcore image, written its entry point into
//! the mailbox and raised hart 1's software interrupt: the emulated "load firmware,
//! release from reset".
//!
//! Stop is a request: the maincore clears the entry, sets `stop` and raises the line; the
//! subcore's trap handler sees `stop`, writes `state = parked` and jumps back to `_park`
//! (which is outside the subcore region, so the region can then be reloaded). `virt` has no
//! per-hart reset, so a subcore that has masked its interrupts for good cannot be stopped;
//! [`Hart1::stop`] reports that as [`BootError::NotParked`].

use core::sync::atomic::{AtomicU32, Ordering};

use esp_amp::port::InterruptLine;
#[cfg(feature = "main-rt")]
use esp_amp::system::lifecycle::CoreControl;

use crate::layout::*;

/// `state` values.
const PARKED: u32 = 0;
const RUNNING: u32 = 1;

/// How long the maincore waits for hart 1 to acknowledge a start or a stop.
#[cfg(feature = "main-rt")]
const ACK_TIMEOUT_MS: u64 = 1000;

fn mailbox(off: u32) -> &'static AtomicU32 {
    // SAFETY: the mailbox is four words of RAM reserved by the layout (no image is linked
    // there), 4-byte aligned, and accessed by both harts only through atomics.
    unsafe { AtomicU32::from_ptr((MAILBOX_START + off) as usize as *mut u32) }
}

#[cfg(feature = "main-rt")]
core::arch::global_asm!(
    ".section .text.start, \"ax\"",
    ".globl _start",
    "_start:",
    "    csrr t0, mhartid",
    "    bnez t0, _park",
    ".option push",
    ".option norelax",
    "    la gp, __global_pointer$",
    ".option pop",
    "    la sp, __stack_top",
    // .data is loaded in place by QEMU's ELF loader; only .bss needs zeroing.
    "    la t0, __bss_start",
    "    la t1, __bss_end",
    "1:  bgeu t0, t1, 2f",
    "    sw zero, 0(t0)",
    "    addi t0, t0, 4",
    "    j 1b",
    "2:  la t0, _trap_entry",
    "    csrw mtvec, t0",
    "    call qemu_main_entry",
    "3:  j 3b",
    "",
    ".globl _park",
    "_park:",
    "    csrci mstatus, 8",
    "    li t0, 8",
    "    csrw mie, t0",
    "    li t1, {mailbox}",
    "    li t2, {msip1}",
    "4:  wfi",
    "    csrr t3, mip",
    "    andi t3, t3, 8",
    "    beqz t3, 4b",
    "    sw zero, 0(t2)",
    "    lw t4, 0(t1)",
    "    beqz t4, 4b",
    "    csrw mie, zero",
    // The maincore has just written the image: make this hart's fetches see it.
    "    fence.i",
    "    jr t4",
    mailbox = const MAILBOX_START + MAILBOX_ENTRY,
    msip1 = const clint_msip(1),
);

#[cfg(feature = "sub-rt")]
core::arch::global_asm!(
    ".section .text.start, \"ax\"",
    ".globl _sub_start",
    "_sub_start:",
    ".option push",
    ".option norelax",
    "    la gp, __global_pointer$",
    ".option pop",
    // .data and a zeroed .bss were written by the maincore's loader.
    "    la sp, __stack_top",
    "    la t0, _trap_entry",
    "    csrw mtvec, t0",
    "    call qemu_sub_entry",
    "1:  j 1b",
);

extern "Rust" {
    /// The firmware's main function (see [`entry!`](crate::entry)).
    fn amp_main() -> !;
}

#[cfg(feature = "main-rt")]
#[no_mangle]
extern "C" fn qemu_main_entry() -> ! {
    // SAFETY: `amp_main` is defined by the firmware through `entry!`, with this signature.
    unsafe { amp_main() }
}

#[cfg(feature = "sub-rt")]
#[no_mangle]
extern "C" fn qemu_sub_entry() -> ! {
    mailbox(MAILBOX_STATE).store(RUNNING, Ordering::Release);
    // Software interrupts on, so a stop request is always heard (the global mask is the
    // firmware's to open).
    crate::ClintLine::this_hart().enable();
    // SAFETY: as in `qemu_main_entry`.
    unsafe { amp_main() }
}

/// Subcore, in the software-interrupt trap: if the maincore asked to stop, acknowledge and
/// jump to the park loop (never returns then).
#[cfg(feature = "sub-rt")]
pub(crate) fn park_if_stopped() {
    if mailbox(MAILBOX_STOP).load(Ordering::Acquire) == 0 {
        return;
    }
    let park = mailbox(MAILBOX_PARK).load(Ordering::Relaxed);
    mailbox(MAILBOX_STATE).store(PARKED, Ordering::Release);
    // SAFETY: `park` is `_park` in the maincore image (written by `Hart1::start` before
    // releasing this hart); it needs no stack or RAM and never returns here. Interrupts
    // are masked first so nothing runs on the abandoned stack.
    unsafe { core::arch::asm!("csrci mstatus, 8", "jr {0}", in(reg) park, options(noreturn)) }
}

/// Subcore: tells the maincore that the panic dump holds a report (software interrupt 28);
/// the `notify` of a [`esp_amp::system::panic::PanicSink`].
#[cfg(feature = "sub-rt")]
pub fn notify_panic() {
    use esp_amp::event::Trigger;
    crate::PeerTrigger::<esp_amp::SubCore>::new().trigger(esp_amp::sw_intr::SwIntrId::PANIC);
}

/// Subcore exception hook (`set_exception_hook(boot::dump_exception)`): writes the
/// register frame and up to 1 KiB of stack into the panic dump (as an exception, unless
/// it is the trap of an abort: `PanicSink::frame_by_trap`), raises software interrupt 28
/// on the maincore, then waits with interrupts on so that the maincore's stop request
/// parks this hart.
#[cfg(feature = "sub-rt")]
pub fn dump_exception(frame: &crate::TrapFrame, mcause: u32, mtval: u32) -> ! {
    // SAFETY: the subcore region is this hart's own RAM (reserved by the layout), 4-byte
    // aligned; it is only read here (the stack), through the checked window.
    let own = unsafe { esp_amp::shm::Shm::from_raw(SUB_START as usize as *mut u8, SUB_START, SUB_SIZE) };
    esp_amp_riscv::dump_exception(crate::panic_dump(), own, frame, mcause, mtval);
    notify_panic();
    crate::ClintLine::this_hart().enable();
    // SAFETY: the trap vector stays installed; the only interrupt expected is the stop
    // request, whose handler jumps to the park loop.
    unsafe { riscv::register::mstatus::set_mie() };
    loop {
        riscv::asm::wfi();
    }
}

/// Defines the firmware's main function: `esp_amp_qemu::entry!(main);` with `fn main() -> !`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[export_name = "amp_main"]
        fn __amp_main() -> ! {
            $main()
        }
    };
}

/// Why hart 1 did not follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootError {
    /// It did not report running within a second of its release.
    NotStarted,
    /// It did not park within a second of a stop request (interrupts masked for good?).
    NotParked,
}

/// Maincore: control of hart 1 through the mailbox.
#[cfg(feature = "main-rt")]
#[derive(Debug, Default)]
pub struct Hart1;

#[cfg(feature = "main-rt")]
impl Hart1 {
    fn wait_state(want: u32) -> bool {
        let end = crate::mtime() + ACK_TIMEOUT_MS * u64::from(MTIME_HZ / 1000);
        while crate::mtime() < end {
            if mailbox(MAILBOX_STATE).load(Ordering::Acquire) == want {
                return true;
            }
            // Sleep until the next millisecond rather than spin: under `-icount` a spinning
            // hart would use up its whole time slice before hart 1 gets to run.
            esp_amp::port::Platform::wait_irq(&crate::QemuPlatform, crate::IRQ_EPOCH.get(), Some(1));
        }
        false
    }

    fn ring() {
        crate::ClintLine { me: 0, peer: 1 }.raise();
    }

    /// `true` while hart 1 runs subcore code.
    pub fn running() -> bool {
        mailbox(MAILBOX_STATE).load(Ordering::Acquire) == RUNNING
    }
}

#[cfg(feature = "main-rt")]
impl CoreControl for Hart1 {
    type Error = BootError;

    fn start(&mut self, entry: u32) -> Result<(), BootError> {
        extern "C" {
            fn _park();
        }
        mailbox(MAILBOX_STOP).store(0, Ordering::Relaxed);
        mailbox(MAILBOX_STATE).store(PARKED, Ordering::Relaxed);
        mailbox(MAILBOX_PARK).store(_park as *const () as usize as u32, Ordering::Relaxed);
        // Release: the loaded image and the words above are visible before the entry.
        mailbox(MAILBOX_ENTRY).store(entry, Ordering::Release);
        Self::ring();
        Self::wait_state(RUNNING).then_some(()).ok_or(BootError::NotStarted)
    }

    fn stop(&mut self) {
        if !Self::running() {
            return;
        }
        mailbox(MAILBOX_ENTRY).store(0, Ordering::Relaxed);
        mailbox(MAILBOX_STOP).store(1, Ordering::Release);
        Self::ring();
        if !Self::wait_state(PARKED) {
            crate::console::print_fmt(format_args!("hart 1 did not park: {:?}\n", BootError::NotParked));
        }
    }
}
