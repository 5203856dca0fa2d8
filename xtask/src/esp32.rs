//! `cargo xtask esp32`: builds the ESP32 subcore firmware (`firmware/esp32`), checks each
//! image against the layout the maincore uses, and reports its size.
//!
//! Checks, per example and chip (no hardware needed: by construction):
//! - the project's own loader accepts the ELF for the chip's default layout (every
//!   segment inside the subcore's regions, none over the shared region, the RTC pool or
//!   the ULP configuration; the entry is the LP reset vector);
//! - the absolute symbols the linker script exports (`esp_amp_shared_start`,
//!   `esp_amp_panic_dump_start`, `esp_amp_rtc_pool_start`) equal the layout's addresses;
//! - the ESP app image made of the ELF (`<example>.bin` next to it: what a flash partition
//!   holds, for a separate build) is accepted by the loader too.
//!
//! Sizes: `.text`, `.rodata`, `.data`, `.bss` and the LP runtime in RTC RAM, the loaded
//! bytes, and the IPC code as linked (an example minus the `bare` runtime-only image).

use std::path::{Path, PathBuf};

use esp_amp::image::esp::write_image;
use esp_amp::image::load::{plan, LoadTarget};
use esp_amp::image::{esp_chip_id, Image};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};

use crate::qemu::repo_root;

pub const TARGET: &str = "riscv32imac-unknown-none-elf";

/// The LP-core examples (binaries of `firmware/esp32/lp-examples`), built for each chip.
pub const LP_EXAMPLES: [&str; 6] = ["bare", "rpmsg_echo", "basic", "virtqueue", "rpc", "print"];
pub const LP_CHIPS: [Chip; 2] = [Chip::Esp32C6, Chip::Esp32C5];

/// The budgets of issue 7 (bytes).
pub const BUDGET_ECHO_TOTAL: u64 = 6 * 1024;
pub const BUDGET_IPC: u64 = 3000;

/// Builds the LP examples for `chip`; returns the directory with the ELF files.
pub fn build_lp(chip: Chip) -> std::io::Result<PathBuf> {
    let ws = repo_root().join("firmware/esp32");
    // One target directory per chip: the chip is a feature of the same packages.
    let target_dir = repo_root().join("target/firmware-esp32").join(chip.name());
    // Nightly even where stable has the target: the workspace uses `-Cpanic=immediate-abort`.
    esp_amp_host::firmware::build_package_nightly(
        &ws,
        Some("lp-examples"),
        &[chip.name()],
        TARGET,
        &target_dir,
    )
}

/// Section sizes of one image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    pub text: u64,
    pub rodata: u64,
    pub data: u64,
    pub bss: u64,
    /// The LP runtime in RTC RAM: vector table, reset and trap entries.
    pub rtc: u64,
    /// Bytes the loader copies (file size of the loaded segments).
    pub loaded: u64,
}

impl Sizes {
    pub fn code(&self) -> u64 {
        self.text + self.rodata + self.rtc
    }
}

/// What an image was checked for, and its sizes.
#[derive(Debug, Clone)]
pub struct Checked {
    pub sizes: Sizes,
    /// The loader's verdict (`Err` = refused, with the reason).
    pub loader: Result<(), String>,
    /// `(symbol, value in the image, value in the layout)` for each exported address.
    pub symbols: Vec<(&'static str, Option<u64>, u64)>,
    /// The ESP app image made of the ELF, if the loader accepts it too.
    pub esp_image: Result<Vec<u8>, String>,
}

impl Checked {
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Err(e) = &self.loader {
            p.push(format!("the loader refuses it: {e}"));
        }
        if let Err(e) = &self.esp_image {
            p.push(format!("ESP image: {e}"));
        }
        for (name, got, want) in &self.symbols {
            match got {
                Some(v) if v == want => {}
                Some(v) => p.push(format!("{name} = 0x{v:08x}, the layout says 0x{want:08x}")),
                None => p.push(format!("{name} missing")),
            }
        }
        p
    }
}

/// Checks the ELF `file` against `chip`'s default layout and measures it.
pub fn check(file: &[u8], chip: Chip) -> Result<Checked, String> {
    let layout = MemoryLayout::new(chip, &AmpConfig::default_for(chip)).map_err(|e| format!("{e:?}"))?;
    let elf = object::File::parse(file).map_err(|e| e.to_string())?;
    let mut sizes = Sizes::default();
    for s in elf.sections() {
        let size = s.size();
        match s.name().unwrap_or("") {
            ".text" => sizes.text += size,
            ".rodata" => sizes.rodata += size,
            ".data" => sizes.data += size,
            ".bss" => sizes.bss += size,
            ".vectors" | ".lp.text" => sizes.rtc += size,
            _ => {}
        }
    }
    sizes.loaded = elf.segments().map(|s| s.file_range().1).sum();
    let loader = plan(file, &LoadTarget::for_layout(&layout)).map(|_| ()).map_err(|e| e.to_string());
    let symbol = |name: &str| elf.symbols().find(|s| s.name() == Ok(name)).map(|s| s.address());
    let rtc_pool = layout.rtc.map_or(0, |r| r.pool.start);
    let symbols = vec![
        ("esp_amp_shared_start", symbol("esp_amp_shared_start"), u64::from(layout.shared.start)),
        ("esp_amp_panic_dump_start", symbol("esp_amp_panic_dump_start"), u64::from(layout.panic_dump.start)),
        ("esp_amp_rtc_pool_start", symbol("esp_amp_rtc_pool_start"), u64::from(rtc_pool)),
    ];
    Ok(Checked { sizes, loader, symbols, esp_image: esp_image(file, chip, &layout) })
}

/// The ESP app image of the ELF `file` for `chip` (as `elf2image` makes it), checked with
/// the loader.
fn esp_image(file: &[u8], chip: Chip, layout: &MemoryLayout) -> Result<Vec<u8>, String> {
    let image = Image::parse(file).map_err(|e| e.to_string())?;
    let mut out = vec![0u8; file.len() + 64 * 1024];
    let n = write_image(&image, esp_chip_id(chip), &mut out).map_err(|e| format!("{e:?}"))?;
    out.truncate(n);
    plan(&out, &LoadTarget::for_layout(layout)).map_err(|e| format!("the loader refuses it: {e}"))?;
    Ok(out)
}

/// The partition-table line (ESP-IDF CSV) for a flash partition holding `image_len` bytes
/// of subcore image: a data partition of a custom subtype, rounded up to 4 KiB.
pub fn partition_line(name: &str, image_len: usize) -> String {
    format!("{name}, data, 0x40, , 0x{:x}", image_len.div_ceil(4096) * 4096)
}

/// Builds, checks and measures every LP example for every chip.
pub fn run_all() -> Result<Vec<(Chip, &'static str, Checked)>, String> {
    let mut out = Vec::new();
    for chip in LP_CHIPS {
        let dir = build_lp(chip).map_err(|e| format!("building firmware/esp32 for {}: {e}", chip.name()))?;
        for bin in LP_EXAMPLES {
            let path: &Path = &dir.join(bin);
            let file = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let checked = check(&file, chip)?;
            if let Ok(image) = &checked.esp_image {
                let bin_path = dir.join(format!("{bin}.bin"));
                std::fs::write(&bin_path, image).map_err(|e| format!("{}: {e}", bin_path.display()))?;
            }
            out.push((chip, bin, checked));
        }
    }
    Ok(out)
}

/// The IPC code of `example` as linked: its code minus the `bare` image's, for one chip.
pub fn ipc_code(results: &[(Chip, &'static str, Checked)], chip: Chip, example: &str) -> Option<u64> {
    let code = |bin: &str| results.iter().find(|(c, b, _)| *c == chip && *b == bin).map(|r| r.2.sizes.code());
    Some(code(example)?.saturating_sub(code("bare")?))
}

/// The `n` largest code and data symbols of the ELF `file`: `(size, demangled name)`,
/// largest first (for size work: what to look at next).
pub fn largest_symbols(file: &[u8], n: usize) -> Result<Vec<(u64, String)>, String> {
    let elf = object::File::parse(file).map_err(|e| e.to_string())?;
    let mut symbols: Vec<(u64, String)> = elf
        .symbols()
        .filter(|s| s.size() > 0 && s.address() != 0)
        .filter_map(|s| Some((s.size(), format!("{:#}", rustc_demangle::demangle(s.name().ok()?)))))
        .collect();
    symbols.sort_by(|a, b| b.cmp(a));
    symbols.truncate(n);
    Ok(symbols)
}
