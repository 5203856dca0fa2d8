//! Memory layout per SoC (docs/protocol.md §1), computed from a Kconfig-like [`AmpConfig`].
//!
//! ```
//! use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
//! let l = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
//! assert_eq!(l.shared.start, 0x4087_A560);
//! assert_eq!(l.sys_info_pool.start, 0x4087_A580);
//! assert_eq!(l.rtc.unwrap().pool.start, 0x5000_0F00);
//! ```

/// The SoCs ESP-AMP supports.
///
/// ```
/// use esp_amp::layout::{Chip, SubcoreType};
/// let chip: Chip = "esp32c6".parse().unwrap(); // the names of the cargo features
/// assert_eq!((chip, chip.name()), (Chip::Esp32C6, "esp32c6"));
/// assert_eq!(Chip::Esp32P4.subcore_type(), SubcoreType::HpCore);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Chip {
    /// ESP32-C5: the LP core is the subcore.
    Esp32C5,
    /// ESP32-C6: the LP core is the subcore.
    Esp32C6,
    /// ESP32-P4: HP core 1 is the subcore.
    Esp32P4,
}

/// What kind of core the subcore is.
///
/// ```
/// use esp_amp::layout::{Chip, SubcoreType};
/// // Only an LP subcore has RTC RAM for its image and the light-sleep placements.
/// let lp: Vec<Chip> = Chip::ALL.into_iter().filter(|c| c.subcore_type() == SubcoreType::LpCore).collect();
/// assert_eq!(lp, [Chip::Esp32C5, Chip::Esp32C6]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubcoreType {
    /// The low-power RISC-V core (C5, C6); can use RTC RAM.
    LpCore,
    /// The second high-performance core (P4).
    HpCore,
}

/// Everything the portable code knows about one chip: its memory map, its subcore, its
/// image rules. The layout, the image loader, the configuration record and the command
/// line all read it, so adding a chip is adding one of these blocks and a [`Chip`] variant
/// that names it (plus the chip's port crate and its register facts in `esp-amp-soc`;
/// docs/porting.md, "Adding a chip").
///
/// ```
/// use esp_amp::layout::{Chip, SubcoreType};
/// let c6 = Chip::Esp32C6.desc();
/// assert_eq!((c6.name, c6.subcore, c6.esp_chip_id), ("esp32c6", SubcoreType::LpCore, 13));
/// assert!(Chip::Esp32P4.desc().rtc_mem.is_none()); // the P4's subcore is an HP core
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChipDesc {
    /// Lower-case name, as used on the command line and as the cargo feature (`esp32c6`).
    pub name: &'static str,
    /// What the subcore is.
    pub subcore: SubcoreType,
    /// The Rust target both cores are built for (the C5's and C6's HP and LP cores are
    /// RV32IMAC cores, the P4's two HP cores RV32IMAFC ones).
    pub target: &'static str,
    /// Exclusive end of the HP shared region (fixed per chip, docs/protocol.md §1.1).
    pub shared_end: u32,
    /// Lowest address the AMP regions may use (P4: the part of L2 memory that is free
    /// only with a 128 or 256 KiB cache, docs/protocol.md §1.1 rule 5). `None`: no bound
    /// beyond the memory map.
    pub amp_region_floor: Option<u32>,
    /// The LP core's RTC RAM, where the subcore is the LP core.
    pub rtc_mem: Option<Region>,
    /// The chip id an ESP app image header carries (esptool's `IMAGE_CHIP_ID`).
    pub esp_chip_id: u16,
    /// The flash-mapped window (`SOC_DROM_LOW..SOC_DROM_HIGH`) where a subcore image may
    /// carry its app descriptor: read and skipped, never loaded.
    pub app_desc_window: Region,
}

/// ESP32-C5: the LP core is the subcore.
pub const ESP32C5: ChipDesc = ChipDesc {
    name: "esp32c5",
    subcore: SubcoreType::LpCore,
    target: "riscv32imac-unknown-none-elf",
    shared_end: 0x4085_E4F0,
    amp_region_floor: None,
    rtc_mem: Some(Region { start: RTC_MEM_START, end: RTC_MEM_START + RTC_MEM_TOTAL }),
    esp_chip_id: 23,
    app_desc_window: Region { start: 0x4200_0000, end: 0x4300_0000 },
};

/// ESP32-C6: the LP core is the subcore.
pub const ESP32C6: ChipDesc = ChipDesc {
    name: "esp32c6",
    subcore: SubcoreType::LpCore,
    target: "riscv32imac-unknown-none-elf",
    shared_end: 0x4087_E560,
    amp_region_floor: None,
    rtc_mem: Some(Region { start: RTC_MEM_START, end: RTC_MEM_START + RTC_MEM_TOTAL }),
    esp_chip_id: 13,
    app_desc_window: Region { start: 0x4200_0000, end: 0x4300_0000 },
};

/// ESP32-P4: HP core 1 is the subcore.
pub const ESP32P4: ChipDesc = ChipDesc {
    name: "esp32p4",
    subcore: SubcoreType::HpCore,
    target: "riscv32imafc-unknown-none-elf",
    shared_end: 0x4FF7_F000,
    amp_region_floor: Some(0x4FF4_0000),
    rtc_mem: None,
    esp_chip_id: 18,
    app_desc_window: Region { start: 0x4000_0000, end: 0x4400_0000 },
};

impl Chip {
    /// All supported chips.
    pub const ALL: [Chip; 3] = [Chip::Esp32C5, Chip::Esp32C6, Chip::Esp32P4];

    /// The chip's description: the one place its facts are written down.
    pub const fn desc(self) -> &'static ChipDesc {
        match self {
            Chip::Esp32C5 => &ESP32C5,
            Chip::Esp32C6 => &ESP32C6,
            Chip::Esp32P4 => &ESP32P4,
        }
    }

    /// Exclusive end of the HP shared region ([`ChipDesc::shared_end`]).
    pub const fn shared_end(self) -> u32 {
        self.desc().shared_end
    }

    /// The subcore type ([`ChipDesc::subcore`]).
    pub const fn subcore_type(self) -> SubcoreType {
        self.desc().subcore
    }

    /// Lowest address the AMP regions may use ([`ChipDesc::amp_region_floor`]).
    pub const fn amp_region_floor(self) -> Option<u32> {
        self.desc().amp_region_floor
    }

    /// Lower-case name, as used on the command line (`esp32c6`; [`ChipDesc::name`]).
    pub const fn name(self) -> &'static str {
        self.desc().name
    }
}

impl core::str::FromStr for Chip {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Chip::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(s)).ok_or(())
    }
}

/// Size of the fixed header at the start of the shared region (sw-interrupt words).
pub const SHARED_HEADER_SIZE: u32 = 0x20;
/// Size of the panic-dump region that follows the shared region.
pub const PANIC_DUMP_REGION_SIZE: u32 = 0x1000;
/// Start of RTC (LP) RAM on C5/C6.
pub const RTC_MEM_START: u32 = 0x5000_0000;
/// Size of LP RAM on C5/C6.
pub const RTC_MEM_TOTAL: u32 = 16 * 1024;
/// Size of the IDF LP-core vector table at the start of RTC RAM.
pub const LP_VECTOR_TABLE_SIZE: u32 = 0x80;
/// `CONFIG_ULP_SHARED_MEM` in the IDF version the C implementation was read against.
pub const ULP_SHARED_MEM: u32 = 0x8;

/// The Kconfig options of ESP-AMP (and the IDF ULP options it depends on) that shape the
/// memory layout and protocol (docs/protocol.md §1.5). Start from [`AmpConfig::default_for`].
///
/// ```
/// use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
/// // ESP-AMP C's Kconfig defaults, changed the way `ESP_AMP_*` variables would.
/// let config = AmpConfig { subcore_stack_size_min: 2048, ..AmpConfig::default_for(Chip::Esp32C6) };
/// let layout = MemoryLayout::new(Chip::Esp32C6, &config).unwrap();
/// assert_eq!(layout.config.subcore_stack_size_min, 2048);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmpConfig {
    /// `ESP_AMP_HP_SHARED_MEM_SIZE`.
    pub hp_shared_mem_size: u32,
    /// `ESP_AMP_RTC_SHARED_MEM_SIZE` (LP subcore only).
    pub rtc_shared_mem_size: u32,
    /// `ESP_AMP_SUBCORE_USE_HP_MEM_SIZE` (ignored for pure-RTC builds).
    pub subcore_use_hp_mem_size: u32,
    /// `ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP` (LP only).
    pub pure_rtc_ram_app: bool,
    /// `ESP_AMP_SUBCORE_STACK_SIZE_MIN`.
    pub subcore_stack_size_min: u32,
    /// `ESP_AMP_SUBCORE_ENABLE_HEAP` / `ESP_AMP_SUBCORE_HEAP_SIZE`: `None` = no heap.
    pub subcore_heap_size: Option<u32>,
    /// IDF `ULP_COPROC_RESERVE_MEM` (LP only).
    pub ulp_coproc_reserve_mem: u32,
    /// `ESP_AMP_EVENT_TABLE_LEN` (local to each core).
    pub event_table_len: u32,
    /// `ESP_AMP_SW_INTR_HANDLER_TABLE_LEN` (local to each core).
    pub sw_intr_handler_table_len: u32,
    /// `ESP_AMP_SYSTEM_ENABLE_SUPPLICANT`.
    pub supplicant: bool,
    /// `ESP_AMP_ROUTE_SUBCORE_PRINT` (requires the supplicant).
    pub route_subcore_print: bool,
    /// `ESP_AMP_SYSTEM_AUTO_LIGHT_SLEEP_SUPPORT_ENABLE` (LP only).
    pub auto_light_sleep: bool,
}

impl AmpConfig {
    /// The Kconfig defaults for `chip`.
    pub const fn default_for(chip: Chip) -> Self {
        let lp = matches!(chip.subcore_type(), SubcoreType::LpCore);
        AmpConfig {
            hp_shared_mem_size: 16384,
            rtc_shared_mem_size: 256,
            subcore_use_hp_mem_size: if lp { 16384 } else { 65536 },
            pure_rtc_ram_app: false,
            subcore_stack_size_min: if lp { 1024 } else { 16384 },
            subcore_heap_size: None,
            ulp_coproc_reserve_mem: 4096,
            event_table_len: 8,
            sw_intr_handler_table_len: 8,
            supplicant: false,
            route_subcore_print: false,
            auto_light_sleep: false,
        }
    }
}

/// Why a configuration cannot produce a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    /// An option is outside its Kconfig range.
    OutOfRange {
        /// The option, named as the Kconfig option.
        option: &'static str,
        /// The value given.
        value: u32,
        /// The smallest allowed value.
        min: u32,
        /// The largest allowed value.
        max: u32,
    },
    /// An option that does not exist for this chip was enabled.
    NotSupported {
        /// The option.
        option: &'static str,
        /// The chip that lacks it.
        chip: Chip,
    },
    /// An option requires another one that is off.
    Requires {
        /// The option that was enabled.
        option: &'static str,
        /// The option it needs.
        requires: &'static str,
    },
    /// The regions do not fit in the memory available for them.
    DoesNotFit {
        /// The regions that do not fit.
        what: &'static str,
        /// Bytes they need.
        need: u32,
        /// Bytes there are.
        available: u32,
    },
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ConfigError::OutOfRange { option, value, min, max } => {
                write!(f, "{option} = {value} is outside its range {min}..={max}")
            }
            ConfigError::NotSupported { option, chip } => {
                write!(f, "{option} is not available on {}", chip.name())
            }
            ConfigError::Requires { option, requires } => write!(f, "{option} requires {requires}"),
            ConfigError::DoesNotFit { what, need, available } => {
                write!(f, "{what} needs {need} bytes but only {available} are available")
            }
        }
    }
}

/// A half-open address range `[start, end)`.
///
/// ```
/// use esp_amp::layout::Region;
/// let r = Region { start: 0x4087_A560, end: 0x4087_E560 };
/// assert_eq!(r.len(), 16 * 1024);
/// assert!(!r.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Region {
    /// First address.
    pub start: u32,
    /// First address after the range.
    pub end: u32,
}

impl Region {
    /// Length in bytes.
    pub const fn len(&self) -> u32 {
        self.end - self.start
    }
    /// `true` when the region has no bytes.
    pub const fn is_empty(&self) -> bool {
        self.end == self.start
    }
    /// `true` if `addr` is inside.
    pub const fn contains(&self, addr: u32) -> bool {
        self.start <= addr && addr < self.end
    }
    /// `true` if `other` lies wholly inside this region.
    pub const fn contains_region(&self, other: Region) -> bool {
        self.start <= other.start && other.end <= self.end
    }
    /// `true` if the two regions share at least one byte.
    pub const fn overlaps(&self, other: Region) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// RTC (LP) RAM map of an LP-core subcore (docs/protocol.md §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcLayout {
    /// `[RTC_MEM_START, RTC_MEM_START + RTC_MEM_SIZE)`: everything the subcore may use.
    pub mem: Region,
    /// The RTC SysInfo pool (last bytes of `mem`).
    pub pool: Region,
    /// IDF's `ulp_lp_core_memory_shared_cfg_t` as placed by the subcore linker script.
    pub ulp_shared_cfg: Region,
    /// Code, data and stack of the subcore (`rtc_ram` in the linker script).
    pub app: Region,
    /// The LP core reset vector: the only valid entry point.
    pub reset_vector: u32,
}

/// The memory map of one configuration.
///
/// ```
/// use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
/// let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
/// // The shared region holds the SysInfo pool; the subcore's HP region lies outside it.
/// assert!(layout.shared.start <= layout.sys_info_pool.start && layout.sys_info_pool.end <= layout.shared.end);
/// assert!(layout.subcore_hp.is_some() && layout.rtc.is_some()); // LP-core chip
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLayout {
    /// The chip.
    pub chip: Chip,
    /// The configuration this layout was computed from.
    pub config: AmpConfig,
    /// `[SHARED_START, SHARED_END)`, excluded from the maincore heap.
    pub shared: Region,
    /// The HP SysInfo pool `[POOL_START, SHARED_END)`.
    pub sys_info_pool: Region,
    /// The subcore firmware region in HP RAM (`None` for pure-RTC builds).
    pub subcore_hp: Option<Region>,
    /// The panic-dump region `[SHARED_END, SHARED_END + 0x1000)`.
    pub panic_dump: Region,
    /// RTC RAM map (LP-core chips only).
    pub rtc: Option<RtcLayout>,
}

impl MemoryLayout {
    /// Device address of the maincore's software-interrupt status word.
    pub const fn main_sw_intr_word(&self) -> u32 {
        self.shared.start
    }
    /// Device address of the subcore's software-interrupt status word.
    pub const fn sub_sw_intr_word(&self) -> u32 {
        self.shared.start + 4
    }

    /// Checks `config` against the Kconfig ranges and computes the layout.
    pub fn new(chip: Chip, config: &AmpConfig) -> Result<Self, ConfigError> {
        let lp = chip.subcore_type() == SubcoreType::LpCore;
        let range = |option, value, min, max| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange { option, value, min, max })
            }
        };
        range("ESP_AMP_HP_SHARED_MEM_SIZE", config.hp_shared_mem_size, 1024, if lp { 20480 } else { 65536 })?;
        range("ESP_AMP_SUBCORE_STACK_SIZE_MIN", config.subcore_stack_size_min, 256, 32768)?;
        range("ESP_AMP_EVENT_TABLE_LEN", config.event_table_len, 4, 64)?;
        range("ESP_AMP_SW_INTR_HANDLER_TABLE_LEN", config.sw_intr_handler_table_len, 4, 64)?;
        if let Some(heap) = config.subcore_heap_size {
            range("ESP_AMP_SUBCORE_HEAP_SIZE", heap, 0, if lp { 16384 } else { 65536 })?;
        }
        if config.route_subcore_print && !config.supplicant {
            return Err(ConfigError::Requires {
                option: "ESP_AMP_ROUTE_SUBCORE_PRINT",
                requires: "ESP_AMP_SYSTEM_ENABLE_SUPPLICANT",
            });
        }
        if !lp {
            for (on, option) in [
                (config.pure_rtc_ram_app, "ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP"),
                (config.auto_light_sleep, "ESP_AMP_SYSTEM_AUTO_LIGHT_SLEEP_SUPPORT_ENABLE"),
            ] {
                if on {
                    return Err(ConfigError::NotSupported { option, chip });
                }
            }
        }

        let end = chip.shared_end();
        // Rule 1: round the configured size up to 16 by aligning the start down.
        let start = (end - config.hp_shared_mem_size) & !0xF;
        let shared = Region { start, end };
        let sys_info_pool = Region { start: start + SHARED_HEADER_SIZE, end };
        let panic_dump = Region { start: end, end: end + PANIC_DUMP_REGION_SIZE };

        let subcore_hp = if config.pure_rtc_ram_app {
            None
        } else {
            let (min, max) = if lp { (16384, 49152) } else { (65536, 196608) };
            range("ESP_AMP_SUBCORE_USE_HP_MEM_SIZE", config.subcore_use_hp_mem_size, min, max)?;
            Some(Region { start: start - config.subcore_use_hp_mem_size, end: start })
        };
        if let Some(floor) = chip.amp_region_floor() {
            let lowest = subcore_hp.map_or(start, |r| r.start);
            if lowest < floor {
                return Err(ConfigError::DoesNotFit {
                    what: "subcore HP region + shared memory + panic dump",
                    need: panic_dump.end - lowest,
                    available: panic_dump.end - floor,
                });
            }
        }

        let rtc = if let Some(rtc_mem) = chip.desc().rtc_mem {
            range("ESP_AMP_RTC_SHARED_MEM_SIZE", config.rtc_shared_mem_size, 2, 1024)?;
            range("ULP_COPROC_RESERVE_MEM", config.ulp_coproc_reserve_mem, 32, rtc_mem.len() - 32)?;
            let mem_size = config.ulp_coproc_reserve_mem & !7;
            let pool_size = (config.rtc_shared_mem_size + 15) & !15;
            let fixed = LP_VECTOR_TABLE_SIZE + ULP_SHARED_MEM + pool_size;
            let need = fixed + config.subcore_stack_size_min;
            if need > mem_size {
                return Err(ConfigError::DoesNotFit {
                    what: "LP vector table + stack minimum + ULP shared cfg + RTC pool",
                    need,
                    available: mem_size,
                });
            }
            let mem = Region { start: rtc_mem.start, end: rtc_mem.start + mem_size };
            let pool = Region { start: mem.end - pool_size, end: mem.end };
            let ulp_shared_cfg = Region { start: pool.start - ULP_SHARED_MEM, end: pool.start };
            let app = Region { start: rtc_mem.start + LP_VECTOR_TABLE_SIZE, end: ulp_shared_cfg.start };
            Some(RtcLayout { mem, pool, ulp_shared_cfg, app, reset_vector: app.start })
        } else {
            None
        };

        Ok(MemoryLayout { chip, config: *config, shared, sys_info_pool, subcore_hp, panic_dump, rtc })
    }
}

impl core::error::Error for ConfigError {}

/// What a subcore image records of the configuration it was built for, so that a loader
/// can refuse an image built for another one (both halves of a pair must agree on every
/// address of the layout and on the system options).
///
/// The subcore runtimes (`esp-amp-lp`, `esp-amp-hp`) place [`ConfigRecord::encode`]'s
/// bytes in their image's `.rodata` (kept by their linker scripts); the loader finds them
/// with [`ConfigRecord::find`] and compares them with its own layout's
/// ([`image::load::LoadTarget`](crate::image::load::LoadTarget)`::config`). Images without
/// a record (ESP-AMP C's, or built by hand) are accepted as before.
///
/// Wire format, [`ConfigRecord::SIZE`] bytes, little-endian `u32`s after the magic:
/// `"ESPAMPCF"`, format version (1), chip (the ESP image chip id), then
/// `ESP_AMP_HP_SHARED_MEM_SIZE`, `ESP_AMP_RTC_SHARED_MEM_SIZE`,
/// `ESP_AMP_SUBCORE_USE_HP_MEM_SIZE`, `ESP_AMP_SUBCORE_STACK_SIZE_MIN`,
/// `ULP_COPROC_RESERVE_MEM`, `ESP_AMP_SUBCORE_HEAP_SIZE`, and a flag word (bit 0 pure-RTC,
/// 1 heap enabled, 2 supplicant, 3 print routing, 4 light sleep). The event and
/// handler table lengths are local to each core and not recorded.
///
/// ```
/// use esp_amp::layout::{AmpConfig, Chip, ConfigRecord};
/// let ours = AmpConfig::default_for(Chip::Esp32C6);
/// let theirs = AmpConfig { hp_shared_mem_size: 8192, ..ours };
/// let image = ConfigRecord::new(Chip::Esp32C6, &theirs).encode();
/// let found = ConfigRecord::find(&image).unwrap();
/// let mismatch = found.compare(&ConfigRecord::new(Chip::Esp32C6, &ours)).unwrap_err();
/// assert_eq!(mismatch.option, "ESP_AMP_HP_SHARED_MEM_SIZE");
/// assert_eq!((mismatch.image, mismatch.expected), (8192, 16384));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigRecord {
    /// The record's format version ([`ConfigRecord::VERSION`] for records this crate writes).
    pub version: u32,
    /// The values in wire order, from the chip on (see the type's docs).
    values: [u32; 8],
}

/// A recorded option that differs from the loader's: see [`ConfigRecord::compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConfigMismatch {
    /// The option, named as ESP-AMP C's Kconfig option (or `chip`, `record version`).
    pub option: &'static str,
    /// Its value in the image.
    pub image: u32,
    /// Its value in the loader's configuration.
    pub expected: u32,
}

impl core::fmt::Display for ConfigMismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "the subcore image was built with {} = {}, the maincore with {}: build both halves with one configuration",
            self.option, self.image, self.expected
        )
    }
}

impl core::error::Error for ConfigMismatch {}

impl ConfigRecord {
    /// The record's first bytes.
    pub const MAGIC: [u8; 8] = *b"ESPAMPCF";
    /// The format version this crate writes and understands.
    pub const VERSION: u32 = 1;
    /// Encoded size in bytes.
    pub const SIZE: usize = 8 + 4 + 4 * 8;
    /// Names of the values, in wire order (the options as ESP-AMP C names them).
    const NAMES: [&'static str; 8] = [
        "chip",
        "ESP_AMP_HP_SHARED_MEM_SIZE",
        "ESP_AMP_RTC_SHARED_MEM_SIZE",
        "ESP_AMP_SUBCORE_USE_HP_MEM_SIZE",
        "ESP_AMP_SUBCORE_STACK_SIZE_MIN",
        "ULP_COPROC_RESERVE_MEM",
        "ESP_AMP_SUBCORE_HEAP_SIZE",
        "options (bit 0 pure-RTC, 1 heap, 2 supplicant, 3 print routing, 4 light sleep)",
    ];

    /// The record of `config` for `chip`.
    pub const fn new(chip: Chip, config: &AmpConfig) -> Self {
        let flags = (config.pure_rtc_ram_app as u32)
            | ((config.subcore_heap_size.is_some() as u32) << 1)
            | ((config.supplicant as u32) << 2)
            | ((config.route_subcore_print as u32) << 3)
            | ((config.auto_light_sleep as u32) << 4);
        let heap = match config.subcore_heap_size {
            Some(h) => h,
            None => 0,
        };
        ConfigRecord {
            version: Self::VERSION,
            values: [
                crate::image::esp_chip_id(chip) as u32,
                config.hp_shared_mem_size,
                config.rtc_shared_mem_size,
                // Unused by a pure-RTC build: recorded as 0 so it cannot differ.
                if config.pure_rtc_ram_app { 0 } else { config.subcore_use_hp_mem_size },
                config.subcore_stack_size_min,
                config.ulp_coproc_reserve_mem,
                heap,
                flags,
            ],
        }
    }

    /// The record of `layout`'s configuration.
    pub const fn of(layout: &MemoryLayout) -> Self {
        Self::new(layout.chip, &layout.config)
    }

    /// The encoded record.
    pub const fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        let mut i = 0;
        while i < 8 {
            out[i] = Self::MAGIC[i];
            i += 1;
        }
        let version = self.version.to_le_bytes();
        let mut j = 0;
        while j < 4 {
            out[8 + j] = version[j];
            j += 1;
        }
        let mut v = 0;
        while v < 8 {
            let b = self.values[v].to_le_bytes();
            let mut j = 0;
            while j < 4 {
                out[12 + 4 * v + j] = b[j];
                j += 1;
            }
            v += 1;
        }
        out
    }

    /// Decodes a record at the start of `bytes` (`None` without the magic or too short).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes = bytes.get(..Self::SIZE)?;
        if bytes[..8] != Self::MAGIC {
            return None;
        }
        let word = |at: usize| bytes.get(at..at + 4).and_then(|w| w.try_into().ok()).map(u32::from_le_bytes);
        let mut values = [0u32; 8];
        for (i, v) in values.iter_mut().enumerate() {
            *v = word(12 + 4 * i)?;
        }
        Some(ConfigRecord { version: word(8)?, values })
    }

    /// The first record in `bytes` (a loaded segment of an image), at a 4-byte-aligned
    /// offset as the runtimes place it. The search is one pass over `bytes`.
    pub fn find(bytes: &[u8]) -> Option<Self> {
        (0..bytes.len()).step_by(4).find_map(|at| bytes.get(at..).and_then(Self::decode))
    }

    /// The chip and configuration the record describes (`None` for another format version
    /// or an unknown chip). The options it does not record (the per-core table lengths)
    /// are the chip's defaults.
    pub fn config(&self) -> Option<(Chip, AmpConfig)> {
        if self.version != Self::VERSION {
            return None;
        }
        let [chip, hp_shared, rtc_shared, hp_mem, stack, reserve, heap, flags] = self.values;
        let chip = Chip::ALL.into_iter().find(|&c| u32::from(crate::image::esp_chip_id(c)) == chip)?;
        let d = AmpConfig::default_for(chip);
        let on = |bit: u32| flags & (1 << bit) != 0;
        let config = AmpConfig {
            hp_shared_mem_size: hp_shared,
            rtc_shared_mem_size: rtc_shared,
            subcore_use_hp_mem_size: if on(0) { d.subcore_use_hp_mem_size } else { hp_mem },
            pure_rtc_ram_app: on(0),
            subcore_stack_size_min: stack,
            subcore_heap_size: if on(1) { Some(heap) } else { None },
            ulp_coproc_reserve_mem: reserve,
            supplicant: on(2),
            route_subcore_print: on(3),
            auto_light_sleep: on(4),
            ..d
        };
        Some((chip, config))
    }

    /// `Ok` if `self` (found in an image) records the configuration `expected` records;
    /// otherwise the first option that differs.
    pub fn compare(&self, expected: &ConfigRecord) -> Result<(), ConfigMismatch> {
        if self.version != expected.version {
            return Err(ConfigMismatch {
                option: "record version",
                image: self.version,
                expected: expected.version,
            });
        }
        match (0..8).find(|&i| self.values[i] != expected.values[i]) {
            None => Ok(()),
            Some(i) => Err(ConfigMismatch {
                option: Self::NAMES[i],
                image: self.values[i],
                expected: expected.values[i],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default(chip: Chip) -> MemoryLayout {
        MemoryLayout::new(chip, &AmpConfig::default_for(chip)).unwrap()
    }

    /// Spec §1.1 and §1.2 tables at the default configuration.
    #[test]
    fn chip_descriptions_are_consistent() {
        for chip in Chip::ALL {
            let d = chip.desc();
            assert_eq!(d.name.parse::<Chip>(), Ok(chip), "{} names its chip", d.name);
            // An LP subcore has RTC RAM; an HP one does not.
            assert_eq!(d.rtc_mem.is_some(), d.subcore == SubcoreType::LpCore, "{}", d.name);
            assert!(d.app_desc_window.start < d.app_desc_window.end, "{}", d.name);
            assert!(d.amp_region_floor.is_none_or(|f| f < d.shared_end), "{}", d.name);
            let others = Chip::ALL.iter().filter(|&&c| c != chip);
            assert!(others.clone().all(|c| c.desc().esp_chip_id != d.esp_chip_id), "{}: chip id", d.name);
            assert!(others.clone().all(|c| c.desc().name != d.name), "{}: name", d.name);
        }
    }

    #[test]
    fn spec_tables() {
        let cases = [
            (Chip::Esp32C6, 0x4087_E560, 0x4087_F560, 0x4087_A560, 0x4087_A580, 0x4087_6560),
            (Chip::Esp32C5, 0x4085_E4F0, 0x4085_F4F0, 0x4085_A4F0, 0x4085_A510, 0x4085_64F0),
            (Chip::Esp32P4, 0x4FF7_F000, 0x4FF8_0000, 0x4FF7_B000, 0x4FF7_B020, 0x4FF6_B000),
        ];
        for (chip, end, dump_end, start, pool, sub_start) in cases {
            let l = default(chip);
            assert_eq!(l.shared, Region { start, end }, "{chip:?}");
            assert_eq!(l.panic_dump, Region { start: end, end: dump_end });
            assert_eq!(l.sys_info_pool, Region { start: pool, end });
            assert_eq!(l.subcore_hp, Some(Region { start: sub_start, end: start }));
            assert_eq!(l.main_sw_intr_word(), start);
            assert_eq!(l.sub_sw_intr_word(), start + 4);
        }
        assert!(default(Chip::Esp32P4).rtc.is_none());
    }

    #[test]
    fn rtc_pool() {
        let rtc = default(Chip::Esp32C6).rtc.unwrap();
        assert_eq!(rtc.mem, Region { start: 0x5000_0000, end: 0x5000_1000 });
        assert_eq!(rtc.pool, Region { start: 0x5000_0F00, end: 0x5000_1000 });
        assert_eq!(rtc.reset_vector, 0x5000_0080);
        // docs/protocol.md §1.4 example: 14500 / 256 -> 0x5000_37A0.
        let cfg = AmpConfig { ulp_coproc_reserve_mem: 14500, ..AmpConfig::default_for(Chip::Esp32C6) };
        let rtc = MemoryLayout::new(Chip::Esp32C6, &cfg).unwrap().rtc.unwrap();
        assert_eq!(rtc.pool.start, 0x5000_37A0);
        assert_eq!(rtc.mem.end, 0x5000_38A0);
    }

    #[test]
    fn unaligned_size_rounds_up() {
        let cfg = AmpConfig { hp_shared_mem_size: 1025, ..AmpConfig::default_for(Chip::Esp32C6) };
        let l = MemoryLayout::new(Chip::Esp32C6, &cfg).unwrap();
        assert_eq!(l.shared.len(), 1040);
        assert_eq!(l.shared.start % 16, 0);
    }

    #[test]
    fn rejects_out_of_range() {
        let c6 = AmpConfig::default_for(Chip::Esp32C6);
        let p4 = AmpConfig::default_for(Chip::Esp32P4);
        let bad = [
            (Chip::Esp32C6, AmpConfig { hp_shared_mem_size: 1023, ..c6 }),
            (Chip::Esp32C6, AmpConfig { hp_shared_mem_size: 20481, ..c6 }),
            (Chip::Esp32C5, AmpConfig { subcore_use_hp_mem_size: 49153, ..c6 }),
            (Chip::Esp32C6, AmpConfig { rtc_shared_mem_size: 1, ..c6 }),
            (Chip::Esp32C6, AmpConfig { event_table_len: 65, ..c6 }),
            (Chip::Esp32C6, AmpConfig { sw_intr_handler_table_len: 3, ..c6 }),
            (Chip::Esp32C6, AmpConfig { subcore_heap_size: Some(16385), ..c6 }),
            (Chip::Esp32P4, AmpConfig { subcore_use_hp_mem_size: 16384, ..p4 }),
            (Chip::Esp32P4, AmpConfig { hp_shared_mem_size: 65537, ..p4 }),
        ];
        for (chip, cfg) in bad {
            assert!(
                matches!(MemoryLayout::new(chip, &cfg), Err(ConfigError::OutOfRange { .. })),
                "{chip:?} {cfg:?}"
            );
        }
        let e = MemoryLayout::new(Chip::Esp32P4, &AmpConfig { pure_rtc_ram_app: true, ..p4 });
        assert!(matches!(e, Err(ConfigError::NotSupported { .. })));
        let e = MemoryLayout::new(Chip::Esp32C6, &AmpConfig { route_subcore_print: true, ..c6 });
        assert!(matches!(e, Err(ConfigError::Requires { .. })));
        // P4 maximum sizes overrun the 256 KiB AMP window.
        let e = MemoryLayout::new(
            Chip::Esp32P4,
            &AmpConfig { hp_shared_mem_size: 65536, subcore_use_hp_mem_size: 196608, ..p4 },
        );
        assert!(matches!(e, Err(ConfigError::DoesNotFit { .. })));
        // A stack minimum that cannot fit in the reserved RTC memory.
        let e = MemoryLayout::new(Chip::Esp32C6, &AmpConfig { subcore_stack_size_min: 32768, ..c6 });
        assert!(matches!(e, Err(ConfigError::DoesNotFit { .. })));
    }

    #[test]
    fn pure_rtc_has_no_hp_region() {
        let cfg = AmpConfig { pure_rtc_ram_app: true, ..AmpConfig::default_for(Chip::Esp32C5) };
        assert_eq!(MemoryLayout::new(Chip::Esp32C5, &cfg).unwrap().subcore_hp, None);
    }
}
