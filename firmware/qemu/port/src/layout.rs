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
/// `mtime` ticks per second on `virt`.
pub const MTIME_HZ: u32 = 10_000_000;
pub const UART_BASE: u32 = 0x1000_0000;
pub const TEST_DEVICE: u32 = 0x0010_0000;
