//! What every maincore example shares: the loader target of the layout, the subcore
//! handle, and the failure and waiting helpers.
#![no_std]

use esp_amp::image::load::{EntryRule, LoadTarget, Protected, RawMemory};
use esp_amp::layout::Region;
use esp_amp::port::Platform;
use esp_amp::system::lifecycle::{ImagePort, Subcore};
use esp_amp::system::panic::PanicDump;
use esp_amp_qemu::boot::Hart1;
use esp_amp_qemu::layout::*;
use esp_amp_qemu::{self as port, uprintln, QemuPlatform};

/// The default time limit of a wait in the examples, in ms (generous: the parallel TCG
/// run may share the machine with other jobs).
pub const TIMEOUT_MS: u32 = 2000;

/// Fails the run with `code` after saying why.
pub fn fail(code: u16, why: core::fmt::Arguments<'_>) -> ! {
    uprintln!("FAIL: {}", why);
    port::exit(Err(code))
}

/// `check!(code, condition, "why {}", x)`: fails the run with `code` unless `condition`.
#[macro_export]
macro_rules! check {
    ($code:expr, $cond:expr, $($why:tt)*) => {
        if !$cond {
            $crate::fail($code, format_args!($($why)*));
        }
    };
}

/// Waits (sleeping between interrupts) until `done()` holds or [`TIMEOUT_MS`] passed;
/// the caller checks the outcome itself.
pub fn wait_for(mut done: impl FnMut() -> bool) {
    let start = QemuPlatform.now_ms();
    loop {
        // Taken before the check: an interrupt after it ends the sleep at once.
        let epoch = QemuPlatform.irq_epoch();
        if done() || QemuPlatform.now_ms().wrapping_sub(start) >= TIMEOUT_MS {
            return;
        }
        QemuPlatform.wait_irq(epoch, Some(10));
    }
}

/// Where the loader may write the subcore image: its region only, with the shared region
/// and the panic dump protected, and the entry point inside the region.
pub fn load_target() -> LoadTarget {
    let region = |start, size| Region { start, end: start + size };
    LoadTarget {
        chip_id: None,
        hp: Some(region(SUB_START, SUB_SIZE)),
        rtc: None,
        rtc_clear: None,
        app_desc: None,
        protected: [
            Some((region(SHARED_START, SHARED_SIZE), Protected::SharedMemory)),
            Some((region(PANIC_DUMP_START, PANIC_DUMP_SIZE), Protected::PanicDump)),
            None,
            None,
        ],
        entry: EntryRule::Within(region(SUB_START, SUB_SIZE)),
    }
}

/// The subcore (hart 1) behind the project's checked loader.
pub type Sub = Subcore<'static, ImagePort<'static, Hart1, RawMemory>>;

/// The subcore handle: checked loader into the subcore region, hart 1 as the core, and
/// the panic dump (cleared before every start).
pub fn subcore() -> Sub {
    // SAFETY: the subcore region is reserved by the layout for the subcore image: not
    // linked into any maincore image, not a heap, and hart 1 is parked (or stopped) while
    // the loader writes it.
    let mem = unsafe { RawMemory::new(&load_target()) };
    let dump =
        PanicDump::new(port::panic_dump()).unwrap_or_else(|e| fail(1, format_args!("panic dump: {e:?}")));
    Subcore::new(ImagePort::new(Hart1, mem, load_target())).with_panic_dump(dump)
}

/// Loads `elf` into the subcore region (validated) and releases hart 1.
pub fn load_and_start(sub: &mut Sub, elf: &[u8]) {
    sub.load(elf).unwrap_or_else(|e| fail(4, format_args!("load: {e:?}")));
    sub.start().unwrap_or_else(|e| fail(5, format_args!("start: {e:?}")));
    uprintln!("[hart 0] subcore loaded from its ELF ({} bytes) and released", elf.len());
}

/// Stops the subcore and fails unless hart 1 parked.
pub fn stop(sub: &mut Sub) {
    sub.stop();
    check!(6, !Hart1::running(), "the subcore still runs after its stop");
}

/// The end of a run that passed: stop the subcore, print `PASS`, exit with status 0.
pub fn pass(sub: &mut Sub) -> ! {
    stop(sub);
    uprintln!("PASS");
    port::exit(Ok(()))
}
