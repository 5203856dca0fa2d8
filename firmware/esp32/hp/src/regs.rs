//! The ESP32-P4 registers of the HP-core-1 side of the software interrupt (addresses from
//! the esp32p4 0.4 PAC and ESP-IDF's P4 headers; both HP cores see them at the same
//! addresses).

/// `HP_SYSTEM_CPU_INT_FROM_CPU_2_REG`: 1 raises source 81 (`FROM_CPU_INTR2`), the
/// maincore's interrupt.
pub const FROM_CPU_2: u32 = 0x500E_5018;
/// `HP_SYSTEM_CPU_INT_FROM_CPU_3_REG`: source 82 (`FROM_CPU_INTR3`), ours; 0 clears it.
pub const FROM_CPU_3: u32 = 0x500E_501C;
/// Our interrupt source.
pub const SOURCE: u32 = 82;
/// The CPU interrupt line it is routed to (as C: line 30).
pub const LINE: u32 = 30;
/// `INTERRUPT_CORE1`: one map register per source; the value is the CPU line.
pub const CORE1_INTR_MAP: u32 = 0x500D_6800;
/// The CLIC's per-interrupt control words (`CLIC_INT_CTRL_REG(n)`, 0x2080_1000 + 4n), bytes
/// IP, IE, ATTR, CTL. External line `l` is CLIC interrupt `16 + l`.
pub const CLIC_INT_CTRL: u32 = 0x2080_1000 + 4 * (16 + LINE);
/// ATTR: machine mode, level-triggered, not vectored (it goes to `mtvec`, the one trap
/// entry).
pub const CLIC_ATTR_M_LEVEL: u8 = 0xC0;
/// CTL: priority 1 (as C) in the 3 level bits the P4's CLIC implements, the rest ones.
pub const CLIC_CTL_PRIORITY_1: u8 = (1 << 5) | 0x1F;

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
