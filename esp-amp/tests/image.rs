//! Firmware images: parsing, the loader's checks and placement, hand-made malformed
//! images, and a fuzz-style property over the parser and planner.

mod common;

use esp_amp::image::esp::{write_image, EspImageWriter};
use esp_amp::image::load::{
    load, plan, EntryRule, LoadError, LoadTarget, Protected, SegmentFault, WindowMemory,
};
use esp_amp::image::{esp_chip_id, Format, Image, ImageError, MAX_SEGMENTS};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout, Region};
use proptest::prelude::*;

fn layout(chip: Chip) -> MemoryLayout {
    MemoryLayout::new(chip, &AmpConfig::default_for(chip)).unwrap()
}

fn c6() -> (MemoryLayout, LoadTarget) {
    let l = layout(Chip::Esp32C6);
    (l, LoadTarget::for_layout(&l))
}

const RESET: u32 = 0x5000_0080;

/// An ESP image for `chip` with `segments`.
fn esp_image(entry: u32, chip: Chip, segments: &[(u32, &[u8])]) -> Vec<u8> {
    common::esp_image(entry, esp_chip_id(chip), segments)
}

/// A minimal ELF32 executable: header, program headers, then each segment's data.
/// `segments`: (paddr, data, memsz).
fn elf(machine: u16, entry: u32, segments: &[(u32, &[u8], u32)]) -> Vec<u8> {
    let phoff = 52u32;
    let data_start = phoff + 32 * segments.len() as u32;
    let mut f = vec![0x7F, b'E', b'L', b'F', 1, 1, 1, 0];
    f.resize(16, 0);
    for v in [2u16, machine] {
        f.extend_from_slice(&v.to_le_bytes()); // e_type EXEC, e_machine
    }
    for v in [1u32, entry, phoff, 0, 0] {
        f.extend_from_slice(&v.to_le_bytes()); // version, entry, phoff, shoff, flags
    }
    for v in [52u16, 32, segments.len() as u16, 40, 0, 0] {
        f.extend_from_slice(&v.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    }
    let mut offset = data_start;
    for (addr, data, memsz) in segments {
        for v in [1u32, offset, *addr, *addr, data.len() as u32, *memsz, 7, 4] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        offset += data.len() as u32;
    }
    for (_, data, _) in segments {
        f.extend_from_slice(data);
    }
    f
}

fn seg_fault(r: Result<impl std::fmt::Debug, LoadError>) -> (u8, SegmentFault) {
    match r {
        Err(LoadError::Segment { index, fault, .. }) => (index, fault),
        other => panic!("expected a segment error, got {other:?}"),
    }
}

#[test]
fn a_good_image_loads_into_both_windows_after_zeroing_them() {
    let (l, t) = c6();
    let hp = l.subcore_hp.unwrap();
    let rtc = t.rtc.unwrap();
    let file = esp_image(RESET, Chip::Esp32C6, &[(RESET, &[1, 2, 3, 4]), (hp.start + 8, b"data!!!!")]);
    let (mut hp_ram, mut rtc_ram) =
        (vec![0xAA; hp.len() as usize], vec![0xAA; (l.rtc.unwrap().pool.start - rtc.start) as usize]);
    let mut mem = WindowMemory::new([(hp.start, &mut hp_ram[..]), (rtc.start, &mut rtc_ram[..])]);
    let loaded = load(&file, &t, &mut mem).unwrap();
    assert_eq!(loaded.format, Format::EspApp);
    assert_eq!(loaded.loaded_segments, 2);
    assert_eq!(loaded.loaded_bytes, 12);
    assert_eq!(loaded.hp_end, Some(hp.start + 16));
    assert_eq!(loaded.unused_hp, Some(Region { start: hp.start + 16, end: hp.end }));
    assert_eq!(&hp_ram[8..16], b"data!!!!");
    assert!(hp_ram[..8].iter().chain(&hp_ram[16..]).all(|&b| b == 0));
    assert_eq!(&rtc_ram[0x80..0x84], &[1, 2, 3, 4]);
    assert!(rtc_ram[..0x80].iter().chain(&rtc_ram[0x84..]).all(|&b| b == 0), "RTC zeroed up to the pool");
}

#[test]
fn an_elf_zero_fills_bss_tails_and_converts_to_the_same_esp_image_extent() {
    let (l, t) = c6();
    let hp = l.subcore_hp.unwrap();
    let file = elf(243, RESET, &[(RESET, &[0x6f, 0, 0, 0], 4), (hp.start, b"abcd", 64)]);
    let image = Image::parse(&file).unwrap();
    assert_eq!(image.format(), Format::Elf);
    assert_eq!(image.chip_id(), None);
    assert_eq!(image.segments()[1].mem_len, 64);
    let mut hp_ram = vec![0xAA; hp.len() as usize];
    let mut rtc_ram = vec![0xAA; 0x1000];
    let mut mem = WindowMemory::new([(hp.start, &mut hp_ram[..]), (0x5000_0000, &mut rtc_ram[..])]);
    let loaded = load(&file, &t, &mut mem).unwrap();
    assert_eq!(loaded.hp_end, Some(hp.start + 64), "the .bss tail counts as used");
    assert_eq!(&hp_ram[..4], b"abcd");

    let mut out = vec![0u8; 512];
    let len = write_image(&image, esp_chip_id(Chip::Esp32C6), &mut out).unwrap();
    let converted = plan(&out[..len], &t).unwrap();
    assert_eq!(converted.hp_end, loaded.hp_end);
    assert_eq!(converted.entry, RESET);
}

#[test]
fn segments_outside_the_windows_or_over_protected_memory_are_refused_by_name() {
    let (l, t) = c6();
    let hp = l.subcore_hp.unwrap();
    let rtc = l.rtc.unwrap();
    let nop: &[u8] = &[0x13, 0, 0, 0];
    let cases: [(u32, usize, SegmentFault); 7] = [
        (0x4080_0000, 4, SegmentFault::OutsideRegions),
        (l.shared.start, 4, SegmentFault::Overlaps(Protected::SharedMemory)),
        (hp.end - 4, 8, SegmentFault::Overlaps(Protected::SharedMemory)),
        (l.panic_dump.start + 16, 4, SegmentFault::Overlaps(Protected::PanicDump)),
        (rtc.pool.start, 4, SegmentFault::Overlaps(Protected::RtcPool)),
        (rtc.ulp_shared_cfg.start - 4, 8, SegmentFault::Overlaps(Protected::UlpSharedCfg)),
        (hp.start - 4, 8, SegmentFault::NotInOneWindow),
    ];
    for (addr, len, fault) in cases {
        let data = vec![0u8; len];
        let file = esp_image(RESET, Chip::Esp32C6, &[(RESET, nop), (addr, &data)]);
        assert_eq!(seg_fault(plan(&file, &t)), (1, fault), "segment at {addr:#x}");
        let text = plan(&file, &t).unwrap_err().to_string();
        assert!(text.starts_with("segment 1 at "), "{text}");
    }
}

#[test]
fn a_segment_from_hp_into_rtc_cannot_pass_as_two_valid_ends() {
    // C accepts a segment whose start and end each lie in *some* window; this one starts
    // in the HP region and "ends" in RTC RAM by wrapping far beyond it.
    let (l, t) = c6();
    let hp = l.subcore_hp.unwrap();
    let len = (0x5000_0100 - hp.start) as usize;
    let file = elf(243, RESET, &[(hp.start, &[], len as u32)]);
    assert_eq!(seg_fault(plan(&file, &t)).1, SegmentFault::Overlaps(Protected::SharedMemory));
}

#[test]
fn overlapping_segments_are_refused() {
    let (l, t) = c6();
    let hp = l.subcore_hp.unwrap();
    let file =
        esp_image(RESET, Chip::Esp32C6, &[(RESET, &[0; 4]), (hp.start, &[0; 16]), (hp.start + 8, &[0; 4])]);
    assert_eq!(seg_fault(plan(&file, &t)), (2, SegmentFault::OverlapsSegment { other: 1 }));
}

#[test]
fn address_overflow_is_refused_while_parsing() {
    let file = elf(243, RESET, &[(0xFFFF_FFF0, &[], 0x20)]);
    assert_eq!(
        Image::parse(&file).unwrap_err(),
        ImageError::AddressOverflow { segment: 0, addr: 0xFFFF_FFF0, len: 0x20 }
    );
}

#[test]
fn segment_counts_above_the_maximum_are_refused() {
    let mut file = esp_image(RESET, Chip::Esp32C6, &[(RESET, &[0; 4])]);
    file[1] = (MAX_SEGMENTS + 1) as u8;
    assert_eq!(Image::parse(&file).unwrap_err(), ImageError::TooManySegments { count: 17, max: 16 });
    file[1] = 0;
    assert_eq!(Image::parse(&file).unwrap_err(), ImageError::NoSegments);

    let (l, _) = c6();
    let hp = l.subcore_hp.unwrap().start;
    let segs: Vec<(u32, &[u8], u32)> = (0..17).map(|i| (hp + 16 * i, &[][..], 4)).collect();
    assert!(matches!(
        Image::parse(&elf(243, RESET, &segs)),
        Err(ImageError::TooManySegments { count: 17, .. })
    ));
    let mut buf = vec![0u8; 1024];
    let mut w = EspImageWriter::new(&mut buf, RESET, 13).unwrap();
    for i in 0..16 {
        w.segment(hp + 16 * i, &[0; 4]).unwrap();
    }
    assert!(w.segment(hp + 1024, &[0; 4]).is_err(), "the writer keeps the limit too");
}

#[test]
fn truncated_files_are_refused_at_every_length() {
    let (l, _) = c6();
    let hp = l.subcore_hp.unwrap();
    let esp = esp_image(RESET, Chip::Esp32C6, &[(RESET, &[7; 8]), (hp.start, &[9; 20])]);
    for cut in 0..esp.len() {
        let e = Image::parse(&esp[..cut]).unwrap_err();
        assert!(matches!(e, ImageError::Truncated { .. }), "cut {cut}: {e:?}");
    }
    let elf_file = elf(243, RESET, &[(RESET, &[7; 8], 8), (hp.start, &[9; 20], 20)]);
    for cut in 0..elf_file.len() {
        let e = Image::parse(&elf_file[..cut]).unwrap_err();
        assert!(
            matches!(e, ImageError::Truncated { .. } | ImageError::ElfMalformed { .. }),
            "cut {cut}: {e:?}"
        );
    }
}

#[test]
fn wrong_elf_class_endianness_type_and_machine_are_refused() {
    let good = elf(243, RESET, &[(RESET, &[0; 4], 4)]);
    let mut f = good.clone();
    f[4] = 2;
    assert_eq!(Image::parse(&f).unwrap_err(), ImageError::ElfClass { class: 2 });
    let mut f = good.clone();
    f[5] = 2;
    assert_eq!(Image::parse(&f).unwrap_err(), ImageError::ElfEndianness { data: 2 });
    let mut f = good.clone();
    f[16] = 1; // ET_REL
    assert_eq!(Image::parse(&f).unwrap_err(), ImageError::ElfType { e_type: 1 });
    let arm = elf(40, RESET, &[(RESET, &[0; 4], 4)]);
    assert_eq!(Image::parse(&arm).unwrap_err(), ImageError::ElfMachine { machine: 40 });
    assert!(Image::parse(&arm).unwrap_err().to_string().contains("not RISC-V"));
    let mut f = good;
    f[24 + 4..24 + 8].copy_from_slice(&0x10_0000u32.to_le_bytes()); // e_phoff past the end
    assert!(matches!(Image::parse(&f).unwrap_err(), ImageError::ElfMalformed { .. }));
    assert!(matches!(Image::parse(b"MZ\x90\0"), Err(ImageError::UnknownFormat { first_byte: b'M' })));
}

#[test]
fn a_corrupted_byte_fails_the_checksum() {
    let (l, t) = c6();
    let mut file =
        esp_image(RESET, Chip::Esp32C6, &[(RESET, &[1, 2, 3, 4]), (l.subcore_hp.unwrap().start, b"abcd")]);
    let data_byte = 24 + 8 + 1;
    file[data_byte] ^= 0x40;
    assert!(matches!(plan(&file, &t), Err(LoadError::Image(ImageError::Checksum { .. }))));
}

#[test]
fn the_appended_sha256_is_written_and_checked() {
    let (l, t) = c6();
    let hp = l.subcore_hp.unwrap().start;
    let mut buf = vec![0u8; 256];
    let mut w = EspImageWriter::new(&mut buf, RESET, 13).unwrap();
    w.segment(RESET, &[1, 2, 3, 4]).unwrap();
    w.segment(hp, b"abcdefgh").unwrap();
    let len = w.finish_with_sha256().unwrap();
    let file = &buf[..len];
    assert_eq!(file[23], 1, "the header announces the digest");
    // Header 24, two segments 8 + 4 and 8 + 8, padding and checksum to 64, digest 32.
    assert_eq!(len, 64 + 32);
    assert!(plan(file, &t).is_ok());

    // Two data bytes changed so that the XOR checksum still holds: only the digest sees it.
    let mut f = file.to_vec();
    f[24 + 8 + 12] ^= 0x01;
    f[24 + 8 + 13] ^= 0x01;
    assert!(matches!(plan(&f, &t), Err(LoadError::Image(ImageError::Sha256 { .. }))));
    let e = Image::parse(&f).unwrap_err();
    assert!(e.to_string().contains("SHA-256 mismatch"), "{e}");
    // A damaged digest.
    let mut f = file.to_vec();
    f[len - 1] ^= 0x80;
    assert!(matches!(Image::parse(&f), Err(ImageError::Sha256 { .. })));
    // Announced but cut short: refused at every length, never a panic.
    for cut in 64..len {
        assert!(matches!(Image::parse(&file[..cut]), Err(ImageError::Truncated { .. })), "cut {cut}");
    }
    // The writer refuses a buffer without room for the digest.
    let mut small = vec![0u8; 64 + 31];
    let mut w = EspImageWriter::new(&mut small, RESET, 13).unwrap();
    w.segment(RESET, &[1, 2, 3, 4]).unwrap();
    w.segment(hp, b"abcdefgh").unwrap();
    assert!(w.finish_with_sha256().is_err());
}

#[test]
fn the_chip_id_and_the_entry_rule_are_enforced() {
    let (l, t) = c6();
    let hp = l.subcore_hp.unwrap();
    let p4_image = esp_image(RESET, Chip::Esp32P4, &[(RESET, &[0; 4])]);
    assert_eq!(plan(&p4_image, &t).unwrap_err(), LoadError::WrongChip { expected: 13, found: 18 });
    // LP core: only the reset vector.
    let off_vector = esp_image(RESET + 4, Chip::Esp32C6, &[(RESET, &[0; 8])]);
    assert_eq!(
        plan(&off_vector, &t).unwrap_err(),
        LoadError::Entry { entry: RESET + 4, rule: EntryRule::Exactly(RESET) }
    );
    // P4 HP core: anywhere inside its HP region.
    let p4 = layout(Chip::Esp32P4);
    let tp4 = LoadTarget::for_layout(&p4);
    let php = p4.subcore_hp.unwrap();
    assert!(plan(&esp_image(php.start + 0x100, Chip::Esp32P4, &[(php.start, &[0; 0x200])]), &tp4).is_ok());
    let outside = esp_image(hp.start, Chip::Esp32P4, &[(php.start, &[0; 4])]);
    assert!(matches!(plan(&outside, &tp4), Err(LoadError::Entry { rule: EntryRule::Within(_), .. })));
    // P4 has no RTC window.
    let rtc_seg = esp_image(php.start, Chip::Esp32P4, &[(php.start, &[0; 4]), (RESET, &[0; 4])]);
    assert_eq!(seg_fault(plan(&rtc_seg, &tp4)), (1, SegmentFault::OutsideRegions));
}

#[test]
fn the_app_descriptor_is_read_and_skipped_and_a_bad_one_is_refused() {
    let (_, t) = c6();
    let mut desc = [0u8; 256];
    desc[..4].copy_from_slice(&0xABCD_5432u32.to_le_bytes());
    desc[16..21].copy_from_slice(b"1.2.3");
    desc[48..52].copy_from_slice(b"demo");
    let file = esp_image(RESET, Chip::Esp32C6, &[(0x4200_0020, &desc), (RESET, &[0; 4])]);
    let loaded = plan(&file, &t).unwrap();
    let d = loaded.app_desc.unwrap();
    assert_eq!((d.version, d.project_name), ("1.2.3", "demo"));
    assert_eq!(loaded.loaded_segments, 1);
    desc[0] = 0;
    let bad = esp_image(RESET, Chip::Esp32C6, &[(0x4200_0020, &desc), (RESET, &[0; 4])]);
    assert_eq!(seg_fault(plan(&bad, &t)), (0, SegmentFault::BadAppDescriptor));
}

#[test]
fn a_reload_stays_below_memory_given_back_to_the_heap() {
    let (l, t) = c6();
    let hp = l.subcore_hp.unwrap();
    let first = esp_image(RESET, Chip::Esp32C6, &[(RESET, &[0; 4]), (hp.start, &[1; 0x100])]);
    let loaded = plan(&first, &t).unwrap();
    let shrunk = t.with_hp_end(loaded.unused_hp.unwrap().start);
    assert!(plan(&first, &shrunk).is_ok());
    let bigger = esp_image(RESET, Chip::Esp32C6, &[(RESET, &[0; 4]), (hp.start, &[1; 0x104])]);
    assert_eq!(seg_fault(plan(&bigger, &shrunk)).1, SegmentFault::NotInOneWindow);
    // Zeroing covers only what the subcore still owns.
    let mut hp_ram = vec![0xAAu8; hp.len() as usize];
    let mut rtc_ram = vec![0u8; 0x1000];
    let mut mem = WindowMemory::new([(hp.start, &mut hp_ram[..]), (0x5000_0000, &mut rtc_ram[..])]);
    load(&first, &shrunk, &mut mem).unwrap();
    assert!(hp_ram[0x100..].iter().all(|&b| b == 0xAA), "heap memory above the image untouched");
}

#[test]
fn a_backend_that_does_not_cover_the_target_is_an_error_not_a_panic() {
    let (_, t) = c6();
    let file = esp_image(RESET, Chip::Esp32C6, &[(RESET, &[0; 4])]);
    let mut small = [0u8; 16];
    let mut mem = WindowMemory::new([(0x5000_0000, &mut small[..])]);
    assert!(matches!(load(&file, &t, &mut mem), Err(LoadError::Memory { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 8 } else { 2000 }, ..ProptestConfig::default() })]

    /// Fuzz: arbitrary bytes (with a valid magic half of the time) never panic the
    /// parser or the planner.
    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..600), kind in 0u8..3) {
        match kind {
            0 => if let Some(b) = bytes.first_mut() { *b = 0xE9 },
            1 if bytes.len() >= 6 => bytes[..6].copy_from_slice(&[0x7F, b'E', b'L', b'F', 1, 1]),
            _ => {}
        }
        let (_, t) = c6();
        let _ = Image::parse(&bytes);
        let _ = plan(&bytes, &t);
    }

    /// Fuzz: single-byte corruptions of a valid image are either refused or still plan
    /// to segments inside the windows.
    #[test]
    fn corrupted_images_are_refused_or_stay_inside(pos in any::<proptest::sample::Index>(), xor in 1u8..=255, as_elf in any::<bool>()) {
        let (l, t) = c6();
        let hp = l.subcore_hp.unwrap();
        let mut file = if as_elf {
            elf(243, RESET, &[(RESET, &[1; 8], 8), (hp.start, &[2; 16], 32)])
        } else {
            esp_image(RESET, Chip::Esp32C6, &[(RESET, &[1; 8]), (hp.start, &[2; 16])])
        };
        let i = pos.index(file.len());
        file[i] ^= xor;
        if let Ok(image) = Image::parse(&file) {
            if plan(&file, &t).is_ok() {
                for s in image.segments().iter().filter(|s| s.mem_len > 0) {
                    let r = s.range();
                    let inside = |w: Region| w.start <= r.start && r.end <= w.end;
                    let flash = Region { start: 0x4200_0000, end: 0x4300_0000 };
                    prop_assert!(inside(hp) || inside(t.rtc.unwrap()) || inside(flash), "segment {:?}", r);
                }
            }
        }
    }
}

#[test]
fn an_image_built_for_another_configuration_is_refused_with_the_option_named() {
    use esp_amp::layout::ConfigRecord;
    let (l, t) = c6();
    let hp = l.subcore_hp.unwrap();
    let with_record = |config: &AmpConfig| {
        let mut rodata = b"code".to_vec();
        rodata.extend_from_slice(&ConfigRecord::new(Chip::Esp32C6, config).encode());
        esp_image(RESET, Chip::Esp32C6, &[(RESET, &[1, 2, 3, 4]), (hp.start, &rodata)])
    };
    // The same configuration, and an image without a record (ESP-AMP C's): accepted.
    assert!(plan(&with_record(&l.config), &t).is_ok());
    assert!(plan(&esp_image(RESET, Chip::Esp32C6, &[(RESET, &[1, 2, 3, 4])]), &t).is_ok());
    // Another one: refused before anything is written, naming the option and both values.
    let other = AmpConfig { subcore_stack_size_min: 2048, ..l.config };
    let err = plan(&with_record(&other), &t).unwrap_err();
    let LoadError::Config(m) = err else { panic!("{err:?}") };
    assert_eq!((m.option, m.image, m.expected), ("ESP_AMP_SUBCORE_STACK_SIZE_MIN", 2048, 1024));
    let text = err.to_string();
    assert!(text.contains("ESP_AMP_SUBCORE_STACK_SIZE_MIN = 2048") && text.contains("1024"), "{text}");
    // A loader that checks no configuration (a target built by hand) accepts it.
    assert!(plan(&with_record(&other), &LoadTarget { config: None, ..t }).is_ok());
    // A record of another format version is not read as this one.
    let mut newer = ConfigRecord::new(Chip::Esp32C6, &l.config).encode();
    newer[8] = 2;
    let found = ConfigRecord::find(&newer).unwrap();
    assert_eq!(found.compare(&ConfigRecord::of(&l)).unwrap_err().option, "record version");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

    #[test]
    fn config_records_round_trip_and_are_found_at_any_aligned_offset(
        hp in 1024u32..20480, stack in 256u32..4096, pad in 0usize..16, junk in any::<u8>(),
    ) {
        use esp_amp::layout::ConfigRecord;
        let config = AmpConfig { hp_shared_mem_size: hp, subcore_stack_size_min: stack, ..AmpConfig::default_for(Chip::Esp32C5) };
        let record = ConfigRecord::new(Chip::Esp32C5, &config);
        let mut bytes = vec![junk; pad * 4];
        bytes.extend_from_slice(&record.encode());
        prop_assert_eq!(ConfigRecord::find(&bytes), Some(record));
        prop_assert_eq!(ConfigRecord::decode(&record.encode()[..ConfigRecord::SIZE - 1]), None);
    }
}
