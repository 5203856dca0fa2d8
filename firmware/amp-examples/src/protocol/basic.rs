//! What the two halves of the `basic` pair agree on (included by `qemu-main/src/bin/basic.rs`
//! and `qemu-sub/src/bin/basic.rs`).

use esp_amp::sys_info::SysInfoId;

/// The 4-byte counter both harts hammer.
pub const COUNTER_ID: SysInfoId = SysInfoId(0x0100);
/// Additions per hart.
pub const HAMMER_ROUNDS: u32 = 20_000;
/// Subcore endpoints: echo, instruction statistics, panic on request, fault on request.
pub const ECHO_EPT: u16 = 0x10;
pub const STATS_EPT: u16 = 0x11;
pub const PANIC_EPT: u16 = 0x12;
pub const FAULT_EPT: u16 = 0x13;
/// Maincore → subcore event bits.
pub const GO_SW_INTR: u32 = 1 << 0;
pub const GO_HAMMER: u32 = 1 << 1;
/// Subcore → maincore event bits.
pub const ACK_SW_INTR: u32 = 1 << 0;
pub const ACK_HAMMER: u32 = 1 << 1;
