//! The ESP app image format (esptool `elf2image`), reading and writing.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | magic 0xE9 |
//! | 1 | 1 | segment count |
//! | 2 | 2 | SPI mode, speed and size |
//! | 4 | 4 | entry address |
//! | 8 | 4 | WP pin, SPI pin drive strengths |
//! | 12 | 2 | chip id |
//! | 14 | 9 | chip revisions, reserved |
//! | 23 | 1 | 1 if a SHA-256 is appended |
//!
//! Then each segment as `{load_addr: u32, data_len: u32}` plus its data; then zero padding
//! up to the last byte of a 16-byte line, which is the checksum (0xEF XOR every data
//! byte); then the SHA-256 of everything before it, if announced. Parsing checks both.

use sha2::{Digest, Sha256};

use super::{Format, Image, ImageError, Segment, MAX_SEGMENTS};

/// First byte of an ESP app image.
pub const MAGIC: u8 = 0xE9;
/// Size of the image header.
pub const HEADER_SIZE: usize = 24;
/// Size of a segment header.
pub const SEGMENT_HEADER_SIZE: usize = 8;
/// Size of the SHA-256 appended when header byte 23 is 1.
pub const SHA256_SIZE: usize = 32;
/// Seed of the checksum.
pub const CHECKSUM_SEED: u8 = 0xEF;

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Where the checksum byte sits when the segments end at `end`.
const fn checksum_offset(end: usize) -> usize {
    end + (15 - end % 16)
}

pub(super) fn parse(file: &[u8]) -> Result<Image<'_>, ImageError> {
    let header =
        file.get(..HEADER_SIZE).ok_or(ImageError::Truncated { what: "the image header", offset: 0 })?;
    let count = usize::from(header[1]);
    if count == 0 {
        return Err(ImageError::NoSegments);
    }
    if count > MAX_SEGMENTS {
        return Err(ImageError::TooManySegments { count, max: MAX_SEGMENTS });
    }
    let entry = le32(header, 4);
    let chip_id = u16::from_le_bytes([header[12], header[13]]);
    let hash_appended = header[23] == 1;

    let mut image = Image::new(Format::EspApp, entry, Some(chip_id));
    let mut pos = HEADER_SIZE;
    let mut sum = CHECKSUM_SEED;
    for index in 0..count {
        let truncated = |what| ImageError::Truncated { what, offset: pos as u32 };
        let seg_header = file.get(pos..pos + SEGMENT_HEADER_SIZE).ok_or(truncated("a segment header"))?;
        let addr = le32(seg_header, 0);
        let len = le32(seg_header, 4);
        let start = pos + SEGMENT_HEADER_SIZE;
        let data = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .and_then(|end| file.get(start..end))
            .ok_or(truncated("segment data"))?;
        sum = data.iter().fold(sum, |s, b| s ^ b);
        image.push(count, Segment { index: index as u8, addr, data, mem_len: len })?;
        pos = start + data.len();
    }
    let at = checksum_offset(pos);
    let stored = *file.get(at).ok_or(ImageError::Truncated { what: "the checksum", offset: at as u32 })?;
    if stored != sum {
        return Err(ImageError::Checksum { stored, computed: sum });
    }
    if hash_appended {
        let hashed = at + 1;
        let stored = file
            .get(hashed..hashed + SHA256_SIZE)
            .ok_or(ImageError::Truncated { what: "the appended SHA-256", offset: hashed as u32 })?;
        // It covers every byte before it: header, segments, padding and checksum.
        let computed = Sha256::digest(&file[..hashed]);
        if computed.as_slice() != stored {
            let first4 = |d: &[u8]| [d[0], d[1], d[2], d[3]];
            return Err(ImageError::Sha256 { stored: first4(stored), computed: first4(&computed) });
        }
    }
    Ok(image)
}

/// Why [`EspImageWriter`] could not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WriteError {
    /// The output buffer is too small.
    BufferTooSmall,
    /// More than [`MAX_SEGMENTS`] segments.
    TooManySegments,
    /// A segment longer than `u32::MAX` bytes.
    SegmentTooLarge,
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            WriteError::BufferTooSmall => "output buffer too small for the image",
            WriteError::TooManySegments => "too many segments for an ESP app image",
            WriteError::SegmentTooLarge => "segment too large",
        })
    }
}

impl core::error::Error for WriteError {}

/// Writes an ESP app image into a caller's buffer, as `elf2image` lays it out (segment
/// data padded to 4 bytes, checksum, and with [`finish_with_sha256`](Self::finish_with_sha256)
/// the appended SHA-256). See [`crate::image`] for an example.
pub struct EspImageWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
    count: u8,
    sum: u8,
}

impl<'b> EspImageWriter<'b> {
    /// Starts an image with `entry` and the header's `chip_id` (see [`super::esp_chip_id`]).
    pub fn new(buf: &'b mut [u8], entry: u32, chip_id: u16) -> Result<Self, WriteError> {
        let header = buf.get_mut(..HEADER_SIZE).ok_or(WriteError::BufferTooSmall)?;
        header.fill(0);
        header[0] = MAGIC;
        header[4..8].copy_from_slice(&entry.to_le_bytes());
        header[12..14].copy_from_slice(&chip_id.to_le_bytes());
        // No maximum chip revision (as elf2image writes by default).
        header[17..19].copy_from_slice(&0xFFFFu16.to_le_bytes());
        Ok(EspImageWriter { buf, pos: HEADER_SIZE, count: 0, sum: CHECKSUM_SEED })
    }

    /// Appends a segment loaded at `addr`.
    pub fn segment(&mut self, addr: u32, data: &[u8]) -> Result<(), WriteError> {
        self.segment_zero_extended(addr, data, data.len())
    }

    /// Appends a segment of `len` bytes (at least `data.len()`) at `addr`: `data`, then
    /// zeros. An ESP image has no `.bss` notion, so an ELF segment's zero-filled tail is
    /// written out; otherwise the loader would not know the image occupies it.
    pub fn segment_zero_extended(&mut self, addr: u32, data: &[u8], len: usize) -> Result<(), WriteError> {
        if usize::from(self.count) == MAX_SEGMENTS {
            return Err(WriteError::TooManySegments);
        }
        let padded = len.max(data.len()).div_ceil(4) * 4;
        let len = u32::try_from(padded).map_err(|_| WriteError::SegmentTooLarge)?;
        let end = self.pos + SEGMENT_HEADER_SIZE + padded;
        let out = self.buf.get_mut(self.pos..end).ok_or(WriteError::BufferTooSmall)?;
        out[..4].copy_from_slice(&addr.to_le_bytes());
        out[4..8].copy_from_slice(&len.to_le_bytes());
        out[8..8 + data.len()].copy_from_slice(data);
        out[8 + data.len()..].fill(0);
        self.sum = data.iter().fold(self.sum, |s, b| s ^ b);
        self.pos = end;
        self.count += 1;
        Ok(())
    }

    /// Writes the segment count, the padding and the checksum; returns the image length.
    pub fn finish(mut self) -> Result<usize, WriteError> {
        self.close(false)
    }

    /// [`finish`](Self::finish), then the SHA-256 of the image, announced in the header (as
    /// `elf2image` appends it by default); returns the length with the digest.
    /// [`Image::parse`] checks it.
    pub fn finish_with_sha256(mut self) -> Result<usize, WriteError> {
        let len = self.close(true)?;
        let digest = Sha256::digest(&self.buf[..len]);
        self.buf[len..len + SHA256_SIZE].copy_from_slice(&digest);
        Ok(len + SHA256_SIZE)
    }

    /// Header fields, padding and checksum, with room checked for the digest if `sha256`.
    fn close(&mut self, sha256: bool) -> Result<usize, WriteError> {
        let at = checksum_offset(self.pos);
        let room = at + 1 + if sha256 { SHA256_SIZE } else { 0 };
        if self.buf.len() < room {
            return Err(WriteError::BufferTooSmall);
        }
        self.buf[self.pos..at].fill(0);
        self.buf[at] = self.sum;
        self.buf[1] = self.count;
        self.buf[23] = u8::from(sha256);
        Ok(at + 1)
    }
}

/// Writes `image` (typically an ELF file) as an ESP app image into `out`, as `elf2image`
/// would by default: each segment's zero-filled tail written out, the checksum, and the
/// SHA-256 appended (checked when the image is parsed). Returns the length.
pub fn write_image(image: &Image<'_>, chip_id: u16, out: &mut [u8]) -> Result<usize, WriteError> {
    let mut w = EspImageWriter::new(out, image.entry(), chip_id)?;
    for seg in image.segments() {
        w.segment_zero_extended(seg.addr, seg.data, seg.mem_len as usize)?;
    }
    w.finish_with_sha256()
}
