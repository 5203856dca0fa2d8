//! The PMU registers of the HP↔LP software interrupt and the LP core's `mie` lines, from
//! `esp-amp-soc` (addresses checked against the esp32c6 0.24 / esp32c5 0.3 PACs by its
//! tests; the LP core sees the PMU at the HP core's addresses).
//!
//! Why addresses rather than the PAC's register API: the runtime serves both LP chips
//! from one source, and the C5 has no LP-core PAC (the C6's is `esp32c6-lp`); a few plain
//! volatile accesses to values proven equal to the PACs' (`esp-amp-soc/tests/pac.rs`)
//! keep the 16 KiB core's runtime free of a PAC per chip.

#[cfg(feature = "esp32c5")]
use esp_amp_soc::esp32c5 as chip;
#[cfg(feature = "esp32c6")]
use esp_amp_soc::esp32c6 as chip;

pub const LP_INT_ENA: u32 = chip::LP_SW_INTR.lp_int_ena;
pub const LP_INT_CLR: u32 = chip::LP_SW_INTR.lp_int_clr;
pub const HP_LP_CPU_COMM: u32 = chip::LP_SW_INTR.hp_lp_cpu_comm;
/// The `mie` bits to enable: on both chips every external interrupt arrives on line 30
/// (`esp_amp_soc::LpVectors::Single`; the C5 is not the P4's LP core, whose lines are
/// per source).
pub const MIE_LINES: u32 = chip::LP_MIE;

/// `HP_SW_TRIGGER` in `PMU_LP_INT_{ST,ENA,CLR}`.
pub const HP_SW_TRIGGER: u32 = esp_amp_soc::PMU_HP_SW_TRIGGER;
/// `LP_TRIGGER_HP` in `PMU_HP_LP_CPU_COMM`.
pub const LP_TRIGGER_HP: u32 = esp_amp_soc::PMU_LP_TRIGGER_HP;
/// `MAIN_TIMER_UPDATE` in `LP_TIMER_UPDATE_REG` (bit 28 on the C6, 27 on the C5).
pub const LP_TIMER_UPDATE_BIT: u32 = chip::LP_TIMER_UPDATE_BIT;

pub fn write(addr: u32, v: u32) {
    // SAFETY: `addr` is one of the PMU registers above, an LP UART register of
    // `esp_amp_soc::lp_uart` or an LP timer / LP_AON register of `esp_amp_soc::lp_timer`,
    // each valid for a 32-bit volatile access from the LP core; no Rust object lives there.
    unsafe { (addr as usize as *mut u32).write_volatile(v) }
}

pub fn read(addr: u32) -> u32 {
    // SAFETY: as in `write`, for a 32-bit volatile read.
    unsafe { (addr as usize as *const u32).read_volatile() }
}
