//! ELF32 little-endian RISC-V executables: just the parts a loader needs, read with
//! checked arithmetic and no allocation.
//!
//! Every `PT_LOAD` program header with a non-zero memory size is a segment, loaded at its
//! physical address (`p_paddr`, the load address; equal to `p_vaddr` for the subcore's
//! linker scripts). `p_memsz − p_filesz` trailing bytes are zero-filled (`.bss`). Section
//! headers are not read. (The `object` crate would do this too, but it requires the
//! `alloc` crate, which a subcore build has no allocator for.)

use super::{Format, Image, ImageError, Segment};

const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;
const EI_VERSION: usize = 6;
const ELFCLASS32: u8 = 1;
const ELFDATA2LSB: u8 = 1;
const ET_EXEC: u16 = 2;
const EM_RISCV: u16 = 243;
const PT_LOAD: u32 = 1;
const EHDR_SIZE: usize = 52;
const PHDR_SIZE: usize = 32;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(super) fn parse(file: &[u8]) -> Result<Image<'_>, ImageError> {
    // Identification first, so each kind of wrong file gets its own error.
    let ident = file.get(..16).ok_or(ImageError::Truncated { what: "the ELF identification", offset: 0 })?;
    if ident[EI_CLASS] != ELFCLASS32 {
        return Err(ImageError::ElfClass { class: ident[EI_CLASS] });
    }
    if ident[EI_DATA] != ELFDATA2LSB {
        return Err(ImageError::ElfEndianness { data: ident[EI_DATA] });
    }
    if ident[EI_VERSION] != 1 {
        return Err(ImageError::ElfMalformed { what: "unknown ELF version" });
    }
    let h = file.get(..EHDR_SIZE).ok_or(ImageError::Truncated { what: "the ELF header", offset: 0 })?;
    let e_type = u16_at(h, 16);
    if e_type != ET_EXEC {
        return Err(ImageError::ElfType { e_type });
    }
    let machine = u16_at(h, 18);
    if machine != EM_RISCV {
        return Err(ImageError::ElfMachine { machine });
    }
    let entry = u32_at(h, 24);
    let phoff = u32_at(h, 28) as usize;
    let phentsize = usize::from(u16_at(h, 42));
    let phnum = usize::from(u16_at(h, 44));
    if phnum > 0 && phentsize < PHDR_SIZE {
        return Err(ImageError::ElfMalformed { what: "program header entries smaller than 32 bytes" });
    }
    let table_end = phentsize.checked_mul(phnum).and_then(|n| n.checked_add(phoff));
    if table_end.is_none_or(|end| end > file.len()) {
        return Err(ImageError::ElfMalformed { what: "program header table outside the file" });
    }

    let phdr = |i: usize| &file[phoff + i * phentsize..phoff + i * phentsize + PHDR_SIZE];
    let is_load = |p: &[u8]| u32_at(p, 0) == PT_LOAD && u32_at(p, 20) > 0;
    let total = (0..phnum).filter(|&i| is_load(phdr(i))).count();
    let mut image = Image::new(Format::Elf, entry, None);
    for i in (0..phnum).filter(|&i| is_load(phdr(i))) {
        let p = phdr(i);
        let index = u8::try_from(i).unwrap_or(u8::MAX);
        let (offset, paddr, filesz, memsz) = (u32_at(p, 4), u32_at(p, 12), u32_at(p, 16), u32_at(p, 20));
        if filesz > memsz {
            return Err(ImageError::ElfFileSizeTooLarge { segment: index });
        }
        let data = (offset as usize)
            .checked_add(filesz as usize)
            .and_then(|end| file.get(offset as usize..end))
            .ok_or(ImageError::Truncated { what: "segment data", offset })?;
        image.push(total, Segment { index, addr: paddr, data, mem_len: memsz })?;
    }
    if image.count == 0 {
        return Err(ImageError::NoSegments);
    }
    Ok(image)
}
