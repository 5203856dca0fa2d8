//! `espamp layout`: the docs/protocol.md §1.1/§1.2/§1.4 numbers, JSON parsed back, text and diagram,
//! and clear errors for impossible configurations.

mod common;

use common::{espamp, tmp_path};

use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let mut all = vec!["layout", "--json"];
    all.extend_from_slice(args);
    let out = espamp(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (start, end) of the entry named `name`.
fn range(v: &Value, name: &str) -> (u64, u64) {
    let e = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name}"));
    (e["start"].as_u64().unwrap(), e["end"].as_u64().unwrap())
}

#[test]
fn default_layouts_match_the_spec() {
    // (chip, subcore HP region, shared start, pool start, shared end = panic dump start)
    let cases = [
        ("esp32c6", (0x4087_6560, 0x4087_A560), 0x4087_A560, 0x4087_A580, 0x4087_E560),
        ("esp32c5", (0x4085_64F0, 0x4085_A4F0), 0x4085_A4F0, 0x4085_A510, 0x4085_E4F0),
        ("esp32p4", (0x4FF6_B000, 0x4FF7_B000), 0x4FF7_B000, 0x4FF7_B020, 0x4FF7_F000),
    ];
    for (chip, sub, shared, pool, end) in cases {
        let v = json(&["--chip", chip]);
        assert_eq!(v["chip"], chip);
        assert_eq!(range(&v, "subcore firmware (HP)"), sub, "{chip}");
        assert_eq!(range(&v, "shared memory"), (shared, end), "{chip}");
        assert_eq!(range(&v, "SysInfo pool"), (pool, end), "{chip}");
        assert_eq!(range(&v, "panic dump"), (end, end + 0x1000), "{chip}");
        let sub_len = sub.1 - sub.0;
        assert_eq!(v["heap_reserved"].as_u64().unwrap(), (end - shared) + 0x1000 + sub_len);
        assert_eq!(v["heap_returnable_max"].as_u64().unwrap(), sub_len);
    }
}

#[test]
fn rtc_example_and_options() {
    // Spec §1.4: ULP_COPROC_RESERVE_MEM 14500 → 14496; pool of 256 at 0x5000_37A0.
    let v = json(&["--chip", "esp32c6", "--ulp-reserve-mem", "14500"]);
    assert_eq!(range(&v, "RTC SysInfo pool"), (0x5000_37A0, 0x5000_38A0));
    assert_eq!(range(&v, "RTC memory for the subcore"), (0x5000_0000, 0x5000_38A0));
    // Shared size rounds up to 16 (align_down of the start); sizes take suffixes.
    let v = json(&["--chip", "esp32c6", "--shared-mem", "0x1001"]);
    assert_eq!(range(&v, "shared memory"), (0x4087_D550, 0x4087_E560));
    let v = json(&["--chip", "esp32p4", "--subcore-hp-mem", "128K"]);
    assert_eq!(range(&v, "subcore firmware (HP)"), (0x4FF5_B000, 0x4FF7_B000));
    // Pure RTC: no HP region, nothing to give back.
    let v = json(&["--chip", "esp32c5", "--pure-rtc"]);
    assert!(v["entries"].as_array().unwrap().iter().all(|e| e["name"] != "subcore firmware (HP)"));
    assert_eq!(v["heap_returnable_max"], 0);
    // P4 has no RTC map.
    assert!(json(&["--chip", "esp32p4"])["entries"].as_array().unwrap().iter().all(|e| e["memory"] == "hp"));
}

#[test]
fn text_table_and_diagram() {
    let out = espamp(&["layout", "--chip", "esp32c6", "--diagram"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "esp32c6 memory map (subcore: LP core)",
        "  shared memory                                  0x4087a560   0x4087e560   16384 B (16 KiB)",
        "maincore heap: 36864 B (36 KiB) reserved at boot; up to 16384 B (16 KiB) go back",
        "  0x4087e560 +------",
        "|                 panic dump                 |",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn impossible_configurations_are_clear_errors() {
    for (args, reason) in [
        (
            &["--chip", "esp32c6", "--shared-mem", "7"][..],
            "ESP_AMP_HP_SHARED_MEM_SIZE = 7 is outside its range",
        ),
        (&["--chip", "esp32p4", "--pure-rtc"][..], "not available on esp32p4"),
        (&["--chip", "esp32c6", "--shared-mem", "lots"][..], "'lots' is not a size"),
        (&["--chip", "esp8266"][..], "unknown chip 'esp8266'"),
    ] {
        let mut all = vec!["layout"];
        all.extend_from_slice(args);
        let out = espamp(&all);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(reason), "{args:?}: {err}");
    }
}

#[test]
fn every_help_shows_an_example_of_its_command() {
    let cases: [(&[&str], &str); 10] = [
        (&["--help"], "espamp layout --chip"),
        (&["demo", "--help"], "espamp demo"),
        (&["layout", "--help"], "espamp layout --chip"),
        (&["image", "--help"], "espamp image info"),
        (&["image", "info", "--help"], "espamp image info"),
        (&["image", "check", "--help"], "espamp image check"),
        (&["shm", "--help"], "espamp shm dump"),
        (&["shm", "dump", "--help"], "espamp shm dump"),
        (&["panic", "--help"], "espamp panic decode"),
        (&["panic", "decode", "--help"], "espamp panic decode"),
    ];
    for (args, example) in cases {
        let out = espamp(args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Example") && text.contains(example), "{args:?}: {text}");
    }
    // The top-level help lists every subcommand with an example.
    let text = String::from_utf8_lossy(&espamp(&["--help"]).stdout).into_owned();
    for example in ["espamp demo", "espamp image check", "espamp shm dump", "espamp panic decode"] {
        assert!(text.contains(example), "{text}");
    }
}

#[test]
fn svg_picture_has_one_box_per_region() {
    let path = tmp_path("c6-layout.svg");
    let out = espamp(&["layout", "--chip", "esp32c6", "--svg", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.ends_with("</svg>\n"));
    // The default C6 map: 4 HP boxes and 4 RTC boxes, as in the text diagram.
    assert_eq!(svg.matches("<rect ").count(), 8, "{svg}");
    for name in ["subcore firmware (HP)", "SysInfo pool", "panic dump", "LP vector table", "RTC SysInfo pool"]
    {
        assert!(svg.contains(&format!(">{name}</text>")), "{name}: {svg}");
    }
    for addr in ["0x40876560", "0x4087a560", "0x4087f560", "0x50001000"] {
        assert!(svg.contains(&format!(">{addr}</text>")), "{addr}: {svg}");
    }
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());

    let out = espamp(&["layout", "--chip", "esp32c6", "--svg", "/nonexistent/dir/x.svg"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dir/x.svg"));
}
