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
