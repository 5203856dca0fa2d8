//! ELF32 little-endian RISC-V executables, read with the `object` crate (no allocation).
//!
//! Every `PT_LOAD` program header with a non-zero memory size is a segment, loaded at its
//! physical address (`p_paddr`, the load address; equal to `p_vaddr` for the subcore's
//! linker scripts). `p_memsz − p_filesz` trailing bytes are zero-filled (`.bss`).

use object::elf::{FileHeader32, EM_RISCV, ET_EXEC, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian;

use super::{Format, Image, ImageError, Segment};

const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;
const ELFCLASS32: u8 = 1;
const ELFDATA2LSB: u8 = 1;

pub(super) fn parse(file: &[u8]) -> Result<Image<'_>, ImageError> {
    // Check the identification bytes first, so each kind of wrong file gets its own error.
    let ident = file.get(..16).ok_or(ImageError::Truncated { what: "the ELF identification", offset: 0 })?;
    if ident[EI_CLASS] != ELFCLASS32 {
        return Err(ImageError::ElfClass { class: ident[EI_CLASS] });
    }
    if ident[EI_DATA] != ELFDATA2LSB {
        return Err(ImageError::ElfEndianness { data: ident[EI_DATA] });
    }
    let header = FileHeader32::<LittleEndian>::parse(file).map_err(|_| {
        if file.len() < 52 {
            ImageError::Truncated { what: "the ELF header", offset: 0 }
        } else {
            ImageError::ElfMalformed { what: "unsupported ELF header (version)" }
        }
    })?;
    let e = LittleEndian;
    if header.e_type(e) != ET_EXEC {
        return Err(ImageError::ElfType { e_type: header.e_type(e) });
    }
    if header.e_machine(e) != EM_RISCV {
        return Err(ImageError::ElfMachine { machine: header.e_machine(e) });
    }
    let phdrs = header
        .program_headers(e, file)
        .map_err(|_| ImageError::ElfMalformed { what: "program header table outside the file" })?;

    let loads = || phdrs.iter().enumerate().filter(|(_, p)| p.p_type(e) == PT_LOAD && p.p_memsz(e) > 0);
    let total = loads().count();
    let mut image = Image::new(Format::Elf, header.e_entry(e), None);
    for (i, ph) in loads() {
        let index = u8::try_from(i).unwrap_or(u8::MAX);
        let offset = ph.p_offset(e);
        let data = ph.data(e, file).map_err(|()| ImageError::Truncated { what: "segment data", offset })?;
        let mem_len = ph.p_memsz(e);
        if ph.p_filesz(e) > mem_len {
            return Err(ImageError::ElfFileSizeTooLarge { segment: index });
        }
        image.push(total, Segment { index, addr: ph.p_paddr(e), data, mem_len })?;
    }
    if image.count == 0 {
        return Err(ImageError::NoSegments);
    }
    Ok(image)
}
