//! Hart 0 as a [`MainBoard`]: the maincore halves of the examples are
//! `amp_examples::maincore`; each binary here is one call of [`run`]. Also the loader
//! target of the layout and the subcore handle.
#![no_std]

use amp_examples::maincore::{FaultSignature, MainBoard};
use esp_amp::image::load::{EntryRule, LoadTarget, Protected, RawMemory};
use esp_amp::layout::Region;
use esp_amp::shm::Shm;
use esp_amp::system::lifecycle::{ImagePort, SubcoreHandle};
use esp_amp::system::panic::PanicDump;
use esp_amp_qemu::boot::Hart1;
use esp_amp_qemu::layout::*;
use esp_amp_qemu::{self as port, uprintln, ClintLine, QemuPlatform};

/// Fails the run with `code` after saying why.
pub fn fail(code: u16, why: core::fmt::Arguments<'_>) -> ! {
    uprintln!("FAIL: {}", why);
    port::exit(Err(code))
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
        // The QEMU subcore records no configuration: the pair is built together by the xtask.
        config: None,
    }
}

/// The subcore (hart 1) behind the project's checked loader.
pub type Sub = SubcoreHandle<'static, ImagePort<'static, Hart1, RawMemory>>;

/// The subcore handle: checked loader into the subcore region, hart 1 as the core, and
/// the panic dump (cleared before every start).
pub fn subcore() -> Sub {
    // SAFETY: the subcore region is reserved by the layout for the subcore image: not
    // linked into any maincore image, not a heap, and hart 1 is parked (or stopped) while
    // the loader writes it.
    let mem = unsafe { RawMemory::new(&load_target()) };
    let dump =
        PanicDump::new(port::panic_dump()).unwrap_or_else(|e| fail(1, format_args!("panic dump: {e:?}")));
    SubcoreHandle::new(ImagePort::new(Hart1, mem, load_target())).with_panic_dump(dump)
}

/// Hart 0 as the maincore of the shared examples (`amp_examples::maincore`).
pub struct QemuMain;

impl MainBoard for QemuMain {
    type Line = ClintLine;
    type Clock = QemuPlatform;
    type Port = ImagePort<'static, Hart1, RawMemory>;

    fn line(&self) -> ClintLine {
        ClintLine::this_hart()
    }
    fn clock(&self) -> QemuPlatform {
        QemuPlatform
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
    fn log(&self, line: core::fmt::Arguments<'_>) {
        uprintln!("[hart 0] {}", line);
    }
    fn routed(&self, line: &[u8]) {
        uprintln!("[sub] {}", esp_amp::text::Escaped(line));
    }
    fn fail(&self, code: u16, why: core::fmt::Arguments<'_>) -> ! {
        fail(code, why)
    }
    fn instructions(&self) -> Option<u64> {
        Some(port::instret())
    }
    fn wait_checks(&self) -> Option<u32> {
        Some(port::wait_checks())
    }
    fn subcore_code(&self) -> [Option<Region>; 2] {
        [Some(Region { start: SUB_START, end: SUB_START + SUB_SIZE }), None]
    }
    fn subcore_fault(&self) -> FaultSignature {
        // The QEMU subcore's fault is a store to address 4 (not RAM on `virt`), on hart 1.
        FaultSignature { mcause: 7, mtval: Some(4), hart: Some(1) }
    }
    fn subcore_print_fallback(&self) -> bool {
        true
    }
    fn subcore_running(&self) -> Option<bool> {
        Some(Hart1::running())
    }
}

/// A maincore example binary: says which, runs `example` against the subcore (hart 1),
/// prints `PASS` and exits 0 through the test device (a failure exits earlier, non-zero).
pub fn run(name: &str, example: impl FnOnce(&QemuMain, &mut Sub)) -> ! {
    uprintln!("[hart 0] esp-amp on QEMU virt: {name} pair, maincore up");
    let mut sub = subcore();
    example(&QemuMain, &mut sub);
    uprintln!("PASS");
    port::exit(Ok(()))
}
