//! Subcore print routing (docs/protocol.md §8.4): `print!`/`println!` lines travel through the
//! service queue and the maincore prints them with a prefix.
//!
//! Line assembly and drop rules are C's, byte for byte:
//! - NUL bytes are ignored;
//! - at the first byte of a line a queue buffer is reserved, retrying for up to 10 ms
//!   (C's figure; [`Printer::with_reserve_timeout`] changes it);
//!   if none frees up, that byte is dropped (and counted), and the next byte tries again;
//! - a line is sent when it reaches 123 bytes or ends with `\n`; the `\n` becomes a NUL,
//!   a NUL terminator follows, and `param_len` is the line length + 1;
//! - when the service queue is not up, bytes go to a fallback (the subcore's own UART).
//!
//! The reserved buffer is parked in the queue (a [`crate::queue::TxBuf`] dropped unsent
//! is handed out again by the next alloc), so the line is guaranteed its buffer, as in C.

use core::cell::RefCell;
use core::fmt;

use super::service::{send_request, ServiceProducer, SERVICE_PRINT};
use crate::port::wait_until;
use crate::port::Platform;
use crate::queue::QueueError;

/// A line is sent at this many bytes (C's `pos == 123`).
pub const LINE_MAX: usize = 123;
/// How long a line start waits for a free buffer, by default (C's figure).
pub const RESERVE_TIMEOUT_MS: u32 = 10;

/// Where bytes go while the service queue is not up.
pub type Fallback<'r> = &'r (dyn Fn(&[u8]) + Sync);

/// What [`Printer`] counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PrintStats {
    /// Lines sent.
    pub lines: u32,
    /// Bytes dropped because no buffer freed up in time (10 ms by default).
    pub dropped: u32,
    /// Bytes written to the fallback.
    pub fallback: u32,
}

/// The subcore's print sink: assembles lines and sends them as print requests.
pub struct Printer<'r> {
    tx: Option<ServiceProducer<'r>>,
    platform: Option<&'r (dyn Platform + Sync)>,
    reserve_timeout_ms: u32,
    fallback: Option<Fallback<'r>>,
    line: [u8; LINE_MAX + 1],
    pos: usize,
    reserved: bool,
    stats: PrintStats,
}

impl<'r> Printer<'r> {
    /// A printer over the service queue (`None`: the service is not up, everything goes to
    /// the fallback). Without a platform (see [`Printer::with_platform`]) a line start
    /// tries once for a buffer instead of waiting 10 ms.
    pub fn new(tx: Option<ServiceProducer<'r>>) -> Self {
        Printer {
            tx,
            platform: None,
            reserve_timeout_ms: RESERVE_TIMEOUT_MS,
            fallback: None,
            line: [0; LINE_MAX + 1],
            pos: 0,
            reserved: false,
            stats: PrintStats::default(),
        }
    }

    /// The clock for the wait at a line start (10 ms by default).
    pub fn with_platform(mut self, platform: &'r (dyn Platform + Sync)) -> Self {
        self.platform = Some(platform);
        self
    }

    /// How long a line start waits for a free buffer ([`RESERVE_TIMEOUT_MS`] unless set):
    /// longer where the maincore may be descheduled for a while (a host process), shorter
    /// where a print must never hold the subcore up.
    pub fn with_reserve_timeout(mut self, ms: u32) -> Self {
        self.reserve_timeout_ms = ms;
        self
    }

    /// Where bytes go while the service queue is not up (C: the LP or ROM UART).
    pub fn with_fallback(mut self, fallback: Fallback<'r>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Counters.
    pub fn stats(&self) -> PrintStats {
        self.stats
    }

    /// One byte, with C's rules.
    pub fn put(&mut self, b: u8) {
        if b == 0 {
            return;
        }
        let Some(tx) = &self.tx else {
            if let Some(f) = self.fallback {
                f(&[b]);
                self.stats.fallback += 1;
            }
            return;
        };
        if !self.reserved {
            self.reserved = reserve(tx, self.platform, self.reserve_timeout_ms);
            if !self.reserved {
                self.stats.dropped += 1;
                return;
            }
        }
        self.line[self.pos] = b;
        self.pos += 1;
        if self.pos == LINE_MAX || b == b'\n' {
            let pos = self.pos;
            self.line[pos] = 0;
            if self.line[pos - 1] == b'\n' {
                self.line[pos - 1] = 0;
            }
            // The parked buffer comes back first, so this cannot fail for lack of space.
            if send_request(tx, SERVICE_PRINT, &self.line[..pos + 1]).is_ok() {
                self.stats.lines += 1;
            }
            self.pos = 0;
            self.reserved = false;
        }
    }
}

/// Reserves a buffer for a new line: alloc (retrying for `timeout_ms` when there is a
/// clock), then drop it unsent, which parks it for the next alloc.
fn reserve(tx: &ServiceProducer<'_>, platform: Option<&(dyn Platform + Sync)>, timeout_ms: u32) -> bool {
    let attempt = || match tx.alloc() {
        Ok(_parked) => Some(Ok(())),
        Err(QueueError::Full | QueueError::Peer(_)) => None,
        Err(e) => Some(Err(e)),
    };
    match platform {
        Some(p) => wait_until(&p, Some(timeout_ms), Some(1), attempt).is_ok(),
        None => matches!(attempt(), Some(Ok(()))),
    }
}

impl fmt::Write for Printer<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.put(b));
        Ok(())
    }
}

static GLOBAL: critical_section::Mutex<RefCell<Option<Printer<'static>>>> =
    critical_section::Mutex::new(RefCell::new(None));

/// Installs the printer behind [`crate::print!`] and [`crate::println!`]; returns the
/// previous one. Panic messages then also go to its fallback while it has no service
/// queue ([`set_panic_console`](crate::system::panic::set_panic_console)).
pub fn set_global(printer: Printer<'static>) -> Option<Printer<'static>> {
    crate::system::panic::set_panic_console(Some(fallback_console));
    critical_section::with(|cs| GLOBAL.borrow(cs).replace(Some(printer)))
}

/// The global printer's fallback, while that printer has no service queue: the panic
/// console (with a queue the maincore prints the report from the dump). Skipped when the
/// panic came from inside the printer (it is borrowed).
fn fallback_console(bytes: &[u8]) {
    critical_section::with(|cs| {
        if let Ok(p) = GLOBAL.borrow(cs).try_borrow() {
            if let Some(Printer { tx: None, fallback: Some(f), .. }) = p.as_ref() {
                f(bytes);
            }
        }
    });
}

/// Removes the global printer (e.g. before the region it uses goes away).
pub fn take_global() -> Option<Printer<'static>> {
    critical_section::with(|cs| GLOBAL.borrow(cs).take())
}

/// The global printer's counters.
pub fn global_stats() -> Option<PrintStats> {
    critical_section::with(|cs| GLOBAL.borrow(cs).borrow().as_ref().map(|p| p.stats()))
}

/// A [`fmt::Write`] handle on the global printer (a whole `write!` is not atomic; the
/// macros are).
pub struct GlobalPrinter;

impl fmt::Write for GlobalPrinter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        critical_section::with(|cs| match GLOBAL.borrow(cs).borrow_mut().as_mut() {
            Some(p) => p.write_str(s),
            None => Ok(()),
        })
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    // One critical section per call, so lines from an interrupt handler do not interleave.
    critical_section::with(|cs| {
        if let Some(p) = GLOBAL.borrow(cs).borrow_mut().as_mut() {
            let _ = fmt::Write::write_fmt(p, args);
        }
    });
}

/// Subcore: prints through the global [`Printer`] (see [`set_global`]); nothing happens
/// before one is installed.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::system::print::_print(::core::format_args!($($arg)*)) };
}

/// Subcore: like [`print!`](crate::print), with a newline.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {
        $crate::system::print::_print(::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}
