//! The PMU registers of the HP↔LP software interrupt (addresses from the esp32c6 /
//! esp32c6-lp 0.3 and esp32c5 0.4 PACs; the LP core sees them at the same addresses as the
//! HP core).

const PMU: u32 = 0x600B_0000;

#[cfg(feature = "esp32c6")]
mod chip {
    pub const LP_INT_ENA: u32 = super::PMU + 0x174;
    pub const LP_INT_CLR: u32 = super::PMU + 0x178;
    pub const HP_LP_CPU_COMM: u32 = super::PMU + 0x184;
    /// The C6 LP core routes every external interrupt to line 30 (IDF:
    /// `SOC_LP_CORE_SINGLE_INTERRUPT_VECTOR`).
    pub const MIE_LINES: u32 = 1 << 30;
}

#[cfg(feature = "esp32c5")]
mod chip {
    pub const LP_INT_ENA: u32 = super::PMU + 0x178;
    pub const LP_INT_CLR: u32 = super::PMU + 0x17C;
    pub const HP_LP_CPU_COMM: u32 = super::PMU + 0x188;
    /// The C5 LP core has a line per source; as IDF's LP runtime, enable every external
    /// line but the HP interrupt (the handler looks at the PMU status, and no other source
    /// is enabled at its peripheral).
    pub const MIE_LINES: u32 = 0x3FFF_0888;
}

pub use chip::*;

/// `HP_SW_TRIGGER` in `PMU_LP_INT_{ST,ENA,CLR}`.
pub const HP_SW_TRIGGER: u32 = 1 << 31;
/// `LP_TRIGGER_HP` in `PMU_HP_LP_CPU_COMM`.
pub const LP_TRIGGER_HP: u32 = 1 << 30;

pub fn write(addr: u32, v: u32) {
    // SAFETY: `addr` is one of the PMU registers above (constants of this module), valid for
    // a 32-bit volatile access from the LP core; no Rust object lives there.
    unsafe { (addr as usize as *mut u32).write_volatile(v) }
}

pub fn read(addr: u32) -> u32 {
    // SAFETY: as in `write`, for a 32-bit volatile read.
    unsafe { (addr as usize as *const u32).read_volatile() }
}
