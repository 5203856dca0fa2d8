//! `espamp config from-sdkconfig`: the esp-amp build settings that match an ESP-IDF
//! project's `sdkconfig`, for a Rust subcore under an ESP-IDF + ESP-AMP C maincore (or a C
//! subcore under a Rust maincore). Both images must agree on every option that shapes the
//! shared memory (docs/protocol.md §1.5); this reads the C side's values and prints ours.
//!
//! Every `CONFIG_ESP_AMP_*` option is either mapped (a build variable both Rust builds
//! read, see `esp_amp_build::config`), accepted with what it means for
//! the Rust code, or refused by name because we do not support it; an option this tool
//! does not know is refused too, so a newer ESP-AMP option cannot slip through unnoticed.

use std::collections::BTreeMap;
use std::path::Path;

use esp_amp::layout::{AmpConfig, Chip, MemoryLayout, SubcoreType};
use serde::Serialize;

/// The bridge's result.
#[derive(Serialize)]
pub struct Bridge {
    pub chip: String,
    /// `(variable, value)`: the build variables both the maincore and the subcore build
    /// read (environment or `.cargo/config.toml` `[env]`), in a fixed order.
    pub env: Vec<(String, String)>,
    /// What the other options ask of the Rust code.
    pub notes: Vec<String>,
}

/// One `sdkconfig` value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Bool(bool),
    Int(u32),
    Str(String),
}

/// `CONFIG_NAME=value` lines and `# CONFIG_NAME is not set` comments, keyed without the
/// `CONFIG_` prefix.
fn parse(text: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# CONFIG_") {
            if let Some(name) = rest.strip_suffix(" is not set") {
                out.insert(name.to_owned(), Value::Bool(false));
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.strip_prefix("CONFIG_").and_then(|l| l.split_once('=')) else {
            return Err(format!("line {}: not a `CONFIG_NAME=value` line: {line:?}", n + 1));
        };
        let value = match value {
            "y" => Value::Bool(true),
            "n" => Value::Bool(false),
            v if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') => {
                Value::Str(v[1..v.len() - 1].to_owned())
            }
            v => {
                let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => v.parse(),
                };
                Value::Int(
                    parsed.map_err(|_| format!("line {}: CONFIG_{name}: {v:?} is not a value", n + 1))?,
                )
            }
        };
        out.insert(name.to_owned(), value);
    }
    Ok(out)
}

/// How each ESP-AMP option is handled.
enum Handling {
    /// A layout value: where it goes in the configuration (the build variable of the same
    /// name, which both builds must see with the same value).
    Layout(fn(&mut AmpConfig, u32)),
    /// The pure-RTC switch of the layout.
    PureRtc,
    /// Checked against the chip (the subcore type choice).
    Subcore(SubcoreType),
    /// Accepted: what it means for the Rust code, when on (`y` or any number).
    Note(&'static str),
    /// Accepted, no effect on the Rust side whatever its value.
    NoEffect(&'static str),
    /// Not supported when on: why.
    Unsupported(&'static str),
}

/// Every `CONFIG_ESP_AMP_*` option of ESP-AMP C's Kconfig (docs/protocol.md §1.5).
fn handling(name: &str) -> Option<Handling> {
    use Handling::*;
    Some(match name {
        "ESP_AMP_ENABLED" => NoEffect("required"),
        "ESP_AMP_SUBCORE_TYPE_LP_CORE" => Subcore(SubcoreType::LpCore),
        "ESP_AMP_SUBCORE_TYPE_HP_CORE" => Subcore(SubcoreType::HpCore),
        "ESP_AMP_HP_SHARED_MEM_SIZE" => Layout(|c, n| c.hp_shared_mem_size = n),
        "ESP_AMP_RTC_SHARED_MEM_SIZE" => Layout(|c, n| c.rtc_shared_mem_size = n),
        "ESP_AMP_SUBCORE_USE_HP_MEM_SIZE" => Layout(|c, n| c.subcore_use_hp_mem_size = n),
        "ESP_AMP_SUBCORE_STACK_SIZE_MIN" => Layout(|c, n| c.subcore_stack_size_min = n),
        "ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP" => PureRtc,
        "ESP_AMP_EVENT_TABLE_LEN" => NoEffect("local to each core: the Rust side sizes its tables in code"),
        "ESP_AMP_SW_INTR_HANDLER_TABLE_LEN" => {
            NoEffect("local to each core: the Rust side sizes its handler table in code (SwIntr's N)")
        }
        "ESP_AMP_SYSTEM_ENABLE_SUPPLICANT" => Note(
            "supplicant on: the service queue (SysInfo 0xFF04) exists; a Rust maincore creates it \
             with Supplicant::create before starting the subcore, a Rust subcore may print through it",
        ),
        "ESP_AMP_ROUTE_SUBCORE_PRINT" => Note(
            "print routing on: a Rust subcore installs esp_amp::system::print::Printer on the service \
             queue (its println! lines then reach the maincore console); a Rust maincore polls the \
             Supplicant and prints each line",
        ),
        "ESP_AMP_SUBCORE_ENABLE_HW_FPU" => Note(
            "P4 FPU on: build the HP-core-1 subcore for riscv32imafc-unknown-none-elf (esp-amp-hp's target)",
        ),
        "ESP_AMP_SUBCORE_USE_ARITH64" => {
            NoEffect("a C library choice; the Rust subcore links no 64-bit division")
        }
        "ESP_AMP_SUBCORE_LTO_ENABLE" => NoEffect("a C build option; Rust subcores are built with LTO"),
        "ESP_AMP_SUBCORE_HEAP_SIZE" => NoEffect("used only with ESP_AMP_SUBCORE_ENABLE_HEAP"),
        "ESP_AMP_SUBCORE_ENABLE_HEAP" => Unsupported("the Rust subcore runtimes have no heap yet"),
        "ESP_AMP_SUBCORE_ENABLE_HW_FPU_IN_ISR" => {
            Unsupported("esp-amp-hp's trap entry saves no floating-point registers")
        }
        "ESP_AMP_SYSTEM_AUTO_LIGHT_SLEEP_SUPPORT_ENABLE" => Unsupported(
            "light-sleep coordination is not wired into the Rust chip ports yet (the subcore would \
             not take the guards C's maincore waits for)",
        ),
        _ => return None,
    })
}

fn is_on(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Int(n) => *n != 0,
        Value::Str(s) => !s.is_empty(),
    }
}

/// The bridge for the `sdkconfig` text `text`.
pub fn from_text(text: &str) -> Result<Bridge, String> {
    let opts = parse(text)?;
    let chip: Chip = match opts.get("IDF_TARGET") {
        Some(Value::Str(t)) => t.parse().map_err(|()| {
            format!("CONFIG_IDF_TARGET=\"{t}\": ESP-AMP runs on esp32c5, esp32c6 and esp32p4")
        })?,
        _ => return Err("no CONFIG_IDF_TARGET: is this an ESP-IDF sdkconfig?".into()),
    };
    if !opts.get("ESP_AMP_ENABLED").is_some_and(is_on) {
        return Err("CONFIG_ESP_AMP_ENABLED is not set: the project does not use ESP-AMP".into());
    }
    let mut config = AmpConfig::default_for(chip);
    let mut notes = Vec::new();
    let mut refused = Vec::new();
    for (name, value) in opts.iter().filter(|(n, _)| n.starts_with("ESP_AMP_")) {
        let full = format!("CONFIG_{name}");
        let number = || match value {
            Value::Int(n) => Ok(*n),
            other => Err(format!("{full}: expected a number, found {other:?}")),
        };
        match handling(name) {
            None => refused.push(format!("{full}: unknown to this version of espamp")),
            Some(Handling::Layout(set)) => set(&mut config, number()?),
            Some(Handling::PureRtc) => config.pure_rtc_ram_app = is_on(value),
            Some(Handling::Subcore(t)) => {
                if is_on(value) && t != chip.subcore_type() {
                    refused.push(format!("{full}: {} has a {:?} subcore", chip.name(), chip.subcore_type()));
                }
            }
            Some(Handling::Note(what)) => {
                if is_on(value) {
                    notes.push(format!("{full}: {what}"));
                }
            }
            Some(Handling::NoEffect(what)) => {
                if name != "ESP_AMP_ENABLED" && is_on(value) {
                    notes.push(format!("{full}: no build setting ({what})"));
                }
            }
            Some(Handling::Unsupported(why)) => {
                if is_on(value) {
                    refused.push(format!("{full}: not supported: {why}"));
                }
            }
        }
    }
    if let Some(v) = opts.get("ULP_COPROC_RESERVE_MEM") {
        match v {
            Value::Int(n) => config.ulp_coproc_reserve_mem = *n,
            other => {
                return Err(format!("CONFIG_ULP_COPROC_RESERVE_MEM: expected a number, found {other:?}"))
            }
        }
    }
    if let Some(v) = opts.get("ULP_SHARED_MEM") {
        if *v != Value::Int(esp_amp::layout::ULP_SHARED_MEM) {
            refused.push(format!(
                "CONFIG_ULP_SHARED_MEM: {v:?}; the Rust layout has IDF's {:#x}",
                esp_amp::layout::ULP_SHARED_MEM
            ));
        }
    }
    if !refused.is_empty() {
        return Err(format!(
            "the sdkconfig asks for what the Rust side does not do:\n  {}",
            refused.join("\n  ")
        ));
    }
    MemoryLayout::new(chip, &config).map_err(|e| format!("the configuration has no valid layout: {e:?}"))?;
    let lp = chip.subcore_type() == SubcoreType::LpCore;
    let mut env = vec![
        ("ESP_AMP_HP_SHARED_MEM_SIZE", config.hp_shared_mem_size.to_string()),
        ("ESP_AMP_SUBCORE_STACK_SIZE_MIN", config.subcore_stack_size_min.to_string()),
    ];
    if !config.pure_rtc_ram_app {
        env.push(("ESP_AMP_SUBCORE_USE_HP_MEM_SIZE", config.subcore_use_hp_mem_size.to_string()));
    }
    if lp {
        env.push(("ESP_AMP_RTC_SHARED_MEM_SIZE", config.rtc_shared_mem_size.to_string()));
        env.push(("ULP_COPROC_RESERVE_MEM", config.ulp_coproc_reserve_mem.to_string()));
        if config.pure_rtc_ram_app {
            env.push(("ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP", "y".to_owned()));
        }
    }
    Ok(Bridge {
        chip: chip.name().to_owned(),
        env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        notes,
    })
}

/// The bridge for the `sdkconfig` file at `path`.
pub fn from_file(path: &Path) -> Result<Bridge, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    from_text(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The bridge as a `.cargo/config.toml` fragment with the notes as comments.
pub fn text(b: &Bridge, source: &str) -> String {
    let mut out = format!(
        "# esp-amp settings matching {source} ({}): give both the maincore and the subcore\n\
         # build the same values (.cargo/config.toml of each, or the environment).\n[env]\n",
        b.chip
    );
    for (k, v) in &b.env {
        out += &format!("{k} = \"{v}\"\n");
    }
    for n in &b.notes {
        out += &format!("# {n}\n");
    }
    out
}
