// Included (`include!`) by the build scripts of this workspace that need the chip or the
// memory layout: the LP runtime (`lp/build.rs`), the P4 HP-core-1 runtime (`hp/build.rs`),
// the maincore port (`main/build.rs`) and the maincore examples (`main-examples/build.rs`).
// All read the same environment variables, so a subcore and the maincore built in one
// environment agree on every address.
//
// The Kconfig defaults of `esp_amp::layout::AmpConfig::default_for`, overridden by
// environment variables named like the C options: `ESP_AMP_HP_SHARED_MEM_SIZE`,
// `ESP_AMP_RTC_SHARED_MEM_SIZE`, `ESP_AMP_SUBCORE_USE_HP_MEM_SIZE`,
// `ESP_AMP_SUBCORE_STACK_SIZE_MIN`, `ULP_COPROC_RESERVE_MEM`, and
// `ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP=y` for the pure-RTC variant.

fn env_u32(name: &str, default: u32) -> u32 {
    println!("cargo:rerun-if-env-changed={name}");
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        }
        Err(_) => default,
    }
}

/// The configuration for `chip` from the environment (see the top of this file).
fn config_from_env(chip: esp_amp::layout::Chip) -> esp_amp::layout::AmpConfig {
    let d = esp_amp::layout::AmpConfig::default_for(chip);
    let pure = "ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP";
    println!("cargo:rerun-if-env-changed={pure}");
    esp_amp::layout::AmpConfig {
        hp_shared_mem_size: env_u32("ESP_AMP_HP_SHARED_MEM_SIZE", d.hp_shared_mem_size),
        rtc_shared_mem_size: env_u32("ESP_AMP_RTC_SHARED_MEM_SIZE", d.rtc_shared_mem_size),
        subcore_use_hp_mem_size: env_u32("ESP_AMP_SUBCORE_USE_HP_MEM_SIZE", d.subcore_use_hp_mem_size),
        subcore_stack_size_min: env_u32("ESP_AMP_SUBCORE_STACK_SIZE_MIN", d.subcore_stack_size_min),
        ulp_coproc_reserve_mem: env_u32("ULP_COPROC_RESERVE_MEM", d.ulp_coproc_reserve_mem),
        pure_rtc_ram_app: std::env::var(pure).is_ok_and(|v| v == "y" || v == "1"),
        ..d
    }
}

/// The chip of the `esp32c6` / `esp32c5` / `esp32p4` feature of the package being built
/// (exactly one); `who` names the package in the error.
fn chip_from_features(who: &str) -> esp_amp::layout::Chip {
    use esp_amp::layout::Chip;
    let on = |f: &str| std::env::var_os(format!("CARGO_FEATURE_{f}")).is_some();
    match (on("ESP32C6"), on("ESP32C5"), on("ESP32P4")) {
        (true, false, false) => Chip::Esp32C6,
        (false, true, false) => Chip::Esp32C5,
        (false, false, true) => Chip::Esp32P4,
        _ => panic!("{who}: enable exactly one chip feature, `esp32c6`, `esp32c5` or `esp32p4`"),
    }
}
