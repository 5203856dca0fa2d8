// The memory map of the QEMU `virt` two-hart system, in the spirit of the ESP32 ones:
// maincore image, subcore region, shared region, panic dump, and a boot mailbox, all in
// the first 2 MiB of RAM (QEMU puts the device tree near the top of RAM).
//
// This file is also `include!`d by the firmware build scripts, which generate the linker
// scripts from these constants; keep it free of `use` items.

/// Start of RAM on `virt`.
pub const RAM_START: u32 = 0x8000_0000;
/// The maincore image (code, data, stack): loaded by QEMU from the maincore ELF.
pub const MAIN_START: u32 = RAM_START;
pub const MAIN_SIZE: u32 = 0x10_0000;
/// Maincore stack size (at the top of the maincore image).
pub const MAIN_STACK_SIZE: u32 = 0x8000;
/// The subcore region: the maincore's loader writes the subcore ELF here.
pub const SUB_START: u32 = MAIN_START + MAIN_SIZE;
pub const SUB_SIZE: u32 = 0x4_0000;
/// Subcore stack size (at the top of the subcore region).
pub const SUB_STACK_SIZE: u32 = 0x4000;
/// The HP shared region: 0x20-byte software-interrupt header, then the SysInfo pool.
pub const SHARED_START: u32 = SUB_START + SUB_SIZE;
pub const SHARED_SIZE: u32 = 0x4000;
/// The panic-dump region (as on the ESP32s, right after the shared region).
pub const PANIC_DUMP_START: u32 = SHARED_START + SHARED_SIZE;
pub const PANIC_DUMP_SIZE: u32 = 0x1000;
/// The boot mailbox: four words the maincore uses to release, stop and restart hart 1, and
/// the console lock.
pub const MAILBOX_START: u32 = PANIC_DUMP_START + PANIC_DUMP_SIZE;
pub const MAILBOX_SIZE: u32 = 0x14;
/// Mailbox word offsets.
pub const MAILBOX_ENTRY: u32 = 0;
pub const MAILBOX_STOP: u32 = 4;
pub const MAILBOX_STATE: u32 = 8;
pub const MAILBOX_PARK: u32 = 12;
/// The console lock word (both harts print to one UART).
pub const MAILBOX_CONSOLE: u32 = 16;

/// Devices.
pub const CLINT_BASE: u32 = 0x0200_0000;
pub const CLINT_MTIMECMP: u32 = CLINT_BASE + 0x4000;
pub const CLINT_MTIME: u32 = CLINT_BASE + 0xBFF8;
/// Hart `hart`'s `msip` word (its machine software interrupt: 1 raises, 0 clears), the
/// CLINT's first block of 4-byte words (QEMU `hw/intc/riscv_aclint.c`; SiFive CLINT
/// layout). The only source of the port's interrupt-line addresses, as
/// `esp_amp_soc::esp32p4::core1_intr_map` is the P4's.
pub const fn clint_msip(hart: u32) -> u32 {
    CLINT_BASE + 4 * hart
}
/// Hart `hart`'s `mtimecmp` (8-byte words after the `msip` block).
pub const fn clint_mtimecmp(hart: u32) -> u32 {
    CLINT_MTIMECMP + 8 * hart
}
/// `mtime` ticks per second on `virt`.
pub const MTIME_HZ: u32 = 10_000_000;
pub const UART_BASE: u32 = 0x1000_0000;
pub const TEST_DEVICE: u32 = 0x0010_0000;
