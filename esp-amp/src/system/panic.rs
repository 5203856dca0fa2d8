//! Subcore panic reports (docs/protocol.md §8.5): the dump at the end of shared memory, written by the
//! subcore, decoded and printed by the maincore.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0x000 | 4 | `is_abort`: non-zero → `abort_details` is the message |
//! | 0x004 | 4 | `stack_dump_length` (≤ 1024) |
//! | 0x008 | 248 | `abort_details`, NUL-terminated |
//! | 0x100 | 256 | registers: 37 words (`RvExcFrame`), plus 10 more CSRs on ESP32-P4 |
//! | 0x200 | 1024 | stack bytes from the trapping `sp` upward |
//!
//! Differences from C, all on the safe side: the maincore clears the header before each
//! start ([`PanicDump::clear`]), and an exception dump writes `is_abort = 0`, so a stale
//! flag (cold boot, an earlier abort) never turns a real exception into a garbage abort
//! message; the decoder bounds every length it reads ([`PanicReport::decode`] accepts any
//! bytes); the P4 extra CSRs are printed from where they are.
//!
//! The report ([`PanicReport`]'s `Display`) is the text of C's default handler byte for
//! byte (`esp_amp_panic.c`, `subcore_panic_print`), so the IDF monitor and log parsers
//! that read C's reports read ours: each register as `NAME    : 0x%08x` followed by a space,
//! or by a newline after every fourth (so the last of the 37 keeps its trailing space), the
//! P4 block after one newline in the same style, then `\n\nStack memory:\n`, lines of
//! `%08x: ` and eight words, a blank line and `ELF file SHA256: No SHA256 Embedded`. Where
//! C prints a whole last line of eight words although the dumped length ends inside it,
//! so do we, with the bytes that follow in the dump's 1024-byte stack area (inside the
//! dump region, as in C; zeros where a decoded input is shorter). Two deliberate
//! differences in values, never in layout: C prints the P4 CSR block from the address of
//! a local pointer (`&exframe`) rather than from the dump, which gives the pointer and
//! whatever follows it on the maincore's stack, where we print the ten CSRs the dump
//! holds; and a message without a NUL in its 248 bytes ends there, where C reads on into
//! the registers.
//!
//! ```
//! use esp_amp::shm::Shm;
//! use esp_amp::system::panic::{PanicDump, PanicReport, DUMP_SIZE};
//! let mut mem = [0u32; DUMP_SIZE / 4];
//! // SAFETY: `mem` is aligned, valid and outlives `shm`.
//! let shm = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_E560, DUMP_SIZE as u32) };
//! let dump = PanicDump::new(shm).unwrap();
//! dump.write_abort(format_args!("assert failed on subcore: {} {}", "main", 42));
//! let report = dump.read();
//! assert!(report.is_abort());
//! assert_eq!(report.message(), b"assert failed on subcore: main 42");
//! assert!(report.to_string().starts_with("assert failed on subcore: main 42\nCore 1 register dump:"));
//! ```

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::port::InterruptLine;
use crate::shm::{Shm, ShmError};
use crate::sw_intr::{SwIntrHandler, SwIntrId};

/// Bytes of the dump that are used (the region is 4 KiB).
pub const DUMP_SIZE: usize = 0x600;
/// Size of `abort_details` (the message may use 247 bytes plus its NUL).
pub const MESSAGE_SIZE: usize = 248;
/// Words of the RISC-V exception frame.
pub const FRAME_WORDS: usize = 37;
/// Extra CSR words of the ESP32-P4 frame.
pub const P4_EXTRA_WORDS: usize = 10;
/// Largest stack dump.
pub const STACK_DUMP_SIZE: usize = 1024;

const OFF_IS_ABORT: u32 = 0x000;
const OFF_STACK_LEN: u32 = 0x004;
const OFF_MESSAGE: u32 = 0x008;
const OFF_REGS: u32 = 0x100;
const OFF_STACK: u32 = 0x200;

/// Register names of the 37-word frame, in order, as the C report prints them.
pub const FRAME_NAMES: [&str; FRAME_WORDS] = [
    "MEPC", "RA", "SP", "GP", "TP", "T0", "T1", "T2", "S0/FP", "S1", "A0", "A1", "A2", "A3", "A4", "A5",
    "A6", "A7", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "T3", "T4", "T5", "T6",
    "MSTATUS", "MTVEC", "MCAUSE", "MTVAL", "MHARTID",
];

/// Names of the ESP32-P4 extra CSRs (frame words 37..47).
pub const P4_EXTRA_NAMES: [&str; P4_EXTRA_WORDS] =
    ["LDPC0", "LDTVAL0", "LDPC1", "LDTVAL1", "STPC0", "STTVAL0", "STPC1", "STTVAL1", "STPC2", "STTVAL2"];

/// Index of `SP`, `MCAUSE` in the frame.
const SP: usize = 2;
const MCAUSE: usize = 34;

/// The dump region, seen from either core.
///
/// ```
/// use esp_amp::shm::Shm;
/// use esp_amp::system::panic::{PanicDump, DUMP_SIZE};
/// let mut mem = [0u32; DUMP_SIZE / 4];
/// // SAFETY: `mem` is aligned, valid and outlives `region`.
/// let region = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4FF7_F000, DUMP_SIZE as u32) };
/// let dump = PanicDump::new(region).unwrap();
/// dump.clear(); // maincore, before starting the subcore
/// dump.write_abort(format_args!("assert failed: {}", "n < 4")); // subcore, when it fails
/// let report = dump.read(); // maincore, after the panic interrupt
/// assert_eq!(report.message(), b"assert failed: n < 4");
/// ```
#[derive(Clone, Copy)]
pub struct PanicDump<'r> {
    shm: Shm<'r>,
    base: u32,
}

impl<'r> PanicDump<'r> {
    /// The dump at the start of `region` (the panic-dump region, at least
    /// [`DUMP_SIZE`] bytes, 4-byte aligned).
    pub fn new(region: Shm<'r>) -> Result<Self, ShmError> {
        let base = region.device_base();
        region.slice(base, DUMP_SIZE as u32)?;
        if base % 4 != 0 {
            return Err(ShmError::Misaligned { addr: base, align: 4 });
        }
        Ok(PanicDump { shm: region, base })
    }

    fn put(&self, off: u32, v: u32) {
        // In bounds and aligned: checked in `new`, offsets are constants below DUMP_SIZE.
        let _ = self.shm.write_u32(self.base + off, v);
    }

    /// Maincore, before starting the subcore: no panic recorded.
    pub fn clear(&self) {
        self.put(OFF_IS_ABORT, 0);
        self.put(OFF_STACK_LEN, 0);
        let _ = self.shm.write_bytes(self.base + OFF_MESSAGE, &[0]);
    }

    /// Subcore: records a software abort (Rust panic, assert, abort) with its message,
    /// cut at 247 bytes. The registers and stack are left as they are (zero after
    /// [`PanicDump::clear`]) unless written with [`PanicDump::write_frame`].
    pub fn write_abort(&self, message: fmt::Arguments<'_>) {
        self.write_message(&Message::from_fmt(message));
    }

    /// Subcore: records a software abort whose message is `"<what> at <file>:<line>"`,
    /// cut at 247 bytes, without `core::fmt` (for the smallest subcores: see the
    /// `panic-handler-location` feature). Otherwise as [`PanicDump::write_abort`].
    pub fn write_abort_at(&self, what: &str, file: &str, line: u32) {
        let mut m = Message::new();
        m.push_at(what, file, line);
        self.write_message(&m);
    }

    /// Subcore: records a Rust panic: `"panic on subcore at <file>:<line>"`, then, when
    /// given, `": <message>"`, cut at 247 bytes (the location first, so a long message
    /// cannot push it out). What both panic-handler features write.
    pub fn write_panic(&self, file: &str, line: u32, message: Option<fmt::Arguments<'_>>) {
        self.write_message(&Message::panic(file, line, message));
    }

    fn write_message(&self, m: &Message) {
        let _ = self.shm.write_bytes(self.base + OFF_MESSAGE, m.with_nul());
        self.put(OFF_IS_ABORT, 1);
    }

    /// Subcore: records the registers (37 words, or 47 on ESP32-P4) and up to 1024 bytes of
    /// stack from the frame's `sp`. `is_abort` is left alone; an exception that is not an
    /// abort calls [`PanicDump::mark_exception`] too.
    pub fn write_frame(&self, regs: &[u32], stack: &[u8]) {
        for (i, r) in regs.iter().take(FRAME_WORDS + P4_EXTRA_WORDS).enumerate() {
            self.put(OFF_REGS + 4 * i as u32, *r);
        }
        let stack = &stack[..stack.len().min(STACK_DUMP_SIZE)];
        let _ = self.shm.write_bytes(self.base + OFF_STACK, stack);
        self.put(OFF_STACK_LEN, stack.len() as u32);
    }

    /// Subcore, exception path: the report is an exception, not an abort (C leaves a
    /// stale flag here).
    pub fn mark_exception(&self) {
        self.put(OFF_IS_ABORT, 0);
    }

    /// Copies the dump out (volatile reads) and decodes it; never fails.
    pub fn read(&self) -> PanicReport {
        let mut raw = [0u8; DUMP_SIZE];
        let _ = self.shm.read_bytes(self.base, &mut raw);
        PanicReport::decode(&raw)
    }
}

/// Writes into a fixed buffer, dropping what does not fit and keeping room for a NUL.
struct Message {
    buf: [u8; MESSAGE_SIZE],
    len: usize,
}

impl Message {
    fn new() -> Self {
        Message { buf: [0; MESSAGE_SIZE], len: 0 }
    }

    fn from_fmt(args: fmt::Arguments<'_>) -> Self {
        let mut m = Message::new();
        let _ = m.write_fmt(args);
        m
    }

    fn panic(file: &str, line: u32, message: Option<fmt::Arguments<'_>>) -> Self {
        let mut m = Message::new();
        m.push_at(PANIC_PREFIX, file, line);
        if let Some(args) = message {
            m.push(b": ");
            let _ = m.write_fmt(args);
        }
        m
    }

    /// Appends what fits (the last byte stays free for the NUL). Panic-free (see
    /// `crate::bytes`): this runs in the panic handler.
    fn push(&mut self, s: &[u8]) {
        let room = self.buf.get_mut(self.len..MESSAGE_SIZE - 1).unwrap_or_default();
        self.len += crate::bytes::copy_prefix(room, s);
    }

    /// Appends `"<what> at <file>:<line>"` without `core::fmt`.
    fn push_at(&mut self, what: &str, file: &str, line: u32) {
        // A u32 has at most 10 digits; written from the right.
        let mut digits = [0u8; 10];
        let mut at = 0;
        let mut n = line;
        for (i, d) in digits.iter_mut().enumerate().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
            at = i;
            if n == 0 {
                break;
            }
        }
        for part in [what.as_bytes(), b" at ", file.as_bytes(), b":", digits.get(at..).unwrap_or_default()] {
            self.push(part);
        }
    }

    /// The text, without its NUL.
    fn text(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The text and its NUL (`len < MESSAGE_SIZE` always).
    fn with_nul(&self) -> &[u8] {
        self.buf.get(..self.len + 1).unwrap_or(&self.buf)
    }
}

impl Write for Message {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

/// How a Rust panic's message starts: `"panic on subcore at <file>:<line>"`.
pub const PANIC_PREFIX: &str = "panic on subcore";

/// A decoded panic dump.
///
/// ```
/// use esp_amp::system::panic::{PanicReport, DUMP_SIZE};
/// // A dump whose message says what happened (the subcore writes it with
/// // `PanicDump::write_abort` or its panic handler).
/// let mut raw = [0u8; DUMP_SIZE];
/// raw[0] = 1; // is_abort
/// let text = b"panic on subcore at src/main.rs:7";
/// raw[8..8 + text.len()].copy_from_slice(text); // after is_abort and the stack length
/// let report = PanicReport::decode(&raw);
/// assert!(report.is_abort());
/// assert_eq!(report.message(), text);
/// assert!(report.to_string().starts_with("panic on subcore at src/main.rs:7\nCore 1 register dump:"));
/// ```
#[derive(Clone)]
pub struct PanicReport {
    is_abort: bool,
    message: [u8; MESSAGE_SIZE],
    message_len: usize,
    regs: [u32; FRAME_WORDS + P4_EXTRA_WORDS],
    stack: [u8; STACK_DUMP_SIZE],
    stack_len: usize,
    stack_len_claimed: u32,
    p4_extra: bool,
}

impl PanicReport {
    /// Decodes a dump. Accepts any bytes: a short input reads as zeros past its end, a
    /// message without NUL ends at 248 bytes, a stack length above 1024 is cut to 1024
    /// (the claimed value stays available). The whole 1024-byte stack area is kept, as the
    /// report's last line may show words past the dumped length (as C's does).
    pub fn decode(raw: &[u8]) -> Self {
        let byte = |i: usize| raw.get(i).copied().unwrap_or(0);
        let word = |off: usize| u32::from_le_bytes([byte(off), byte(off + 1), byte(off + 2), byte(off + 3)]);
        let mut message = [0u8; MESSAGE_SIZE];
        for (i, m) in message.iter_mut().enumerate() {
            *m = byte(OFF_MESSAGE as usize + i);
        }
        let message_len = message.iter().position(|&b| b == 0).unwrap_or(MESSAGE_SIZE);
        let mut regs = [0u32; FRAME_WORDS + P4_EXTRA_WORDS];
        for (i, r) in regs.iter_mut().enumerate() {
            *r = word(OFF_REGS as usize + 4 * i);
        }
        let stack_len_claimed = word(OFF_STACK_LEN as usize);
        let stack_len = (stack_len_claimed as usize).min(STACK_DUMP_SIZE);
        let mut stack = [0u8; STACK_DUMP_SIZE];
        for (i, s) in stack.iter_mut().enumerate() {
            *s = byte(OFF_STACK as usize + i);
        }
        PanicReport {
            is_abort: word(OFF_IS_ABORT as usize) != 0,
            message,
            message_len,
            regs,
            stack,
            stack_len,
            stack_len_claimed,
            p4_extra: false,
        }
    }

    /// Also print the ESP32-P4 extra CSRs.
    pub fn with_p4_extra(mut self, on: bool) -> Self {
        self.p4_extra = on;
        self
    }

    /// `true` for a software abort (panic, assert, abort): [`PanicReport::message`] says why.
    pub fn is_abort(&self) -> bool {
        self.is_abort
    }
    /// The abort message (bytes up to the NUL).
    pub fn message(&self) -> &[u8] {
        &self.message[..self.message_len]
    }
    /// The 37 frame registers (see [`FRAME_NAMES`]).
    pub fn frame(&self) -> &[u32; FRAME_WORDS] {
        self.regs[..FRAME_WORDS].try_into().unwrap_or(&[0; FRAME_WORDS])
    }
    /// The ESP32-P4 extra CSRs (see [`P4_EXTRA_NAMES`]).
    pub fn p4_extra(&self) -> &[u32] {
        &self.regs[FRAME_WORDS..]
    }
    /// `mcause`.
    pub fn mcause(&self) -> u32 {
        self.regs[MCAUSE]
    }
    /// The stack bytes (at most 1024) from `sp` upward.
    pub fn stack(&self) -> &[u8] {
        &self.stack[..self.stack_len]
    }
    /// The stack length the dump claims (may exceed what was kept).
    pub fn stack_len_claimed(&self) -> u32 {
        self.stack_len_claimed
    }

    /// The exception name for `mcause` (the ESP32-P4 table is a superset of the LP one).
    pub fn reason(&self) -> &'static str {
        exception_name(self.mcause(), self.p4_extra)
    }
}

/// The C report's exception names: the LP table, plus the standard names on ESP32-P4.
pub fn exception_name(mcause: u32, p4: bool) -> &'static str {
    const UNKNOWN: &str = "Unhandled interrupt/Unknown cause";
    let lp = match mcause {
        2 => Some("Illegal instruction"),
        3 => Some("Breakpoint"),
        4 => Some("Load address misaligned"),
        5 => Some("Load access fault"),
        6 => Some("Store address misaligned"),
        7 => Some("Store access fault"),
        _ => None,
    };
    let p4_only = match mcause {
        0 => Some("Instruction address misaligned"),
        1 => Some("Instruction access fault"),
        8 => Some("Environment call from U-mode"),
        9 => Some("Environment call from S-mode"),
        11 => Some("Environment call from M-mode"),
        12 => Some("Instruction page fault"),
        13 => Some("Load page fault"),
        15 => Some("Store page fault"),
        _ => None,
    };
    lp.or(if p4 { p4_only } else { None }).unwrap_or(UNKNOWN)
}

/// C's register lines: each entry ends with a space, or with a newline after every fourth
/// (C's `not_last = (x + 1) % 4`), so a block whose length is not a multiple of 4 ends in a
/// space and no newline.
fn write_regs(f: &mut fmt::Formatter<'_>, names: &[&str], values: &[u32]) -> fmt::Result {
    for (i, (name, v)) in names.iter().zip(values).enumerate() {
        let sep = if (i + 1) % 4 == 0 { '\n' } else { ' ' };
        write!(f, "{name:<8}: 0x{v:08x}{sep}")?;
    }
    Ok(())
}

/// Words per stack line, as C.
const STACK_WORDS_PER_LINE: usize = 8;
// A stack line never runs past the stack area (the report's indexing relies on it).
const _: () = assert!(STACK_DUMP_SIZE % (4 * STACK_WORDS_PER_LINE) == 0);

/// The report in the C default handler's format (ends with the idf-monitor marker).
impl fmt::Display for PanicReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_abort {
            // The message is the peer's bytes: escaped, so it cannot drive the terminal
            // or fake lines of the report (`crate::text`).
            write!(f, "{}", crate::text::Escaped(self.message()))?;
            f.write_str("\n")?;
        } else {
            writeln!(f, "Guru Meditation Error: ON Subcore panic'ed {}", self.reason())?;
        }
        f.write_str("Core 1 register dump:\n")?;
        write_regs(f, &FRAME_NAMES, self.frame())?;
        if self.p4_extra {
            f.write_str("\n")?;
            write_regs(f, &P4_EXTRA_NAMES, self.p4_extra())?;
        }
        f.write_str("\n\nStack memory:\n")?;
        let sp = self.regs[SP];
        const LINE: usize = 4 * STACK_WORDS_PER_LINE;
        // Whole lines, also the last one when the length ends inside it (C's loop); the
        // area is 1024 bytes, a multiple of a line, so a line never leaves it.
        for start in (0..self.stack_len).step_by(LINE) {
            write!(f, "{:08x}: ", sp.wrapping_add(start as u32))?;
            for (y, w) in self.stack[start..start + LINE].chunks_exact(4).enumerate() {
                let sep = if y + 1 == STACK_WORDS_PER_LINE { '\n' } else { ' ' };
                write!(f, "0x{:08x}{sep}", u32::from_le_bytes([w[0], w[1], w[2], w[3]]))?;
            }
        }
        f.write_str("\nELF file SHA256: No SHA256 Embedded\n")
    }
}

/// One defmt record: the message (as an escaped byte string: the peer's bytes cannot
/// drive the host's terminal) or the exception, then every frame register by name, then
/// how many stack bytes the dump holds (read them with [`PanicReport::stack`]).
#[cfg(feature = "defmt")]
#[cfg_attr(docsrs, doc(cfg(feature = "defmt")))]
impl defmt::Format for PanicReport {
    fn format(&self, f: defmt::Formatter<'_>) {
        if self.is_abort {
            defmt::write!(f, "subcore abort: {=[u8]:a}", self.message());
        } else {
            defmt::write!(f, "subcore exception: {=str}", self.reason());
        }
        for (name, value) in FRAME_NAMES.iter().zip(self.frame()) {
            defmt::write!(f, " {=str}={=u32:#010x}", name, value);
        }
        defmt::write!(f, "; {=usize} stack bytes", self.stack_len);
    }
}

impl fmt::Debug for PanicReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicReport")
            .field("is_abort", &self.is_abort)
            .field("message", &core::str::from_utf8(self.message()))
            .field("mcause", &self.mcause())
            .field("stack_len", &self.stack_len)
            .finish()
    }
}

/// Maincore: the handler of software interrupt 28 (C's panic ISR). It records the panic
/// and disables the whole interrupt line (no more RPMsg or events from a dead core);
/// [`PanicMonitor::take`] then tells task context, which stops the subcore and reports
/// (see [`crate::system::lifecycle::SubcoreHandle::handle_panic`]).
pub struct PanicMonitor<L: InterruptLine> {
    line: L,
    panicked: AtomicBool,
}

impl<L: InterruptLine> PanicMonitor<L> {
    /// A monitor that disables `line` on a panic.
    pub const fn new(line: L) -> Self {
        PanicMonitor { line, panicked: AtomicBool::new(false) }
    }

    /// `true` if a panic was signalled and not yet taken.
    pub fn panicked(&self) -> bool {
        // Acquire pairs with the Release in the handler: whoever sees the flag also sees
        // the line disabled (the dump itself is written by the other core before it
        // raised the interrupt, which the line's ordering contract covers).
        self.panicked.load(Ordering::Acquire)
    }

    /// Takes the panic flag (`true` once per signalled panic).
    pub fn take(&self) -> bool {
        self.panicked.swap(false, Ordering::AcqRel)
    }

    /// Re-enables the line after the subcore was stopped and reset (before restarting it).
    pub fn rearm(&self) {
        self.panicked.store(false, Ordering::Release);
        self.line.enable();
    }
}

impl<L: InterruptLine + Sync> SwIntrHandler for PanicMonitor<L> {
    fn on_sw_intr(&self, id: SwIntrId) {
        if id == SwIntrId::PANIC {
            self.line.disable();
            self.panicked.store(true, Ordering::Release);
        }
    }
}

/// Subcore: where a panic goes (set once at start-up with [`set_panic_sink`]).
#[derive(Clone, Copy)]
pub struct PanicSink {
    /// The dump region (the maincore cleared it before starting us).
    pub dump: PanicDump<'static>,
    /// Tells the maincore: raises software interrupt 28 (`SwIntr::trigger`).
    pub notify: &'static (dyn Fn() + Sync),
    /// `true` when the port's exception handler writes the register frame (bare-metal
    /// RISC-V only; ignored elsewhere). [`report_abort`] then ends as C's `abort()` does:
    /// it executes `unimp`, and the exception handler, seeing [`abort_pending`], records
    /// the frame and stack, keeps the report an abort, and notifies. With `false` an abort
    /// has no register frame.
    pub frame_by_trap: bool,
}

/// Set once an abort message is in the dump and the core is about to trap for its frame.
static ABORT_PENDING: AtomicBool = AtomicBool::new(false);

/// Subcore, in the exception handler: `true` if this exception is the `unimp` of
/// [`report_abort`] (the dump already holds the abort message: write the frame, but do
/// not [`PanicDump::mark_exception`]).
pub fn abort_pending() -> bool {
    // Only this core writes it, before the trapping instruction (program order).
    ABORT_PENDING.load(Ordering::Relaxed)
}

static SINK: critical_section::Mutex<core::cell::Cell<Option<PanicSink>>> =
    critical_section::Mutex::new(core::cell::Cell::new(None));

/// Subcore: installs where [`report_abort`] (and the `panic-handler` feature's
/// `#[panic_handler]`) write.
pub fn set_panic_sink(sink: PanicSink) {
    critical_section::with(|cs| SINK.borrow(cs).set(Some(sink)));
}

/// A byte sink for panic lines (a UART writer).
pub type PanicConsole = fn(&[u8]);

/// Where panic and abort messages also go on the subcore (see [`set_panic_console`]).
static CONSOLE: critical_section::Mutex<core::cell::Cell<Option<PanicConsole>>> =
    critical_section::Mutex::new(core::cell::Cell::new(None));

/// Subcore: panic and abort messages are also written to `console` (the message, then a
/// newline) before the dump is written. [`print::set_global`](crate::system::print::set_global)
/// installs one that writes to the global printer's fallback (the subcore's UART) while
/// that printer has no service queue: with a queue the maincore prints the report from
/// the dump, as ESP-AMP C's maincore does, and the line is not printed twice.
pub fn set_panic_console(console: Option<PanicConsole>) {
    critical_section::with(|cs| CONSOLE.borrow(cs).set(console));
}

/// Subcore: records an abort with `message` in the dump and notifies the maincore.
/// Returns `false` when no sink is installed (the caller should fall back to its own
/// console). The caller then stops (spins): the maincore will stop the core.
///
/// With [`PanicSink::frame_by_trap`] on a bare-metal RISC-V core this does not return: the
/// exception handler takes over (see there).
pub fn report_abort(message: fmt::Arguments<'_>) -> bool {
    report(&Message::from_fmt(message))
}

/// Subcore: as [`report_abort`], with the message `"<what> at <file>:<line>"` written
/// without `core::fmt` ([`PanicDump::write_abort_at`]).
pub fn report_abort_at(what: &str, file: &str, line: u32) -> bool {
    let mut m = Message::new();
    m.push_at(what, file, line);
    report(&m)
}

/// Subcore: as [`report_abort`] for a Rust panic at `file:line`, with the message when
/// given ([`PanicDump::write_panic`]). What the `#[panic_handler]`s call.
pub fn report_panic(file: &str, line: u32, message: Option<fmt::Arguments<'_>>) -> bool {
    report(&Message::panic(file, line, message))
}

fn report(m: &Message) -> bool {
    if let Some(console) = critical_section::with(|cs| CONSOLE.borrow(cs).get()) {
        console(m.text());
        console(b"\n");
    }
    let Some(sink) = critical_section::with(|cs| SINK.borrow(cs).get()) else { return false };
    sink.dump.write_message(m);
    if sink.frame_by_trap {
        trap_for_frame();
    }
    (sink.notify)();
    true
}

/// Raises an illegal-instruction exception so the port's handler records the frame.
#[cfg(all(target_arch = "riscv32", target_os = "none"))]
fn trap_for_frame() {
    ABORT_PENDING.store(true, Ordering::Relaxed);
    loop {
        // SAFETY: `unimp` only raises an illegal-instruction exception; it touches no
        // memory or register. The asm block is a compiler barrier, so the store above is
        // done first. Should the handler return, the loop traps again.
        unsafe { core::arch::asm!("unimp") };
    }
}

/// Elsewhere there is no frame to capture: notify directly.
#[cfg(not(all(target_arch = "riscv32", target_os = "none")))]
fn trap_for_frame() {}

/// The subcore's Rust panic handler (feature `panic-handler`, bare-metal targets only):
/// the dump's `abort_details` becomes `"panic on subcore at <file>:<line>: <message>"`
/// with `is_abort = 1`, software interrupt 28 tells the maincore, and the core waits to be
/// stopped.
#[cfg(all(feature = "panic-handler", target_os = "none"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let (file, line) = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
    report_panic(file, line, Some(format_args!("{}", info.message())));
    loop {
        core::hint::spin_loop();
    }
}

/// The smallest subcore panic handler (feature `panic-handler-location`, bare-metal targets
/// only, ignored when `panic-handler` is on): the same report with only
/// `"panic on subcore at <file>:<line>"`, so no `core::fmt` code is linked for it (the
/// message of a panic in core, such as a bounds check, still links its arguments'
/// formatting code: docs/benchmarks.md, "Panic location").
#[cfg(all(feature = "panic-handler-location", not(feature = "panic-handler"), target_os = "none"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let (file, line) = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
    report_panic(file, line, None);
    loop {
        core::hint::spin_loop();
    }
}
