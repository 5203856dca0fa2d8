//! `espamp config from-sdkconfig`: the sample ESP-IDF sdkconfig (docs/esp-idf/) gives the
//! matching build settings; an option the Rust side does not support is refused by name.

mod common;

use common::{espamp, tmp_path};

const SAMPLE: &str = include_str!("../../docs/esp-idf/sdkconfig.sample");

fn run(name: &str, text: &str, json: bool) -> (bool, String, String) {
    let path = tmp_path(name);
    std::fs::write(&path, text).unwrap();
    let mut args = vec!["config", "from-sdkconfig", path.to_str().unwrap()];
    if json {
        args.push("--json");
    }
    let out = espamp(&args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_sample_gives_the_matching_settings() {
    let (ok, text, err) = run("sdkconfig-sample", SAMPLE, false);
    assert!(ok, "{err}");
    for line in [
        "[env]",
        "ESP_AMP_HP_SHARED_MEM_SIZE = \"16384\"",
        "ESP_AMP_SUBCORE_STACK_SIZE_MIN = \"1024\"",
        "ESP_AMP_SUBCORE_USE_HP_MEM_SIZE = \"16384\"",
        "ESP_AMP_RTC_SHARED_MEM_SIZE = \"256\"",
        "ULP_COPROC_RESERVE_MEM = \"14500\"",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("# CONFIG_ESP_AMP_ROUTE_SUBCORE_PRINT: print routing on"), "{text}");
    assert!(!text.contains("PURE_RTC"), "{text}");
    // The [env] part is a valid TOML table: one `KEY = "value"` per line.
    let env: Vec<&str> =
        text.lines().skip_while(|l| *l != "[env]").skip(1).take_while(|l| !l.starts_with('#')).collect();
    assert_eq!(env.len(), 5, "{env:?}");

    let (ok, json, err) = run("sdkconfig-sample-json", SAMPLE, true);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["chip"], "esp32c6");
    assert_eq!(v["env"][4], serde_json::json!(["ULP_COPROC_RESERVE_MEM", "14500"]));
}

#[test]
fn pure_rtc_and_p4_settings() {
    let pure = SAMPLE.replace(
        "# CONFIG_ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP is not set",
        "CONFIG_ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP=y",
    );
    let (ok, text, err) = run("sdkconfig-pure", &pure, false);
    assert!(ok, "{err}");
    assert!(text.contains("ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP = \"y\""), "{text}");
    assert!(!text.contains("ESP_AMP_SUBCORE_USE_HP_MEM_SIZE"), "no HP region in a pure-RTC build:\n{text}");

    let p4 =
        "CONFIG_IDF_TARGET=\"esp32p4\"\nCONFIG_ESP_AMP_ENABLED=y\nCONFIG_ESP_AMP_SUBCORE_TYPE_HP_CORE=y\n\
              CONFIG_ESP_AMP_HP_SHARED_MEM_SIZE=32768\nCONFIG_ESP_AMP_SUBCORE_USE_HP_MEM_SIZE=131072\n\
              CONFIG_ESP_AMP_SUBCORE_STACK_SIZE_MIN=16384\nCONFIG_ESP_AMP_SUBCORE_ENABLE_HW_FPU=y\n";
    let (ok, text, err) = run("sdkconfig-p4", p4, false);
    assert!(ok, "{err}");
    assert!(text.contains("ESP_AMP_HP_SHARED_MEM_SIZE = \"32768\""), "{text}");
    assert!(text.contains("ESP_AMP_SUBCORE_USE_HP_MEM_SIZE = \"131072\""), "{text}");
    assert!(!text.contains("ULP_COPROC_RESERVE_MEM"), "{text}");
    assert!(text.contains("riscv32imafc"), "{text}");
}

#[test]
fn unsupported_and_unknown_options_are_refused_by_name() {
    let cases = [
        (
            "CONFIG_ESP_AMP_SYSTEM_AUTO_LIGHT_SLEEP_SUPPORT_ENABLE=y",
            "CONFIG_ESP_AMP_SYSTEM_AUTO_LIGHT_SLEEP_SUPPORT_ENABLE: not supported",
        ),
        ("CONFIG_ESP_AMP_SUBCORE_ENABLE_HEAP=y", "CONFIG_ESP_AMP_SUBCORE_ENABLE_HEAP: not supported"),
        ("CONFIG_ESP_AMP_SOMETHING_NEW=y", "CONFIG_ESP_AMP_SOMETHING_NEW: unknown"),
        (
            "CONFIG_ESP_AMP_SUBCORE_TYPE_HP_CORE=y",
            "CONFIG_ESP_AMP_SUBCORE_TYPE_HP_CORE: esp32c6 has a LpCore subcore",
        ),
        ("CONFIG_ULP_SHARED_MEM=0x10", "CONFIG_ULP_SHARED_MEM"),
        ("CONFIG_ESP_AMP_HP_SHARED_MEM_SIZE=100", "no valid layout"),
    ];
    for (extra, want) in cases {
        let text = format!("{SAMPLE}{extra}\n");
        let (ok, out, err) = run("sdkconfig-bad", &text, false);
        assert!(!ok, "{extra}: accepted:\n{out}");
        assert!(err.contains(want), "{extra}: {err}");
        assert_eq!(out, "", "{extra}: nothing on stdout when refused");
    }
    for (text, want) in [
        ("CONFIG_IDF_TARGET=\"esp32s3\"\nCONFIG_ESP_AMP_ENABLED=y\n", "esp32s3"),
        ("CONFIG_IDF_TARGET=\"esp32c6\"\n", "CONFIG_ESP_AMP_ENABLED is not set"),
        ("hello\n", "line 1"),
        ("", "no CONFIG_IDF_TARGET"),
    ] {
        let (ok, _, err) = run("sdkconfig-other", text, false);
        assert!(!ok && err.contains(want), "{text:?}: {err}");
    }
}
