//! `espamp image info|check` on the real RISC-V fixture ELF, the ESP image made of it, and
//! malformed images.

mod common;

use std::path::PathBuf;

use common::{espamp, fixture_elf, tmp_path};

use esp_amp::image::esp::write_image;
use esp_amp::image::{esp_chip_id, Image};
use esp_amp::layout::Chip;

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let p = tmp_path(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn info_and_check_accept_the_fixture_elf_and_its_esp_image() {
    let elf = fixture_elf().to_str().unwrap().to_owned();
    let out = espamp(&["image", "info", &elf, "--chip", "esp32c6"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("(ELF), entry 0x50000080"), "{text}");
    assert!(text.contains("app descriptor: project \"tiny-subcore\", version \"0.1.0\""), "{text}");
    assert!(
        text.contains("  rtc\n") && text.contains("  hp\n") && text.contains("  app-descriptor\n"),
        "{text}"
    );
    assert!(text.contains("ok: the image fits the esp32c6 layout"), "{text}");

    let bytes = std::fs::read(&elf).unwrap();
    let mut out_buf = vec![0u8; bytes.len() + 1024];
    let n = write_image(&Image::parse(&bytes).unwrap(), esp_chip_id(Chip::Esp32C6), &mut out_buf).unwrap();
    let bin = tmp("tiny-subcore.bin", &out_buf[..n]);
    let out = espamp(&["image", "check", bin.to_str().unwrap(), "--chip", "esp32c6", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["format"], "ESP app image");
    assert_eq!(json["chip_id"], 13);
    assert_eq!(json["error"], serde_json::Value::Null);
    assert_eq!(json["segments"].as_array().unwrap().len(), 3);
    let used = json["hp_used"].as_u64().unwrap();
    assert_eq!(used + json["hp_given_back"].as_u64().unwrap(), 16384);
}

#[test]
fn check_refuses_malformed_images_with_the_reason() {
    let elf = std::fs::read(fixture_elf()).unwrap();
    // For another chip: the LP reset vector is no P4 entry point.
    let path = fixture_elf().to_str().unwrap().to_owned();
    let out = espamp(&["image", "check", &path, "--chip", "esp32p4"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused: entry point 0x50000080 is outside the subcore region"), "{err}");
    // `info` shows the same reason but succeeds.
    let out = espamp(&["image", "info", &path, "--chip", "esp32p4"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused: entry point"));

    // Wrong machine.
    let mut arm = elf.clone();
    arm[18] = 40;
    let p = tmp("arm.elf", &arm);
    let out = espamp(&["image", "check", p.to_str().unwrap(), "--chip", "esp32c6"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ELF machine 40 is not RISC-V"));

    // Truncated.
    let p = tmp("cut.elf", &elf[..40]);
    let out = espamp(&["image", "check", p.to_str().unwrap(), "--chip", "esp32c6"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated file"));

    // A segment moved onto shared memory (an ESP image with the HP segment at SHARED_START).
    let mut buf = vec![0u8; 256];
    let mut w = esp_amp::image::esp::EspImageWriter::new(&mut buf, 0x5000_0080, 13).unwrap();
    w.segment(0x5000_0080, &[0x6f, 0, 0, 0]).unwrap();
    w.segment(0x4087_A560, &[0; 8]).unwrap();
    let n = w.finish().unwrap();
    let p = tmp("overlap.bin", &buf[..n]);
    let out = espamp(&["image", "check", p.to_str().unwrap(), "--chip", "esp32c6"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("segment 1 at 0x4087a560..0x4087a568 (8 bytes) overlaps shared memory"), "{err}");

    // Not a file.
    let out = espamp(&["image", "check", "/nonexistent.elf", "--chip", "esp32c6"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.elf"));
}

/// An image with the configuration record esp-amp's subcore runtimes place in `.rodata`.
fn image_recording(config: &esp_amp::layout::AmpConfig, layout: &esp_amp::layout::MemoryLayout) -> Vec<u8> {
    let mut rodata = b"code".to_vec();
    rodata.extend_from_slice(&esp_amp::layout::ConfigRecord::new(Chip::Esp32C6, config).encode());
    let at = layout.subcore_hp.map_or(0x5000_0100, |r| r.start);
    let mut buf = vec![0u8; 512];
    let mut w = esp_amp::image::esp::EspImageWriter::new(&mut buf, 0x5000_0080, 13).unwrap();
    w.segment(0x5000_0080, &[0x6f, 0, 0, 0]).unwrap();
    w.segment(at, &rodata).unwrap();
    let n = w.finish().unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn check_takes_the_layout_from_the_image_record_and_names_a_differing_option() {
    use esp_amp::layout::{AmpConfig, MemoryLayout};
    // A pure-RTC image with a larger LP reservation: no layout option needed.
    let pure = AmpConfig {
        pure_rtc_ram_app: true,
        ulp_coproc_reserve_mem: 14_500,
        ..AmpConfig::default_for(Chip::Esp32C6)
    };
    let layout = MemoryLayout::new(Chip::Esp32C6, &pure).unwrap();
    let p = tmp("pure-rtc-recorded.bin", &image_recording(&pure, &layout));
    let path = p.to_str().unwrap();
    let out = espamp(&["image", "check", path, "--chip", "esp32c6"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("ok: the image fits the esp32c6 layout its configuration record names"), "{text}");
    // With options, those are the maincore's: the record must agree, and the first option
    // that does not is named with both values.
    let out =
        espamp(&["image", "check", path, "--chip", "esp32c6", "--pure-rtc", "--ulp-reserve-mem", "12000"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ULP_COPROC_RESERVE_MEM = 14500, the maincore with 12000"), "{err}");
    let out =
        espamp(&["image", "check", path, "--chip", "esp32c6", "--pure-rtc", "--ulp-reserve-mem", "14500"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
