//! Placing a firmware image into the subcore's memory (docs/protocol.md §8.3), with every segment
//! checked first.
//!
//! The C loader copies a segment when its start and its end each fall in some allowed
//! range, so one segment may start in HP RAM and end in RTC RAM, overwrite the RTC SysInfo
//! pool, or (with more than 16 segments) overflow the loader's own stack. Here
//! [`plan`] checks the whole image before anything is written, and [`load`] only runs
//! after a successful plan:
//!
//! - every segment lies wholly inside **one** allowed window: the subcore's HP region or
//!   the loadable part of RTC RAM (below the ULP shared cfg and the RTC pool);
//! - no segment touches shared memory, the panic-dump region, the RTC pool or the ULP
//!   shared cfg (these get their own error, naming what was hit);
//! - no two segments overlap;
//! - a segment in the flash window must be an app descriptor (magic 0xABCD5432); it is
//!   reported and skipped;
//! - the entry point follows the core's rule: the LP reset vector (`RTC base + 0x80`) on
//!   C5/C6, inside the HP region on P4;
//! - an ESP image's chip id must match the target chip.
//!
//! ```
//! use esp_amp::image::esp::EspImageWriter;
//! use esp_amp::image::load::{load, LoadTarget, WindowMemory};
//! use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
//!
//! let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
//! let target = LoadTarget::for_layout(&layout);
//! // The HP region, and the RTC RAM that loading zeroes (all but the RTC SysInfo pool).
//! let (hp, rtc) = (layout.subcore_hp.unwrap(), target.rtc_clear.unwrap());
//!
//! let mut file = [0u8; 256];
//! let mut w = EspImageWriter::new(&mut file, 0x5000_0080, 13).unwrap();
//! w.segment(0x5000_0080, &[0x6f, 0, 0, 0]).unwrap(); // reset vector: `j .`
//! w.segment(hp.start, b"data").unwrap();
//! let len = w.finish().unwrap();
//!
//! // Stand-ins for HP and RTC RAM (on the chip: `RawMemory`).
//! let (mut hp_ram, mut rtc_ram) = (vec![0xAAu8; hp.len() as usize], vec![0xAAu8; rtc.len() as usize]);
//! let mut mem = WindowMemory::new([(hp.start, &mut hp_ram[..]), (rtc.start, &mut rtc_ram[..])]);
//! let loaded = load(&file[..len], &target, &mut mem).unwrap();
//! assert_eq!(loaded.entry, 0x5000_0080);
//! assert_eq!(&hp_ram[..4], b"data");
//! assert!(hp_ram[4..].iter().all(|&b| b == 0)); // the region was zeroed first
//! // Everything above the image can go back to the maincore heap.
//! assert_eq!(loaded.unused_hp, Some(esp_amp::layout::Region { start: hp.start + 4, end: hp.end }));
//! ```

use super::{app_desc_window, esp_chip_id, AppDesc, Format, Image, ImageError, Segment};
use crate::layout::{MemoryLayout, Region, SubcoreType};

/// Memory the loader must never write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Protected {
    /// The HP shared region (SysInfo, queues).
    SharedMemory,
    /// The panic-dump region.
    PanicDump,
    /// The RTC SysInfo pool.
    RtcPool,
    /// IDF's ULP shared configuration word(s) below the RTC pool.
    UlpSharedCfg,
}

impl Protected {
    /// A short name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Protected::SharedMemory => "shared memory",
            Protected::PanicDump => "the panic-dump region",
            Protected::RtcPool => "the RTC SysInfo pool",
            Protected::UlpSharedCfg => "the ULP shared cfg",
        }
    }
}

/// Where the entry point must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EntryRule {
    /// Exactly this address (an LP core starts at its reset vector).
    Exactly(u32),
    /// Anywhere inside this region (an HP core starts where it is told).
    Within(Region),
}

/// What the subcore may occupy: the rules [`plan`] checks an image against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadTarget {
    /// The chip id an ESP app image must carry (`None`: not checked).
    pub chip_id: Option<u16>,
    /// The subcore's HP RAM window (zeroed before loading).
    pub hp: Option<Region>,
    /// The loadable part of RTC RAM.
    pub rtc: Option<Region>,
    /// What is zeroed in RTC RAM before loading (C: everything but the pool).
    pub rtc_clear: Option<Region>,
    /// The flash window where an app descriptor may appear.
    pub app_desc: Option<Region>,
    /// Never written.
    pub protected: [Option<(Region, Protected)>; 4],
    /// The entry-point rule.
    pub entry: EntryRule,
    /// The configuration the image must have been built for, when it records one
    /// ([`ConfigRecord`](crate::layout::ConfigRecord); `None`: not checked).
    pub config: Option<crate::layout::ConfigRecord>,
}

impl LoadTarget {
    /// The rules for a chip configuration (docs/protocol.md §1, §8.3).
    pub fn for_layout(layout: &MemoryLayout) -> Self {
        let lp = layout.chip.subcore_type() == SubcoreType::LpCore;
        let rtc = layout.rtc;
        let entry = match (lp, rtc, layout.subcore_hp) {
            (true, Some(r), _) => EntryRule::Exactly(r.reset_vector),
            (_, _, Some(hp)) => EntryRule::Within(hp),
            // Not reachable with a valid layout; a rule nothing satisfies.
            _ => EntryRule::Within(Region { start: 0, end: 0 }),
        };
        LoadTarget {
            chip_id: Some(esp_chip_id(layout.chip)),
            hp: layout.subcore_hp,
            rtc: rtc.map(|r| Region { start: r.mem.start, end: r.ulp_shared_cfg.start }),
            rtc_clear: rtc.map(|r| Region { start: r.mem.start, end: r.pool.start }),
            app_desc: Some(app_desc_window(layout.chip)),
            protected: [
                Some((layout.shared, Protected::SharedMemory)),
                Some((layout.panic_dump, Protected::PanicDump)),
                rtc.map(|r| (r.pool, Protected::RtcPool)),
                rtc.map(|r| (r.ulp_shared_cfg, Protected::UlpSharedCfg)),
            ],
            entry,
            config: Some(crate::layout::ConfigRecord::of(layout)),
        }
    }

    /// Where a segment occupying `r` goes: wholly inside the HP or the RTC window, wholly
    /// inside the app-descriptor window, or none of them. (Protected regions are checked
    /// separately, first, by [`plan`].)
    pub fn placement(&self, r: Region) -> Placement {
        let inside = |w: Option<Region>| w.is_some_and(|w| w.contains_region(r));
        if inside(self.hp) {
            Placement::Hp
        } else if inside(self.rtc) {
            Placement::Rtc
        } else if inside(self.app_desc) {
            Placement::AppDescriptor
        } else {
            Placement::Outside
        }
    }

    /// The same target with the HP window cut at `end`: after a load gave
    /// [`Loaded::unused_hp`] back to the maincore heap, a reload must stay below it (C
    /// zero-fills the whole region again and corrupts its heap).
    pub fn with_hp_end(mut self, end: u32) -> Self {
        if let Some(hp) = &mut self.hp {
            hp.end = end.clamp(hp.start, hp.end);
            if let EntryRule::Within(r) = &mut self.entry {
                *r = *hp;
            }
        }
        self
    }
}

/// Where a segment goes, see [`LoadTarget::placement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The subcore's HP region.
    Hp,
    /// Loadable RTC RAM.
    Rtc,
    /// The flash window of the app descriptor (read, never written).
    AppDescriptor,
    /// No window holds it wholly.
    Outside,
}

impl Placement {
    /// A short name for messages (`hp`, `rtc`, `app-descriptor`, `outside`).
    pub const fn name(self) -> &'static str {
        match self {
            Placement::Hp => "hp",
            Placement::Rtc => "rtc",
            Placement::AppDescriptor => "app-descriptor",
            Placement::Outside => "outside",
        }
    }
}

/// Why a segment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SegmentFault {
    /// It overlaps memory the loader must never write.
    Overlaps(Protected),
    /// It overlaps an earlier segment of the same image.
    OverlapsSegment {
        /// The earlier segment it overlaps.
        other: u8,
    },
    /// It overlaps an allowed window but does not fit inside one (it runs past its end or
    /// into another window).
    NotInOneWindow,
    /// It is in no allowed window.
    OutsideRegions,
    /// It is in the flash window but is not an app descriptor.
    BadAppDescriptor,
}

impl core::fmt::Display for SegmentFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SegmentFault::Overlaps(p) => write!(f, "overlaps {}", p.name()),
            SegmentFault::OverlapsSegment { other } => write!(f, "overlaps segment {other}"),
            SegmentFault::NotInOneWindow => {
                f.write_str("does not fit inside one window (the HP region or RTC RAM)")
            }
            SegmentFault::OutsideRegions => f.write_str("is outside the subcore's HP and RTC windows"),
            SegmentFault::BadAppDescriptor => {
                f.write_str("is in the flash window but has no app descriptor magic")
            }
        }
    }
}

impl core::error::Error for SegmentFault {}

/// Why an image was not loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LoadError {
    /// The file is not a readable image.
    Image(ImageError),
    /// The ESP image was built for another chip.
    WrongChip {
        /// This chip's ESP image chip id.
        expected: u16,
        /// The image's chip id.
        found: u16,
    },
    /// The entry point breaks the target's rule.
    Entry {
        /// The image's entry point.
        entry: u32,
        /// The target's rule.
        rule: EntryRule,
    },
    /// Segment `index` (`[addr, addr + len)`) was refused.
    Segment {
        /// The segment (0-based).
        index: u8,
        /// Its load address.
        addr: u32,
        /// Its length in memory, in bytes.
        len: u32,
        /// Why it was refused.
        fault: SegmentFault,
    },
    /// The memory backend refused a write (a target/backend mismatch, not an image fault).
    Memory {
        /// Start of the refused range.
        addr: u32,
        /// Its length in bytes.
        len: u32,
    },
    /// The image records a configuration other than the target's.
    Config(crate::layout::ConfigMismatch),
}

impl From<ImageError> for LoadError {
    fn from(e: ImageError) -> Self {
        LoadError::Image(e)
    }
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Image(e) => e.fmt(f),
            LoadError::WrongChip { expected, found } => {
                write!(f, "image built for chip id {found}, this chip is id {expected}")
            }
            LoadError::Entry { entry, rule: EntryRule::Exactly(a) } => {
                write!(f, "entry point {entry:#010x} is not the reset vector {a:#010x}")
            }
            LoadError::Entry { entry, rule: EntryRule::Within(r) } => write!(
                f,
                "entry point {entry:#010x} is outside the subcore region {:#010x}..{:#010x}",
                r.start, r.end
            ),
            LoadError::Segment { index, addr, len, fault } => write!(
                f,
                "segment {index} at {addr:#010x}..{:#010x} ({len} bytes) {fault}",
                u64::from(*addr) + u64::from(*len)
            ),
            LoadError::Memory { addr, len } => {
                write!(f, "the memory backend refused {len} bytes at {addr:#010x}")
            }
            LoadError::Config(m) => m.fmt(f),
        }
    }
}

impl core::error::Error for LoadError {}

/// The result of a successful [`plan`] or [`load`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded<'a> {
    /// The file format (ESP app image or ELF).
    pub format: Format,
    /// The image's entry point.
    pub entry: u32,
    /// Segments that were (or will be) written.
    pub loaded_segments: usize,
    /// Bytes those segments occupy (data and zero-filled tails).
    pub loaded_bytes: u32,
    /// End of the highest segment in the HP window (`None`: nothing in HP RAM).
    pub hp_end: Option<u32>,
    /// The part of the HP window above the image, which the maincore may take back.
    pub unused_hp: Option<Region>,
    /// The app descriptor, if the image has one.
    pub app_desc: Option<AppDesc<'a>>,
    /// Bit `i` set: `image.segments()[i]` is written (decided once, by the plan).
    written: u16,
}

const _: () = assert!(super::MAX_SEGMENTS <= 16, "`Loaded::written` has one bit per segment");

/// Checks `file` against `target` without writing anything.
pub fn plan<'a>(file: &'a [u8], target: &LoadTarget) -> Result<Loaded<'a>, LoadError> {
    let image = Image::parse(file)?;
    plan_image(&image, target)
}

/// Like [`plan`], for an image already parsed.
pub fn plan_image<'a>(image: &Image<'a>, target: &LoadTarget) -> Result<Loaded<'a>, LoadError> {
    if let (Some(expected), Some(found)) = (target.chip_id, image.chip_id()) {
        if expected != found {
            return Err(LoadError::WrongChip { expected, found });
        }
    }
    let entry_ok = match target.entry {
        EntryRule::Exactly(a) => image.entry() == a,
        EntryRule::Within(r) => r.contains(image.entry()),
    };
    if !entry_ok {
        return Err(LoadError::Entry { entry: image.entry(), rule: target.entry });
    }
    if let (Some(expected), Some(found)) = (target.config, image.config_record()) {
        found.compare(&expected).map_err(LoadError::Config)?;
    }

    let mut out = Loaded {
        format: image.format(),
        entry: image.entry(),
        loaded_segments: 0,
        loaded_bytes: 0,
        hp_end: None,
        unused_hp: target.hp,
        app_desc: None,
        written: 0,
    };
    let segments = image.segments();
    for (i, seg) in segments.iter().enumerate() {
        if seg.mem_len == 0 {
            continue;
        }
        let range = seg.range();
        let refuse = |fault| LoadError::Segment { index: seg.index, addr: seg.addr, len: seg.mem_len, fault };
        if let Some((_, what)) = target.protected.iter().flatten().find(|(r, _)| range.overlaps(*r)) {
            return Err(refuse(SegmentFault::Overlaps(*what)));
        }
        match target.placement(range) {
            w @ (Placement::Hp | Placement::Rtc) => {
                if let Some(other) = segments[..i].iter().find(|o| o.mem_len > 0 && range.overlaps(o.range()))
                {
                    return Err(refuse(SegmentFault::OverlapsSegment { other: other.index }));
                }
                if w == Placement::Hp {
                    out.hp_end = Some(out.hp_end.map_or(range.end, |e: u32| e.max(range.end)));
                }
                out.written |= 1 << i;
                out.loaded_segments += 1;
                out.loaded_bytes += seg.mem_len;
            }
            Placement::AppDescriptor => match AppDesc::parse(seg.data) {
                Some(d) => out.app_desc = Some(d),
                None => return Err(refuse(SegmentFault::BadAppDescriptor)),
            },
            Placement::Outside => {
                let touches_window = [target.hp, target.rtc].iter().flatten().any(|w| range.overlaps(*w));
                return Err(refuse(if touches_window {
                    SegmentFault::NotInOneWindow
                } else {
                    SegmentFault::OutsideRegions
                }));
            }
        }
    }
    if let (Some(hp), Some(end)) = (target.hp, out.hp_end) {
        out.unused_hp = Some(Region { start: end, end: hp.end });
    }
    Ok(out)
}

/// The memory the loader writes: the subcore's HP and RTC windows.
pub trait LoadMemory {
    /// Writes `data` at device address `addr`. `Err` if the range is not backed.
    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), MemoryError>;
    /// Zero-fills `region`. `Err` if it is not backed.
    fn zero(&mut self, region: Region) -> Result<(), MemoryError>;
}

/// A [`LoadMemory`] backend refused a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MemoryError;

impl core::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the load memory does not back this range")
    }
}

impl core::error::Error for MemoryError {}

/// Checks `file` against `target`, then zeroes the target's windows and writes the
/// segments. On error nothing has been written, except for [`LoadError::Memory`], which
/// means the backend does not cover the target.
pub fn load<'a>(
    file: &'a [u8],
    target: &LoadTarget,
    mem: &mut dyn LoadMemory,
) -> Result<Loaded<'a>, LoadError> {
    let image = Image::parse(file)?;
    let loaded = plan_image(&image, target)?;
    let backend = |r: Region| move |_| LoadError::Memory { addr: r.start, len: r.len() };
    for r in [target.hp, target.rtc_clear].into_iter().flatten() {
        mem.zero(r).map_err(backend(r))?;
    }
    for (i, seg) in image.segments().iter().enumerate() {
        if loaded.written & (1 << i) != 0 {
            write_segment(mem, seg).map_err(backend(seg.range()))?;
        }
    }
    Ok(loaded)
}

fn write_segment(mem: &mut dyn LoadMemory, seg: &Segment<'_>) -> Result<(), MemoryError> {
    mem.write(seg.addr, seg.data)?;
    // `.bss` tails: the windows were just zeroed, but a backend may cover more than that.
    let data_len = seg.data.len() as u32;
    if seg.mem_len > data_len {
        mem.zero(Region { start: seg.addr + data_len, end: seg.addr + seg.mem_len })?;
    }
    Ok(())
}

/// A [`LoadMemory`] over `N` byte slices, each standing for the memory at a device base
/// address (for tests, simulators, and loading into a RAM copy).
pub struct WindowMemory<'b, const N: usize> {
    windows: [(u32, &'b mut [u8]); N],
}

impl<'b, const N: usize> WindowMemory<'b, N> {
    /// `windows`: `(device base, bytes)` pairs.
    pub fn new(windows: [(u32, &'b mut [u8]); N]) -> Self {
        WindowMemory { windows }
    }

    fn find(&mut self, addr: u32, len: usize) -> Result<&mut [u8], MemoryError> {
        for (base, bytes) in self.windows.iter_mut() {
            let Some(off) = addr.checked_sub(*base) else { continue };
            let off = off as usize;
            if let Some(s) = off.checked_add(len).and_then(|end| bytes.get_mut(off..end)) {
                return Ok(s);
            }
        }
        Err(MemoryError)
    }
}

impl<const N: usize> LoadMemory for WindowMemory<'_, N> {
    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), MemoryError> {
        self.find(addr, data.len())?.copy_from_slice(data);
        Ok(())
    }
    fn zero(&mut self, region: Region) -> Result<(), MemoryError> {
        self.find(region.start, region.len() as usize)?.fill(0);
        Ok(())
    }
}

/// Direct writes to physical memory, for a maincore that sees the subcore's memory at the
/// device addresses (every ESP32 port; the QEMU port).
pub struct RawMemory {
    allowed: LoadTarget,
}

impl RawMemory {
    /// # Safety
    /// Every window of `target` (HP, RTC and `rtc_clear`) must be memory this core may
    /// write at exactly those addresses, owned by the subcore image and used by nothing
    /// else while loading: the subcore is stopped, the windows are not in any heap, and
    /// the image file being loaded does not lie inside a window.
    pub unsafe fn new(target: &LoadTarget) -> Self {
        RawMemory { allowed: *target }
    }

    fn check(&self, r: Region) -> Result<(), MemoryError> {
        let ok = [self.allowed.hp, self.allowed.rtc_clear].iter().flatten().any(|w| w.contains_region(r));
        ok.then_some(()).ok_or(MemoryError)
    }
}

impl LoadMemory for RawMemory {
    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), MemoryError> {
        let end = addr.checked_add(u32::try_from(data.len()).map_err(|_| MemoryError)?).ok_or(MemoryError)?;
        self.check(Region { start: addr, end })?;
        // SAFETY: `[addr, end)` lies inside a window that `new`'s caller guaranteed to be
        // writable at these addresses and used by nothing else; `data` comes from the
        // image file, which the same contract keeps out of every window, so the two
        // ranges do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), addr as usize as *mut u8, data.len()) };
        Ok(())
    }
    fn zero(&mut self, region: Region) -> Result<(), MemoryError> {
        self.check(region)?;
        // SAFETY: as in `write`: the range is inside a window vouched for by `new`'s caller.
        unsafe { core::ptr::write_bytes(region.start as usize as *mut u8, 0, region.len() as usize) };
        Ok(())
    }
}
