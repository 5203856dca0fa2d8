//! `espamp shm dump` on every golden image of the C implementation (what its manifest
//! describes) and on a live host-port region file.

mod common;

use std::path::{Path, PathBuf};

use common::{espamp, tmp_path};

use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::queue::QueueSpec;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::panic::PanicDump;
use esp_amp::MainCore;
use esp_amp_host::HostRegion;
use serde_json::Value;

fn compat_dir() -> PathBuf {
    std::env::var_os("ESP_AMP_COMPAT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../compat/esp-amp-c"))
}

fn dump_json(file: &Path) -> Value {
    let out = espamp(&["shm", "dump", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn dump_text(file: &Path) -> String {
    let out = espamp(&["shm", "dump", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `(id, size, kind)` of each HP entry.
fn entries(j: &Value) -> Vec<(u64, u64, String)> {
    j["pools"][0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (e["id"].as_u64().unwrap(), e["size"].as_u64().unwrap(), e["kind"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn entry(j: &Value, id: u64) -> &Value {
    j["pools"][0]["entries"].as_array().unwrap().iter().find(|e| e["id"] == id).unwrap()
}

/// `(src, dst, text)` of the messages in flight in RPMsg queue `q` (0: main → sub).
fn messages(j: &Value, q: usize) -> Vec<(u64, u64, String)> {
    entry(j, 0xFF03)["rpmsg"]["queues"][q]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["fault"], Value::Null);
            (m["src"].as_u64().unwrap(), m["dst"].as_u64().unwrap(), m["text"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// First byte and length of each queued item, oldest first.
fn queue_items(j: &Value) -> Vec<(u64, String)> {
    let q = &entry(j, 0x0100)["queue"];
    assert_eq!((q["len"].as_u64(), q["item_size"].as_u64()), (Some(8), Some(16)));
    q["in_flight"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["len"].as_u64().unwrap(), i["data"].as_str().unwrap()[..2].to_owned()))
        .collect()
}

fn check_golden(name: &str, j: &Value) {
    assert_eq!(j["shared"]["start"], 0x4087_A560, "{name}");
    assert_eq!(j["pools"][0]["error"], Value::Null, "{name}");
    let rpmsg_entries = vec![
        (0xFF01, 4, "event".to_owned()),
        (0xFF02, 4, "event".to_owned()),
        (0xFF03, 2 * (12 + 8 * 4 + 32 * 4), "rpmsg".to_owned()),
    ];
    let (hello, digits, pong) =
        ((2, 1, "hello".to_owned()), (2, 3, "0123456789".to_owned()), (1, 2, "pong!".to_owned()));
    let sw = |who: &str| j["sw_intr"][who].as_u64().unwrap();
    match name {
        "sysinfo.bin" => {
            assert_eq!(
                entries(j),
                [(1, 20, "data".into()), (2, 3, "data".into()), (0x10, 64, "data".into())]
            );
            assert!(entry(j, 1)["data"].as_str().unwrap().starts_with("a0 a1 a2"));
            assert_eq!(entry(j, 2)["data"], "01 02 03");
            assert!(entry(j, 0x10)["data"].as_str().unwrap().starts_with("00 01 02 03"));
        }
        "event_swintr.bin" => {
            assert_eq!(entries(j), rpmsg_entries[..2]);
            assert_eq!(entry(j, 0xFF01)["word"], 0x8000_0001u32);
            assert_eq!(entry(j, 0xFF02)["word"], 0x5);
            assert_eq!(sw("for_subcore"), (1 << 30) | (1 << 3));
            assert_eq!(sw("for_maincore"), (1 << 30) | (1 << 7));
            assert_eq!(j["sw_intr"]["for_maincore_ids"], serde_json::json!(["7", "EVENT(30)"]));
        }
        "queue_init.bin" => {
            assert_eq!(entries(j), [(0x100, 12 + 8 * 8 + 16 * 8, "queue".into())]);
            assert_eq!(queue_items(j), []);
        }
        "queue_sent3.bin" => {
            assert_eq!(queue_items(j), [(5, "00".into()), (6, "01".into()), (7, "02".into())]);
        }
        "queue_recv2.bin" => assert_eq!(queue_items(j), [(7, "02".into())]),
        "queue_wrapped.bin" => {
            let want: Vec<(u64, String)> = (2..10u64).map(|i| (5 + i % 8, format!("{i:02x}"))).collect();
            assert_eq!(queue_items(j), want);
            assert_eq!(entry(j, 0x100)["queue"]["free"], 0);
        }
        "rpmsg_init.bin" => {
            assert_eq!(entries(j), rpmsg_entries);
            assert_eq!((messages(j, 0), messages(j, 1)), (vec![], vec![]));
        }
        "rpmsg_main_sent.bin" => assert_eq!(messages(j, 0), [hello, digits]),
        // 'hello' was received and destroyed; the 10-byte message is still held.
        "rpmsg_sub_recv.bin" => assert_eq!((messages(j, 0), messages(j, 1)), (vec![digits], vec![])),
        "rpmsg_sub_sent.bin" => {
            assert_eq!((messages(j, 0), messages(j, 1)), (vec![digits], vec![pong]));
            assert_eq!(sw("for_maincore"), 1 << 29);
            assert_eq!(j["sw_intr"]["for_maincore_ids"], serde_json::json!(["RPMSG(29)"]));
        }
        "rpmsg_main_recv.bin" => assert_eq!((messages(j, 0), messages(j, 1)), (vec![digits], vec![])),
        other => panic!("no expectation for golden image {other}: add one"),
    }
    if name.starts_with("rpmsg_") {
        assert_eq!(entries(j), rpmsg_entries, "{name}");
    }
}

#[test]
fn every_golden_image_decodes_as_its_manifest_describes() {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(compat_dir().join("manifest.json")).unwrap()).unwrap();
    let images = manifest["images"].as_array().unwrap();
    assert_eq!(images.len(), 11);
    for image in images {
        let name = image["file"].as_str().unwrap();
        let path = compat_dir().join(name);
        check_golden(name, &dump_json(&path));
    }
}

#[test]
fn text_output_names_blocks_and_messages() {
    let text = dump_text(&compat_dir().join("rpmsg_sub_sent.bin"));
    for line in [
        "raw shared region 0x4087a560..0x4087e560 (16384 bytes)",
        "  for the maincore  0x20000000  RPMSG(29)",
        "SysInfo HP pool 0x4087a580..0x4087e560: 3 entries",
        "0xff03 VQUEUE     at 0x4087a5a8    344 B  RPMsg device: 2 queues of 4 x 32 B (payload up to 24 B)",
        "    maincore -> subcore: 1 in flight, 3 free",
        "      slot 1       2 -> 3       10 B  \"0123456789\"",
        "      slot 0       1 -> 2        5 B  \"pong!\"",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn a_corrupted_image_is_shown_with_its_faults() {
    let mut bytes = std::fs::read(compat_dir().join("rpmsg_main_sent.bin")).unwrap();
    // The 'hello' buffer's data_len (header at the first Q0 buffer + 4) beyond the payload.
    let block = 0x4087_A5A8u32 - 0x4087_A560;
    let buf0 = (block + 24 + 2 * 8 * 4) as usize;
    bytes[buf0 + 4..buf0 + 6].copy_from_slice(&200u16.to_le_bytes());
    // Break the SysInfo chain after the first entry.
    let first = (0x4087_A588u32 - 0x4087_A560) as usize;
    bytes[first + 4..first + 8].copy_from_slice(&0x1000_0000u32.to_le_bytes());
    let path = tmp_path("corrupt_rpmsg.bin");
    std::fs::write(&path, &bytes).unwrap();
    // A broken chain does not look like a shared region: refused in one line…
    let out = espamp(&["shm", "dump", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a shared region") && err.contains("--force"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // …and shown as far as it goes with --force.
    let out = espamp(&["shm", "dump", path.to_str().unwrap(), "--json", "--force"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entries(&j), [(0xFF01, 4, "event".to_owned())]);
    assert!(j["pools"][0]["error"].as_str().unwrap().contains("corrupted"), "{j}");

    // Repair the chain: the message is now listed as dropped with its reason.
    let orig = std::fs::read(compat_dir().join("rpmsg_main_sent.bin")).unwrap();
    bytes[first + 4..first + 8].copy_from_slice(&orig[first + 4..first + 8]);
    std::fs::write(&path, &bytes).unwrap();
    let text = dump_text(&path);
    assert!(text.contains("dropped: data_len 200 exceeds the buffer"), "{text}");
}

#[test]
fn a_live_host_region_file_shows_traffic_the_rtc_pool_and_the_panic_dump() {
    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
    let path = tmp_path("host-region.bin");
    let region = HostRegion::create_file(&path, &layout).unwrap();
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let dev = Rpmsg::<MainCore>::create(&mut sys, QueueSpec::new(8, 64).unwrap()).unwrap();
    let ept = dev.create_endpoint(5, Receiver::Mailbox).unwrap();
    dev.send(ept, 9, b"still queued").unwrap();
    dev.send(ept, 9, &[0xde, 0xad]).unwrap();
    PanicDump::new(region.panic_dump()).unwrap().write_abort(format_args!("subcore gave up"));

    let j = dump_json(&path);
    assert_eq!(j["source"], "host region file");
    assert_eq!(j["shared"]["start"], layout.shared.start);
    assert_eq!(j["pools"].as_array().unwrap().len(), 2, "HP and RTC pools");
    assert_eq!(j["pools"][1]["pool"], "rtc");
    let q0 = &entry(&j, 0xFF03)["rpmsg"]["queues"][0];
    assert_eq!(q0["queue"]["filled"], 2);
    assert_eq!(q0["messages"][0]["text"], "still queued");
    assert_eq!(q0["messages"][1]["hex"], "de ad");
    assert_eq!(q0["messages"][1]["text"], Value::Null);
    assert_eq!(j["panic_dump"]["is_abort"], true);
    assert_eq!(j["panic_dump"]["message"], "subcore gave up");
    let text = dump_text(&path);
    assert!(text.contains("panic dump at 0x4087e560: abort: subcore gave up"), "{text}");
    drop(region);
}

#[test]
fn bad_input_is_a_clear_error() {
    let path = tmp_path("short.bin");
    std::fs::write(&path, [0u8; 10]).unwrap();
    let out = espamp(&["shm", "dump", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("short.bin: 10 bytes is not a shared region"), "{err}");

    let out = espamp(&["shm", "dump", "/nonexistent/region.bin"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/region.bin"));
}

#[test]
fn random_bytes_are_refused_by_shm_dump_and_panic_decode_in_one_line() {
    // Deterministic "random" bytes (xorshift), a region's and a dump's worth.
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let bytes: Vec<u8> = (0..16384)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let region = tmp_path("random-region.bin");
    std::fs::write(&region, &bytes).unwrap();
    let dump = tmp_path("random-dump.bin");
    std::fs::write(&dump, &bytes[..4096]).unwrap();
    for (args, what) in [
        (vec!["shm", "dump", region.to_str().unwrap()], "not a shared region"),
        (vec!["panic", "decode", dump.to_str().unwrap()], "not a panic dump"),
    ] {
        let out = espamp(&args);
        assert!(!out.status.success(), "{args:?} accepted random bytes");
        assert!(out.stdout.is_empty(), "{args:?} printed a report");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        // With --force they show what they can, escaped.
        let mut forced = args.clone();
        forced.push("--force");
        let out = espamp(&forced);
        assert!(out.status.success(), "{forced:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'), "{forced:?}");
    }
}
