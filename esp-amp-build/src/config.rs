//! The one configuration of a maincore + subcore pair: the chip, from the building
//! package's cargo feature, and the AMP layout options, from environment variables named
//! like ESP-AMP C's Kconfig options.
//!
//! Give the options once for the pair, in the `[env]` table of a `.cargo/config.toml` that
//! both crates sit below (cargo hands `[env]` to build scripts, and the nested subcore build
//! of [`SubcoreCrate`](crate::SubcoreCrate) inherits the maincore build's environment), so both
//! halves read the same values:
//!
//! ```toml
//! [env]
//! ESP_AMP_HP_SHARED_MEM_SIZE = "16384"
//! ESP_AMP_SUBCORE_USE_HP_MEM_SIZE = "16384"
//! ```
//!
//! | variable | [`AmpConfig`] field | value |
//! |---|---|---|
//! | `ESP_AMP_HP_SHARED_MEM_SIZE` | `hp_shared_mem_size` | bytes (decimal or `0x…`) |
//! | `ESP_AMP_RTC_SHARED_MEM_SIZE` | `rtc_shared_mem_size` | bytes |
//! | `ESP_AMP_SUBCORE_USE_HP_MEM_SIZE` | `subcore_use_hp_mem_size` | bytes |
//! | `ESP_AMP_SUBCORE_STACK_SIZE_MIN` | `subcore_stack_size_min` | bytes |
//! | `ULP_COPROC_RESERVE_MEM` | `ulp_coproc_reserve_mem` | bytes |
//! | `ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP` | `pure_rtc_ram_app` | `y`/`n` |
//!
//! An option not set keeps the Kconfig default of [`AmpConfig::default_for`]. Each value
//! read is also recorded in the subcore image (the configuration record, see
//! `esp_amp::layout::ConfigRecord`), so a loader can refuse an image built for another
//! configuration.

use esp_amp::layout::{AmpConfig, Chip};

use crate::Error;

/// The numeric options: (variable, the field it sets), one table for reading and writing.
type Field = fn(&mut AmpConfig) -> &mut u32;
const NUMBERS: [(&str, Field); 5] = [
    ("ESP_AMP_HP_SHARED_MEM_SIZE", |c| &mut c.hp_shared_mem_size),
    ("ESP_AMP_RTC_SHARED_MEM_SIZE", |c| &mut c.rtc_shared_mem_size),
    ("ESP_AMP_SUBCORE_USE_HP_MEM_SIZE", |c| &mut c.subcore_use_hp_mem_size),
    ("ESP_AMP_SUBCORE_STACK_SIZE_MIN", |c| &mut c.subcore_stack_size_min),
    ("ULP_COPROC_RESERVE_MEM", |c| &mut c.ulp_coproc_reserve_mem),
];
/// The pure-RTC switch.
const PURE_RTC: &str = "ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP";

/// Every variable the configuration is read from.
pub const VARIABLES: [&str; 6] =
    [NUMBERS[0].0, NUMBERS[1].0, NUMBERS[2].0, NUMBERS[3].0, NUMBERS[4].0, PURE_RTC];

/// The configuration for `chip` from the environment (see the module docs), with a
/// `cargo:rerun-if-env-changed` line for every variable, so that changing one value
/// rebuilds every package that reads it.
pub fn from_env(chip: Chip) -> Result<AmpConfig, Error> {
    from_lookup(chip, |name| {
        println!("cargo:rerun-if-env-changed={name}");
        std::env::var(name).ok()
    })
}

/// The configuration for `chip` from `lookup` (a variable's value, or `None`).
pub fn from_lookup(chip: Chip, mut lookup: impl FnMut(&str) -> Option<String>) -> Result<AmpConfig, Error> {
    let mut config = AmpConfig::default_for(chip);
    for (name, field) in NUMBERS {
        if let Some(value) = lookup(name) {
            *field(&mut config) = parse_number(name, &value)?;
        }
    }
    if let Some(value) = lookup(PURE_RTC) {
        config.pure_rtc_ram_app = match value.trim() {
            "y" | "1" | "true" => true,
            "n" | "0" | "false" | "" => false,
            _ => return Err(Error::BadValue { variable: PURE_RTC, value, expected: "`y` or `n`" }),
        };
    }
    Ok(config)
}

/// `config` as the variables [`from_env`] reads (for a build that must see the same
/// configuration).
pub fn to_env(config: &AmpConfig) -> Vec<(&'static str, String)> {
    let mut c = *config;
    let mut vars: Vec<_> = NUMBERS.iter().map(|(name, field)| (*name, field(&mut c).to_string())).collect();
    vars.push((PURE_RTC, if config.pure_rtc_ram_app { "y" } else { "n" }.to_string()));
    vars
}

fn parse_number(name: &'static str, value: &str) -> Result<u32, Error> {
    let v = value.trim();
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => v.parse(),
    };
    parsed.map_err(|_| Error::BadValue {
        variable: name,
        value: value.to_string(),
        expected: "a number of bytes (decimal, or hexadecimal with 0x)",
    })
}

/// The symbol of the configuration record in a subcore image ([`record_static`]).
pub const RECORD_SYMBOL: &str = "ESP_AMP_CONFIG_RECORD";
/// The input section of the configuration record, which a subcore linker script keeps at
/// the start of `.rodata`.
pub const RECORD_SECTION: &str = ".rodata.esp_amp_config";

/// Rust source of a static holding the configuration record of `config` for `chip`
/// (`esp_amp::layout::ConfigRecord`), for a subcore runtime's generated module: 4-byte
/// aligned, `#[used]`, named [`RECORD_SYMBOL`], in section [`RECORD_SECTION`]. The
/// runtime's linker script must `EXTERN` the symbol (so every link pulls it in) and `KEEP`
/// the section at the start of `.rodata`, where the maincore's loader and `espamp image
/// check` look for it.
pub fn record_static(chip: Chip, config: &AmpConfig) -> String {
    let bytes = esp_amp::layout::ConfigRecord::new(chip, config).encode();
    format!(
        "
/// The configuration this image was built for (`esp_amp::layout::ConfigRecord`), read by
/// the maincore's loader.
#[repr(C, align(4))]
pub struct ConfigRecordBytes(pub [u8; {len}]);
/// See [`ConfigRecordBytes`].
#[used]
#[no_mangle]
#[link_section = \"{RECORD_SECTION}\"]
pub static {RECORD_SYMBOL}: ConfigRecordBytes = ConfigRecordBytes({bytes:?});
",
        len = bytes.len(),
    )
}

/// The chip of the building package: its one enabled feature named `esp32c6`, `esp32c5` or
/// `esp32p4` (cargo's `CARGO_FEATURE_*` variables of a build script).
pub fn chip_from_features() -> Result<Chip, Error> {
    chip_from(|chip| std::env::var_os(format!("CARGO_FEATURE_{}", chip.name().to_uppercase())).is_some())
}

/// The one chip for which `enabled` holds.
pub fn chip_from(enabled: impl Fn(Chip) -> bool) -> Result<Chip, Error> {
    let mut on = Chip::ALL.into_iter().filter(|&c| enabled(c));
    match (on.next(), on.next()) {
        (Some(chip), None) => Ok(chip),
        (None, _) => Err(Error::ChipFeature { found: Vec::new() }),
        (Some(a), Some(b)) => {
            Err(Error::ChipFeature { found: [a, b].into_iter().chain(on).map(Chip::name).collect() })
        }
    }
}

/// The target a subcore of `chip` is built for (the chip description's
/// [`target`](esp_amp::layout::ChipDesc::target)).
pub const fn subcore_target(chip: Chip) -> &'static str {
    chip.desc().target
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&str, &str)]) -> impl FnMut(&str) -> Option<String> + 'a {
        |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn unset_variables_keep_the_kconfig_defaults() {
        for chip in Chip::ALL {
            assert_eq!(from_lookup(chip, lookup(&[])).unwrap(), AmpConfig::default_for(chip));
        }
    }

    #[test]
    fn values_are_decimal_or_hex_and_pure_rtc_is_a_switch() {
        let c = from_lookup(
            Chip::Esp32C6,
            lookup(&[
                ("ESP_AMP_HP_SHARED_MEM_SIZE", "0x2000"),
                ("ULP_COPROC_RESERVE_MEM", " 14500 "),
                (PURE_RTC, "y"),
            ]),
        )
        .unwrap();
        assert_eq!(c.hp_shared_mem_size, 0x2000);
        assert_eq!(c.ulp_coproc_reserve_mem, 14_500);
        assert!(c.pure_rtc_ram_app);
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let e = from_lookup(Chip::Esp32C6, lookup(&[("ESP_AMP_SUBCORE_STACK_SIZE_MIN", "1k")])).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("ESP_AMP_SUBCORE_STACK_SIZE_MIN") && text.contains("\"1k\""), "{text}");
        let e = from_lookup(Chip::Esp32C6, lookup(&[(PURE_RTC, "maybe")])).unwrap_err();
        assert!(e.to_string().contains(PURE_RTC), "{e}");
    }

    #[test]
    fn to_env_reads_back_as_the_same_configuration() {
        let c = AmpConfig {
            hp_shared_mem_size: 8192,
            pure_rtc_ram_app: true,
            ..AmpConfig::default_for(Chip::Esp32C5)
        };
        let vars = to_env(&c);
        let back = from_lookup(Chip::Esp32C5, |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()));
        assert_eq!(back.unwrap(), c);
    }

    #[test]
    fn exactly_one_chip_feature() {
        assert_eq!(chip_from(|c| c == Chip::Esp32P4).unwrap(), Chip::Esp32P4);
        let none = chip_from(|_| false).unwrap_err().to_string();
        assert!(none.contains("esp32c6"), "{none}");
        let two = chip_from(|c| c != Chip::Esp32P4).unwrap_err().to_string();
        assert!(two.contains("esp32c5") && two.contains("esp32c6"), "{two}");
    }
}
