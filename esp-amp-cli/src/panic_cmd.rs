//! `espamp panic decode`: a panic dump (raw bytes of the dump region, or a host region file)
//! turned into the C report plus a backtrace with function names and source lines from the
//! subcore's ELF.
//!
//! The subcore keeps no frame records, so the backtrace is what can be proven from the
//! dump: `MEPC` (where the trap hit), `RA` (the caller of the function that trapped, when
//! it had not saved RA yet), then every stack word that points into the ELF's code, from
//! `SP` upward. Those stack words are candidates: a stale return address looks the same as
//! a live one. Each line says which kind it is.

use std::fmt::Write as _;
use std::path::Path;

use addr2line::Loader;
use esp_amp::system::panic::{PanicReport, DUMP_SIZE, MESSAGE_SIZE};
use esp_amp_host::RegionSnapshot;
use object::{Object, ObjectSection, SectionKind};
use serde::Serialize;

/// The dump's fixed part: header, message and register frame (the stack follows).
const MIN_DUMP: usize = 0x200;

#[derive(Serialize)]
pub struct PanicDecode {
    pub is_abort: bool,
    /// The abort message, or the exception name.
    pub message: String,
    pub mcause: u32,
    pub registers: Vec<(String, u32)>,
    /// Stack bytes kept in the dump (the dump may claim more).
    pub stack_len: usize,
    pub backtrace: Vec<Frame>,
    /// The report in the C handler's format.
    pub report: String,
}

#[derive(Serialize)]
pub struct Frame {
    /// "pc" (MEPC), "ra" (the RA register) or "stack" (a code address found on the stack).
    pub source: &'static str,
    pub addr: u32,
    /// Device address of the stack word, for "stack" frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_addr: Option<u32>,
    /// Innermost first when calls were inlined.
    pub functions: Vec<Function>,
}

#[derive(Serialize)]
pub struct Function {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// Executable address ranges of an ELF, and its symboliser.
struct Symbols {
    loader: Loader,
    code: Vec<(u64, u64)>,
}

impl Symbols {
    fn open(elf: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
        let file =
            object::File::parse(&*bytes).map_err(|e| format!("{}: not an ELF file: {e}", elf.display()))?;
        if file.architecture() != object::Architecture::Riscv32 {
            return Err(format!(
                "{}: a {:?} ELF, not a RISC-V 32 subcore",
                elf.display(),
                file.architecture()
            ));
        }
        let code: Vec<(u64, u64)> = file
            .sections()
            .filter(|s| s.kind() == SectionKind::Text && s.size() > 0)
            .map(|s| (s.address(), s.address() + s.size()))
            .collect();
        if code.is_empty() {
            return Err(format!("{}: no code sections", elf.display()));
        }
        let loader = Loader::new(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
        Ok(Symbols { loader, code })
    }

    fn is_code(&self, addr: u32) -> bool {
        self.code.iter().any(|&(s, e)| (s..e).contains(&u64::from(addr)))
    }

    /// Function names and source lines at `probe`, innermost first.
    fn functions(&self, probe: u32) -> Vec<Function> {
        let mut out = Vec::new();
        if let Ok(mut frames) = self.loader.find_frames(u64::from(probe)) {
            while let Ok(Some(f)) = frames.next() {
                let name = f
                    .function
                    .as_ref()
                    .and_then(|n| n.demangle().ok().map(|d| d.into_owned()))
                    .or_else(|| self.loader.find_symbol(u64::from(probe)).map(demangle));
                let Some(name) = name else { continue };
                out.push(Function {
                    name,
                    file: f.location.as_ref().and_then(|l| l.file.map(str::to_owned)),
                    line: f.location.as_ref().and_then(|l| l.line),
                });
            }
        }
        if out.is_empty() {
            if let Some(name) = self.loader.find_symbol(u64::from(probe)) {
                out.push(Function { name: demangle(name), file: None, line: None });
            }
        }
        out
    }
}

fn demangle(name: &str) -> String {
    addr2line::demangle_auto(name.into(), None).into_owned()
}

/// Reads the dump: a raw dump region (at least the 512-byte fixed part) or a host region
/// file, whose dump region is used.
fn read_dump(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if RegionSnapshot::is_region_file(&bytes) {
        let snap = RegionSnapshot::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(snap.panic_dump);
    }
    if bytes.len() < MIN_DUMP {
        return Err(format!(
            "{}: {} bytes is too short for a panic dump (the header and register frame take {MIN_DUMP}; the region is {DUMP_SIZE} bytes)",
            path.display(),
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// A subcore stack no chip has (the largest RAM a subcore has is the P4's, well below).
pub const MAX_STACK_LEN: u32 = 1 << 20;

/// Why `raw` cannot be a panic dump a runtime (ours or ESP-AMP C's) wrote, if it cannot:
/// the abort flag is 0 or 1, the stack length (the stack's size, which may exceed what the
/// dump holds) at most [`MAX_STACK_LEN`], an abort's message ends with a NUL inside its
/// field, and an exception's `mcause` is a RISC-V exception code (0..=15).
pub fn implausible(raw: &[u8]) -> Option<String> {
    let word = |off: usize| raw.get(off..off + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    let (is_abort, stack_len) = (word(0)?, word(4)?);
    if is_abort > 1 {
        return Some(format!("its abort flag is 0x{is_abort:08x}, not 0 or 1"));
    }
    if stack_len > MAX_STACK_LEN {
        return Some(format!("its stack length {stack_len} is over {MAX_STACK_LEN} bytes"));
    }
    if is_abort == 1 {
        let message = raw.get(8..8 + MESSAGE_SIZE).unwrap_or_default();
        if !message.contains(&0) {
            return Some(format!("its message has no NUL in its {MESSAGE_SIZE} bytes"));
        }
    } else {
        // MCAUSE is word 34 of the register frame at 0x100.
        let mcause = word(0x100 + 4 * 34)?;
        if mcause > 15 {
            return Some(format!("its exception cause 0x{mcause:08x} is not a RISC-V exception code"));
        }
    }
    None
}

pub fn decode(dump: &Path, elf: Option<&Path>, p4: bool, force: bool) -> Result<PanicDecode, String> {
    let bytes = read_dump(dump)?;
    if bytes.iter().all(|&b| b == 0) {
        return Err(format!("{}: the dump is empty (all zeros): no panic was recorded", dump.display()));
    }
    if let (Some(why), false) = (implausible(&bytes), force) {
        return Err(format!("{}: not a panic dump: {why} (--force decodes it anyway)", dump.display()));
    }
    let report = PanicReport::decode(&bytes).with_p4_extra(p4);
    let symbols = elf.map(Symbols::open).transpose()?;
    let frame = report.frame();
    let names = esp_amp::system::panic::FRAME_NAMES;
    let mut registers: Vec<(String, u32)> =
        names.iter().zip(frame).map(|(n, v)| (n.to_string(), *v)).collect();
    if p4 {
        let extra = esp_amp::system::panic::P4_EXTRA_NAMES;
        registers.extend(extra.iter().zip(report.p4_extra()).map(|(n, v)| (n.to_string(), *v)));
    }
    let mut backtrace = Vec::new();
    if let Some(sym) = &symbols {
        let (pc, ra, sp) = (frame[0], frame[1], frame[2]);
        // A return address points after its call; look up the call itself.
        if sym.is_code(pc) {
            backtrace.push(Frame { source: "pc", addr: pc, stack_addr: None, functions: sym.functions(pc) });
        }
        if sym.is_code(ra) {
            backtrace.push(Frame {
                source: "ra",
                addr: ra,
                stack_addr: None,
                functions: sym.functions(ra.wrapping_sub(1)),
            });
        }
        for (i, w) in report.stack().chunks_exact(4).enumerate() {
            let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            if sym.is_code(v) {
                backtrace.push(Frame {
                    source: "stack",
                    addr: v,
                    stack_addr: Some(sp.wrapping_add(4 * i as u32)),
                    functions: sym.functions(v.wrapping_sub(1)),
                });
            }
        }
    }
    let message = if report.is_abort() {
        String::from_utf8_lossy(report.message()).into_owned()
    } else {
        report.reason().to_owned()
    };
    Ok(PanicDecode {
        is_abort: report.is_abort(),
        message,
        mcause: report.mcause(),
        registers,
        stack_len: report.stack().len(),
        backtrace,
        report: report.to_string(),
    })
}

pub fn text(d: &PanicDecode, with_elf: bool) -> String {
    let mut o = d.report.clone();
    if !with_elf {
        o.push_str("\n(no --elf given: no backtrace)\n");
        return o;
    }
    let _ = writeln!(o, "\nBacktrace (pc and ra from the frame, then code addresses found on the stack):");
    if d.backtrace.is_empty() {
        let _ = writeln!(o, "  no code address in the frame or the stack");
    }
    for (i, f) in d.backtrace.iter().enumerate() {
        let at = match f.stack_addr {
            Some(s) => format!("stack 0x{s:08x}"),
            None => f.source.to_owned(),
        };
        let mut first = true;
        for func in &f.functions {
            let lead = if first {
                format!("#{i:<2} 0x{:08x} {at:<16}", f.addr)
            } else {
                format!("{:32}", "  (inlined by)")
            };
            first = false;
            let loc = match (&func.file, func.line) {
                (Some(file), Some(line)) => format!(" at {file}:{line}"),
                (Some(file), None) => format!(" at {file}"),
                _ => String::new(),
            };
            let _ = writeln!(o, "{lead} {}{loc}", func.name);
        }
        if f.functions.is_empty() {
            let _ = writeln!(o, "#{i:<2} 0x{:08x} {at:<16} ??", f.addr);
        }
    }
    o
}
