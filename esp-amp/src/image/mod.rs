//! Subcore firmware images: parsing and loading (docs/protocol.md §8.3), on the maincore.
//!
//! Two formats are read, both without allocation:
//! - the **ESP app image** that esptool's `elf2image` (and the C build) produces: a 24-byte
//!   header, up to [`MAX_SEGMENTS`] `{load_addr, data_len, data}` segments, a checksum
//!   byte (checked here; C ignores it) and an optional SHA-256 (not checked);
//! - **ELF32 little-endian RISC-V executables**: the `PT_LOAD` program headers, with
//!   `p_memsz > p_filesz` tails zero-filled.
//!
//! [`Image::parse`] only reads the file: it checks its structure (magic, segment count,
//! every segment inside the file, no address overflow). [`load::plan`] then checks the
//! image against a [`load::LoadTarget`] (which regions the subcore may occupy) and
//! [`load::load`] writes it, so a rejected image never touches memory.
//!
//! ```
//! use esp_amp::image::{esp::EspImageWriter, Format, Image};
//! let mut buf = [0u8; 128];
//! let mut w = EspImageWriter::new(&mut buf, 0x5000_0080, 13).unwrap();
//! w.segment(0x5000_0080, &[0x13, 0, 0, 0]).unwrap(); // a `nop`
//! let len = w.finish().unwrap();
//! let image = Image::parse(&buf[..len]).unwrap();
//! assert_eq!(image.format(), Format::EspApp);
//! assert_eq!(image.entry(), 0x5000_0080);
//! assert_eq!(image.segments()[0].addr, 0x5000_0080);
//! ```

pub mod elf;
pub mod esp;
pub mod load;

use crate::layout::{Chip, Region};

/// The most segments an image may have (C keeps them in a 16-entry array on its stack and
/// overflows it beyond that; here more is an error).
pub const MAX_SEGMENTS: usize = 16;

/// The image file formats [`Image::parse`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ESP app image (`esptool elf2image`), magic 0xE9.
    EspApp,
    /// ELF32 little-endian RISC-V executable.
    Elf,
}

impl Format {
    /// A short name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Format::EspApp => "ESP app image",
            Format::Elf => "ELF",
        }
    }
}

/// One loadable segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Position in the image (0-based): ESP segment number or ELF program header index.
    pub index: u8,
    /// Device load address.
    pub addr: u32,
    /// Bytes to copy.
    pub data: &'a [u8],
    /// Bytes the segment occupies in memory (≥ `data.len()`; the rest is zero-filled).
    pub mem_len: u32,
}

impl Segment<'_> {
    /// `[addr, addr + mem_len)`. [`Image::parse`] guarantees it does not overflow.
    pub const fn range(&self) -> Region {
        Region { start: self.addr, end: self.addr + self.mem_len }
    }
}

/// Why an image file is unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ImageError {
    /// Neither an ESP app image (0xE9) nor an ELF file.
    UnknownFormat {
        /// The file's first byte.
        first_byte: u8,
    },
    /// The file ends inside `what` (which starts at `offset`).
    Truncated {
        /// The structure the file ends in.
        what: &'static str,
        /// Where that structure starts, in bytes from the start of the file.
        offset: u32,
    },
    /// More segments than [`MAX_SEGMENTS`].
    TooManySegments {
        /// Segments the image declares.
        count: usize,
        /// The most this parser takes.
        max: usize,
    },
    /// The image has nothing to load.
    NoSegments,
    /// `addr + length` of segment `segment` overflows the 32-bit address space.
    AddressOverflow {
        /// The segment (0-based).
        segment: u8,
        /// Its load address.
        addr: u32,
        /// Its length in bytes.
        len: u32,
    },
    /// The ESP image checksum byte does not match the segment data.
    Checksum {
        /// The checksum byte in the image.
        stored: u8,
        /// The checksum of the segment data.
        computed: u8,
    },
    /// The SHA-256 appended to the ESP image does not match the image (`stored` and
    /// `computed` are the first four bytes of each digest, for the message).
    Sha256 {
        /// The first four bytes of the appended digest.
        stored: [u8; 4],
        /// The first four bytes of the digest of the image.
        computed: [u8; 4],
    },
    /// ELF: not 32-bit (`class` is `EI_CLASS`).
    ElfClass {
        /// The `EI_CLASS` byte.
        class: u8,
    },
    /// ELF: not little-endian (`data` is `EI_DATA`).
    ElfEndianness {
        /// The `EI_DATA` byte.
        data: u8,
    },
    /// ELF: not an executable (`e_type`).
    ElfType {
        /// The `e_type` field.
        e_type: u16,
    },
    /// ELF: not RISC-V (`e_machine`).
    ElfMachine {
        /// The `e_machine` field.
        machine: u16,
    },
    /// ELF: a structure is inconsistent (`what` says which).
    ElfMalformed {
        /// The inconsistent structure.
        what: &'static str,
    },
    /// ELF segment `segment` has `p_filesz > p_memsz`.
    ElfFileSizeTooLarge {
        /// The program header index.
        segment: u8,
    },
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ImageError::UnknownFormat { first_byte } => write!(
                f,
                "not a firmware image: first byte 0x{first_byte:02x} (expected 0xe9 for an ESP app image or an ELF header)"
            ),
            ImageError::Truncated { what, offset } => write!(f, "truncated file: it ends inside {what} at offset {offset:#x}"),
            ImageError::TooManySegments { count, max } => write!(f, "{count} segments (at most {max} are allowed)"),
            ImageError::NoSegments => write!(f, "the image has no segment to load"),
            ImageError::AddressOverflow { segment, addr, len } => {
                write!(f, "segment {segment}: address {addr:#010x} + length {len:#x} overflows 32 bits")
            }
            ImageError::Checksum { stored, computed } => {
                write!(f, "checksum mismatch: stored 0x{stored:02x}, computed 0x{computed:02x} (corrupted image)")
            }
            ImageError::Sha256 { stored, computed } => write!(
                f,
                "SHA-256 mismatch: stored {:02x}{:02x}{:02x}{:02x}…, computed {:02x}{:02x}{:02x}{:02x}… (corrupted image)",
                stored[0], stored[1], stored[2], stored[3], computed[0], computed[1], computed[2], computed[3]
            ),
            ImageError::ElfClass { class } => write!(f, "ELF class {class} is not 32-bit (1)"),
            ImageError::ElfEndianness { data } => write!(f, "ELF data encoding {data} is not little-endian (1)"),
            ImageError::ElfType { e_type } => write!(f, "ELF type {e_type} is not an executable (2)"),
            ImageError::ElfMachine { machine } => write!(f, "ELF machine {machine} is not RISC-V (243)"),
            ImageError::ElfMalformed { what } => write!(f, "malformed ELF: {what}"),
            ImageError::ElfFileSizeTooLarge { segment } => {
                write!(f, "ELF program header {segment}: file size larger than memory size")
            }
        }
    }
}

impl core::error::Error for ImageError {}

/// A parsed firmware image. Borrows the file; nothing is copied.
#[derive(Debug, Clone)]
pub struct Image<'a> {
    format: Format,
    entry: u32,
    chip_id: Option<u16>,
    segments: [Segment<'a>; MAX_SEGMENTS],
    count: usize,
}

impl<'a> Image<'a> {
    /// Parses an ESP app image or an ELF file, chosen by its first bytes.
    pub fn parse(file: &'a [u8]) -> Result<Self, ImageError> {
        match file {
            [esp::MAGIC, ..] => esp::parse(file),
            [0x7F, b'E', b'L', b'F', ..] => elf::parse(file),
            short if b"\x7fELF".starts_with(short) => {
                Err(ImageError::Truncated { what: "the file header", offset: 0 })
            }
            [b, ..] => Err(ImageError::UnknownFormat { first_byte: *b }),
            [] => Err(ImageError::Truncated { what: "the file header", offset: 0 }),
        }
    }

    /// The file format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The entry point.
    pub fn entry(&self) -> u32 {
        self.entry
    }

    /// The chip id of an ESP app image header (ELF files have none).
    pub fn chip_id(&self) -> Option<u16> {
        self.chip_id
    }

    /// The segments, in file order.
    pub fn segments(&self) -> &[Segment<'a>] {
        &self.segments[..self.count]
    }

    /// The configuration record the image carries in one of its segments, if any (see
    /// [`ConfigRecord`](crate::layout::ConfigRecord)): one pass over the segments' bytes.
    pub fn config_record(&self) -> Option<crate::layout::ConfigRecord> {
        self.segments().iter().find_map(|s| crate::layout::ConfigRecord::find(s.data))
    }

    fn new(format: Format, entry: u32, chip_id: Option<u16>) -> Self {
        const EMPTY: Segment<'static> = Segment { index: 0, addr: 0, data: &[], mem_len: 0 };
        Image { format, entry, chip_id, segments: [EMPTY; MAX_SEGMENTS], count: 0 }
    }

    /// Adds a segment, checking the count and that its range does not overflow.
    fn push(&mut self, total: usize, seg: Segment<'a>) -> Result<(), ImageError> {
        if self.count == MAX_SEGMENTS {
            return Err(ImageError::TooManySegments { count: total, max: MAX_SEGMENTS });
        }
        if seg.addr.checked_add(seg.mem_len).is_none() {
            return Err(ImageError::AddressOverflow { segment: seg.index, addr: seg.addr, len: seg.mem_len });
        }
        self.segments[self.count] = seg;
        self.count += 1;
        Ok(())
    }
}

/// The chip id an ESP app image header carries for `chip` (esptool's `IMAGE_CHIP_ID`).
pub const fn esp_chip_id(chip: Chip) -> u16 {
    chip.desc().esp_chip_id
}

/// The flash-mapped window where a subcore image may carry its app descriptor
/// (`SOC_DROM_LOW..SOC_DROM_HIGH`): the descriptor is read and skipped, never loaded.
pub const fn app_desc_window(chip: Chip) -> Region {
    chip.desc().app_desc_window
}

/// The application descriptor (`esp_app_desc_t`, 256 bytes, magic 0xABCD5432) an IDF
/// build puts in its image. Strings are NUL-padded fields, cut at the first NUL; fields
/// that are not UTF-8 read as `"?"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppDesc<'a> {
    /// The anti-rollback version.
    pub secure_version: u32,
    /// The application version string.
    pub version: &'a str,
    /// The project name.
    pub project_name: &'a str,
    /// The build time.
    pub time: &'a str,
    /// The build date.
    pub date: &'a str,
    /// The ESP-IDF version it was built with.
    pub idf_ver: &'a str,
}

impl<'a> AppDesc<'a> {
    /// Magic word at the start of the descriptor.
    pub const MAGIC: u32 = 0xABCD_5432;
    /// Size of the descriptor.
    pub const SIZE: usize = 256;

    /// Reads a descriptor from the start of `bytes`; `None` when it is too short or the
    /// magic is wrong.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let d = bytes.get(..Self::SIZE)?;
        if u32::from_le_bytes(d[0..4].try_into().ok()?) != Self::MAGIC {
            return None;
        }
        let text = |range: core::ops::Range<usize>| {
            let field = &d[range];
            let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
            core::str::from_utf8(&field[..end]).unwrap_or("?")
        };
        Some(AppDesc {
            secure_version: u32::from_le_bytes(d[4..8].try_into().ok()?),
            version: text(16..48),
            project_name: text(48..80),
            time: text(80..96),
            date: text(96..112),
            idf_ver: text(112..144),
        })
    }
}
