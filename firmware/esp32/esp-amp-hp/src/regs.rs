//! The ESP32-P4 registers of the HP-core-1 side of the software interrupt, from
//! `esp-amp-soc` (addresses and fields checked against the esp32p4 0.3 PAC by its tests;
//! both HP cores see them at the same addresses, the CLIC being each core's own).
//!
//! Why addresses rather than the esp32p4 PAC's register API: the subcore runtimes stay
//! free of a PAC (a few volatile accesses, the same code shape as the LP runtime's), and
//! every value here is proven equal to the PAC's by `esp-amp-soc/tests/pac.rs`.

use esp_amp_soc::{clic, esp32p4};

/// `HP_SYSTEM_CPU_INT_FROM_CPU_2_REG`: 1 raises source 81 (`FROM_CPU_INTR2`), the
/// maincore's interrupt.
pub const FROM_CPU_MAIN: u32 = esp32p4::from_cpu(esp32p4::MAIN_FROM_CPU);
/// `HP_SYSTEM_CPU_INT_FROM_CPU_3_REG`: source 82 (`FROM_CPU_INTR3`), ours; 0 clears it.
pub const FROM_CPU_SUB: u32 = esp32p4::from_cpu(esp32p4::SUB_FROM_CPU);
/// Core 1's interrupt-matrix map register of our source.
pub const MAP: u32 = esp32p4::core1_intr_map(esp32p4::SUBCORE_SOURCE);
/// What it must hold: the CLIC index of CPU line 30 (46), not the line itself. The enable
/// below addresses the same CLIC interrupt (both derive from `SUBCORE_LINE`).
pub const MAP_VALUE: u32 = esp32p4::SUBCORE_MAP_VALUE;
/// The CLIC control word of that interrupt (bytes IP, IE, ATTR, CTL).
pub const CLIC_CTRL: u32 = esp32p4::SUBCORE_CLIC_CTRL;
pub const CLIC_IE: u32 = CLIC_CTRL + clic::IE;
pub const CLIC_ATTR: u32 = CLIC_CTRL + clic::ATTR;
pub const CLIC_CTL: u32 = CLIC_CTRL + clic::CTL;
/// ATTR: machine mode, level-triggered, not vectored (it goes to `mtvec`, the one trap
/// entry).
pub const CLIC_ATTR_M_LEVEL: u8 = clic::ATTR_MACHINE_LEVEL;
/// CTL: priority 1 (as C).
pub const CLIC_CTL_PRIORITY: u8 = clic::ctl(esp32p4::SUBCORE_PRIORITY);

pub fn write(addr: u32, v: u32) {
    // SAFETY: `addr` is one of the 32-bit registers above (constants of this module),
    // valid for a volatile access from either HP core; no Rust object lives there.
    unsafe { (addr as usize as *mut u32).write_volatile(v) }
}

pub fn write_u8(addr: u32, v: u8) {
    // SAFETY: `addr` is a byte of the CLIC control word above, byte-accessible by design
    // (IP, IE, ATTR and CTL are separate byte registers).
    unsafe { (addr as usize as *mut u8).write_volatile(v) }
}

extern "C" {
    // ROM functions of the P4 (addresses: `esp_amp_soc::esp32p4::ROM_*`, provided by the
    // linker script `build.rs` writes).
    /// The CPU clock in ticks per microsecond, as the maincore's clock set-up left it.
    fn ets_get_cpu_frequency() -> u32;
    /// Sets the address core 1's ROM jumps to after a reset.
    fn ets_set_appcpu_boot_addr(addr: u32);
    /// One character to the ROM console (UART0).
    fn ets_write_char_uart(c: u8);
}

/// One byte to the ROM console (UART0).
pub fn rom_putc(c: u8) {
    // SAFETY: a ROM function that writes one character to the console UART the ROM and
    // the maincore's start-up set up; it waits for FIFO room itself.
    unsafe { ets_write_char_uart(c) }
}

/// The CPU clock in ticks per microsecond, as the ROM reports it.
pub fn rom_ticks_per_us() -> u32 {
    // SAFETY: a ROM function without arguments that reads one ROM variable; no
    // precondition.
    unsafe { ets_get_cpu_frequency() }
}

/// Clears the ROM's boot address, so a reset of this core waits in the ROM instead of
/// re-entering an image that may since have been replaced.
pub fn clear_rom_boot_addr() {
    // SAFETY: a ROM function that stores its argument into the ROM's boot-address
    // variable; 0 means "no image", which the ROM waits on.
    unsafe { ets_set_appcpu_boot_addr(0) }
}
