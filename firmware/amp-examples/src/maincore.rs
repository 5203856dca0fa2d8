//! The maincore halves of the examples, generic over a [`MainBoard`], so one text runs on
//! every port (QEMU's hart 0, the ESP32 HP core) and the QEMU runs check the code the chips
//! build. Each takes the subcore handle and the subcore image (an ELF or an ESP image: the
//! loader tells them apart), returns when every check passed and the subcore is stopped,
//! and fails through [`MainBoard::fail`] otherwise.

mod basic;
mod print;
mod rpc;
mod stack;
mod virtqueue;

pub use basic::basic;
pub use print::print;
pub use rpc::rpc;
pub use stack::stack;
pub use virtqueue::virtqueue;

use esp_amp::layout::Region;
use esp_amp::port::{InterruptLine, Platform};
use esp_amp::shm::Shm;
use esp_amp::system::lifecycle::{SubcoreHandle, SubcorePort};

/// The default time limit of a wait in the examples, in ms (generous: QEMU's parallel run
/// may share the machine with other jobs).
pub const TIMEOUT_MS: u32 = 2000;

/// The exception the subcore's [`Board::fault`](crate::Board::fault) raises, as its dump
/// frame reports it.
#[derive(Debug, Clone, Copy)]
pub struct FaultSignature {
    pub mcause: u32,
    /// `mtval`, if the port's fault sets a known one.
    pub mtval: Option<u32>,
    /// `mhartid` of the subcore, if the port knows it.
    pub hart: Option<u32>,
}

/// What a maincore example needs from its port.
pub trait MainBoard {
    /// The interrupt line towards the subcore.
    type Line: InterruptLine + Copy + Sync;
    /// Time and idling.
    type Clock: Platform + Copy + Sync;
    /// The subcore's loader and core control; firmware is an image file.
    type Port: SubcorePort<Firmware = [u8]>;

    fn line(&self) -> Self::Line;
    fn clock(&self) -> Self::Clock;
    fn sw_intr_header(&self) -> Shm<'static>;
    fn sys_info_pool(&self) -> Shm<'static>;
    /// The RTC SysInfo pool, where the subcore is an LP core.
    fn rtc_pool(&self) -> Option<Shm<'static>>;
    /// Runs `body` with `handler` as the software-interrupt handler, the line and
    /// interrupts enabled.
    fn with_interrupts<R>(&self, handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R;
    /// A progress line on the maincore console (the port may prefix it with its name).
    fn log(&self, line: core::fmt::Arguments<'_>);
    /// A line the subcore printed through the service queue: `[sub] <line>`, as C's print
    /// routing shows it. The bytes are the peer's: print them through
    /// `esp_amp::text::Escaped`.
    fn routed(&self, line: &[u8]);
    /// Ends the run as failed (`code` is the exit status where the port has one).
    fn fail(&self, code: u16, why: core::fmt::Arguments<'_>) -> !;
    /// A retired-instruction counter, if the port has a meaningful one.
    fn instructions(&self) -> Option<u64> {
        None
    }
    /// How many times the clock's `wait_irq` has looked at its wake-up condition, if the
    /// port counts it (QEMU): a sleeping wait looks once per wake-up.
    fn wait_checks(&self) -> Option<u32> {
        None
    }
    /// Where the subcore's code may lie (a reported `mepc` must be inside one of them).
    fn subcore_code(&self) -> [Option<Region>; 2];
    /// The exception the subcore half of `basic` raises on request.
    fn subcore_fault(&self) -> FaultSignature;
    /// Whether the subcore's `print!` has a fallback before the service queue exists.
    fn subcore_print_fallback(&self) -> bool {
        false
    }
    /// Whether the subcore core still executes, if the port can tell.
    fn subcore_running(&self) -> Option<bool> {
        None
    }
}

/// `check!(board, code, condition, "why {}", x)`: fails the run with `code` unless
/// `condition` holds.
macro_rules! check {
    ($b:expr, $code:expr, $cond:expr, $($why:tt)*) => {
        if !$cond {
            $b.fail($code, format_args!($($why)*));
        }
    };
}
pub(crate) use check;

/// `result.or_fail(b, "what")`: the value, or the run fails with code 7 and the error.
pub(crate) trait OrFail<T> {
    fn or_fail<B: MainBoard>(self, b: &B, what: &str) -> T;
}

impl<T, E: core::fmt::Debug> OrFail<T> for Result<T, E> {
    #[inline]
    fn or_fail<B: MainBoard>(self, b: &B, what: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => fail_with(b, what, &e),
        }
    }
}

/// The failure of [`OrFail`], once per board rather than once per error type.
#[inline(never)]
fn fail_with<B: MainBoard>(b: &B, what: &str, e: &dyn core::fmt::Debug) -> ! {
    b.fail(7, format_args!("{what}: {e:?}"))
}

/// Waits (sleeping between interrupts) until `done()` holds or [`TIMEOUT_MS`] passed; the
/// caller checks the outcome itself.
pub(crate) fn wait_for<B: MainBoard>(b: &B, mut done: impl FnMut() -> bool) {
    let clock = b.clock();
    let start = clock.now_ms();
    loop {
        // Taken before the check: an interrupt after it ends the sleep at once.
        let epoch = clock.irq_epoch();
        if done() || clock.now_ms().wrapping_sub(start) >= TIMEOUT_MS {
            return;
        }
        clock.wait_irq(epoch, Some(10));
    }
}

/// Loads `image` (checked by the loader) and starts the subcore.
pub(crate) fn load_and_start<B: MainBoard>(b: &B, sub: &mut SubcoreHandle<'_, B::Port>, image: &[u8]) {
    sub.load(image).unwrap_or_else(|e| b.fail(4, format_args!("load: {e:?}")));
    sub.start().unwrap_or_else(|e| b.fail(5, format_args!("start: {e:?}")));
}

/// Stops the subcore and fails if the port can tell it still runs.
pub(crate) fn stop<B: MainBoard>(b: &B, sub: &mut SubcoreHandle<'_, B::Port>) {
    sub.stop();
    check!(b, 6, b.subcore_running() != Some(true), "the subcore still runs after its stop");
}

/// Whether `addr` lies in the subcore's code.
pub(crate) fn in_subcore_code<B: MainBoard>(b: &B, addr: u32) -> bool {
    b.subcore_code().iter().flatten().any(|r| r.contains(addr))
}

/// A copy of `image` in `scratch` whose first segment is moved to `to`, for an ELF (program
/// header 0) or an ESP image (segment 0); `None` if the image is neither or too big.
pub fn misplaced_copy<'s>(image: &[u8], scratch: &'s mut [u8], to: u32) -> Option<&'s [u8]> {
    let copy = scratch.get_mut(..image.len())?;
    copy.copy_from_slice(image);
    let word = |c: &[u8], at: usize| c.get(at..at + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    if copy.starts_with(b"\x7fELF") {
        // e_phoff, then p_vaddr and p_paddr of program header 0.
        let phoff = word(copy, 0x1c)? as usize;
        let addrs = copy.get_mut(phoff + 8..phoff + 16)?;
        addrs[..4].copy_from_slice(&to.to_le_bytes());
        addrs[4..].copy_from_slice(&to.to_le_bytes());
    } else if copy.first() == Some(&esp_amp::image::esp::MAGIC) {
        // Segment 0's load address follows the headers (the checksum covers segment data
        // only, so the copy stays well formed).
        let at = esp_amp::image::esp::HEADER_SIZE;
        copy.get_mut(at..at + 4)?.copy_from_slice(&to.to_le_bytes());
    } else {
        return None;
    }
    Some(copy)
}
