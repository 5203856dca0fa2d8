//! The loader on a real RISC-V ELF: `firmware/tiny-subcore`, built here for
//! riscv32imac-unknown-none-elf, loaded from its ELF and from an ESP app image made of it.

use std::sync::OnceLock;

use esp_amp::image::esp::write_image;
use esp_amp::image::load::{load, plan, LoadError, LoadTarget, WindowMemory};
use esp_amp::image::{esp_chip_id, Format, Image, ImageError};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};

fn tiny_subcore() -> &'static [u8] {
    static ELF: OnceLock<Vec<u8>> = OnceLock::new();
    ELF.get_or_init(|| {
        let path =
            esp_amp_host::firmware::build_workspace_firmware("tiny-subcore", "riscv32imac-unknown-none-elf")
                .expect("building firmware/tiny-subcore for riscv32imac (needs rustup)");
        std::fs::read(path).unwrap()
    })
}

fn c6() -> (MemoryLayout, LoadTarget) {
    let l = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
    (l, LoadTarget::for_layout(&l))
}

/// Loads `file` into fresh HP and RTC RAM stand-ins filled with 0xAA.
fn load_into_ram(file: &[u8], t: &LoadTarget) -> (Vec<u8>, Vec<u8>, u32) {
    let hp = t.hp.unwrap();
    let rtc = t.rtc_clear.unwrap();
    let mut hp_ram = vec![0xAA; hp.len() as usize];
    let mut rtc_ram = vec![0xAA; rtc.len() as usize];
    let mut mem = WindowMemory::new([(hp.start, &mut hp_ram[..]), (rtc.start, &mut rtc_ram[..])]);
    let loaded = load(file, t, &mut mem).unwrap();
    (hp_ram, rtc_ram, loaded.hp_end.unwrap())
}

#[test]
fn the_real_elf_loads_with_code_data_bss_and_app_descriptor_in_place() {
    let (l, t) = c6();
    let file = tiny_subcore();
    let image = Image::parse(file).unwrap();
    assert_eq!(image.format(), Format::Elf);
    assert_eq!(image.entry(), l.rtc.unwrap().reset_vector);
    let loaded = plan(file, &t).unwrap();
    let desc = loaded.app_desc.expect("the fixture carries an app descriptor");
    assert_eq!((desc.project_name, desc.version), ("tiny-subcore", "0.1.0"));
    assert_eq!(loaded.loaded_segments, 2, "reset vector in RTC RAM, the rest in HP RAM");

    let (hp_ram, rtc_ram, hp_end) = load_into_ram(file, &t);
    let hp = l.subcore_hp.unwrap();
    // `.data` holds COUNTER's initial value; `.bss` (zero-filled from p_memsz) follows.
    let used = &hp_ram[..(hp_end - hp.start) as usize];
    assert!(used.windows(4).any(|w| w == 0x1234_5678u32.to_le_bytes()), "COUNTER's initial value is loaded");
    assert!(used.ends_with(&[0; 64]), "SCRATCH (.bss, 64 bytes) is zeroed");
    assert!(hp_ram[used.len()..].iter().all(|&b| b == 0), "the rest of the region was zeroed");
    // The reset vector starts with `la sp, __stack_top` (auipc sp, …).
    assert_eq!(rtc_ram[0x80] & 0x7F, 0x17, "auipc at the reset vector");
    assert_eq!((rtc_ram[0x80] >> 7) | ((rtc_ram[0x81] & 0x0F) << 1), 2, "rd = sp");
    assert_eq!(loaded.unused_hp.unwrap().start, hp_end);
}

#[test]
fn the_converted_esp_image_loads_the_same_bytes_as_the_elf() {
    let (_, t) = c6();
    let elf = tiny_subcore();
    let image = Image::parse(elf).unwrap();
    let mut out = vec![0u8; elf.len() + 1024];
    let len = write_image(&image, esp_chip_id(Chip::Esp32C6), &mut out).unwrap();
    let esp = &out[..len];
    assert_eq!(Image::parse(esp).unwrap().format(), Format::EspApp);
    assert_eq!(load_into_ram(esp, &t), load_into_ram(elf, &t));
}

#[test]
fn the_real_elf_is_refused_for_another_layout_or_when_corrupted() {
    let file = tiny_subcore();
    // ESP32-P4: the LP reset vector is not in its HP subcore region.
    let p4 = MemoryLayout::new(Chip::Esp32P4, &AmpConfig::default_for(Chip::Esp32P4)).unwrap();
    assert!(matches!(plan(file, &LoadTarget::for_layout(&p4)), Err(LoadError::Entry { .. })));
    // ESP32-C5: the C6 HP addresses are not its subcore region.
    let c5 = MemoryLayout::new(Chip::Esp32C5, &AmpConfig::default_for(Chip::Esp32C5)).unwrap();
    let e = plan(file, &LoadTarget::for_layout(&c5)).unwrap_err();
    assert!(matches!(e, LoadError::Segment { .. }), "{e}");
    // Wrong machine.
    let mut arm = file.to_vec();
    arm[18..20].copy_from_slice(&40u16.to_le_bytes());
    assert_eq!(Image::parse(&arm).unwrap_err(), ImageError::ElfMachine { machine: 40 });
    // Truncated in the middle of the segment data.
    let cut = &file[..file.len() / 2];
    assert!(Image::parse(cut).is_err());
}
