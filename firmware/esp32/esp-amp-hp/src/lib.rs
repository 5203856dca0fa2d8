//! esp-amp port and runtime for the second HP core of the ESP32-P4 (the subcore).
//!
//! - Interrupt line ([`FromCpuLine`]): raising writes 1 to `CPU_INT_FROM_CPU_2` (source
//!   81, the maincore's); ours is `FROM_CPU_INTR3` (source 82), routed by core 1's
//!   interrupt matrix to CPU line 30 (the map register holds its CLIC index, 46) and
//!   enabled at priority 1 in the CLIC, as C does. It is cleared by writing 0, then
//!   dispatched unconditionally (as C). Every register fact comes from `esp-amp-soc`.
//! - Time ([`HpPlatform`]): the 64-bit `mcycle` divided by the CPU clock the ROM reports
//!   (`ets_get_cpu_frequency`, which esp-hal's and IDF's clock set-up keep current), as
//!   C does; idling with `wfi`.
//! - Runtime: `_start` (the boot address the maincore gives the ROM) sets `gp`, the stack,
//!   the FPU state, `mtvec` in CLIC mode and clears `.bss`, clears the ROM's boot address
//!   (as C and esp-hal), then runs the firmware's
//!   [`entry!`] function. Every trap enters the shared trap entry of `esp-amp-riscv`; an
//!   exception writes the register frame and the stack into the panic dump and raises
//!   software interrupt 28; the core then waits to be stopped.
//! - Panics: as on the LP core: `panic on subcore at <file>:<line>` in the panic dump
//!   (the message too with `panic-message`), then the frame of the `unimp` that ends it;
//!   also on UART0 (ROM routine) while the global printer has no service queue (feature
//!   `uart-console`, or [`uart_printer`] installed).
//! - Memory: the linker script and [`layout`] come from `esp_amp::layout` (`build.rs`);
//!   the stack has exactly `ESP_AMP_SUBCORE_STACK_SIZE_MIN` bytes, after `.bss`, as in C.
//!
//! Nothing here has run on a P4: it is built and checked by construction (`cargo xtask
//! esp32`).
//!
//! ```ignore
//! #![no_std]
#![deny(missing_docs)]
//! #![no_main]
//! esp_amp_hp::entry!(main);
//! fn main() -> ! {
//!     esp_amp_hp::report_panics();
//!     let info = esp_amp::sys_info::SysInfo::attach(esp_amp_hp::sys_info_pool(), None);
//!     /* attach RPMsg, events, …, then loop with `HpPlatform.wait_irq` */
//!     loop {}
//! }
//! ```
#![no_std]

/// The memory map of this build (generated from `esp_amp::layout`).
pub mod layout {
    include!(concat!(env!("OUT_DIR"), "/layout.rs"));
}
mod regs;
mod rt;

use esp_amp::port::{InterruptLine, Platform};
use esp_amp::shm::Shm;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::SubCore;
use esp_amp_riscv::{CycleClock, CycleRate};
use layout::*;

pub use rt::{report_panics, with_interrupts, IRQ_EPOCH, SW_HANDLER};

/// HP core 1's side of the FROM_CPU software interrupts.
#[derive(Clone, Copy, Debug, Default)]
pub struct FromCpuLine;

impl InterruptLine for FromCpuLine {
    fn raise(&self) {
        regs::write(regs::FROM_CPU_MAIN, 1);
    }
    fn clear(&self) {
        regs::write(regs::FROM_CPU_SUB, 0);
    }
    fn enable(&self) {
        regs::write(regs::MAP, regs::MAP_VALUE);
        regs::write_u8(regs::CLIC_ATTR, regs::CLIC_ATTR_M_LEVEL);
        regs::write_u8(regs::CLIC_CTL, regs::CLIC_CTL_PRIORITY);
        regs::write_u8(regs::CLIC_IE, 1);
    }
    fn disable(&self) {
        regs::write_u8(regs::CLIC_IE, 0);
    }
}

/// The rate of `mcycle`: the CPU clock the ROM reports, read at every use (as C), since
/// the maincore sets the clock (esp-hal: 100, 200 or 400 MHz; IDF: 360 MHz by default).
#[derive(Clone, Copy, Debug, Default)]
pub struct RomCpuRate;

impl CycleRate for RomCpuRate {
    #[inline]
    fn cycles_per_us(&self) -> u32 {
        esp_amp_soc::esp32p4::subcore_cycles_per_us(regs::rom_ticks_per_us())
    }
}

/// Time and idling: `mcycle` at the CPU clock the ROM reports, interrupts counted by the
/// runtime.
const CLOCK: CycleClock<RomCpuRate> = CycleClock::new(RomCpuRate, &IRQ_EPOCH);

/// The 64-bit cycle counter.
pub use esp_amp_riscv::cycles;

/// Time, interrupt mask and idling on HP core 1.
#[derive(Clone, Copy, Debug, Default)]
pub struct HpPlatform;

impl Platform for HpPlatform {
    fn now_ms(&self) -> u32 {
        CLOCK.now_ms()
    }
    fn delay_us(&self, us: u32) {
        CLOCK.delay_us(us)
    }
    fn interrupts_enable(&self) {
        esp_amp_riscv::interrupts_enable();
    }
    fn interrupts_disable(&self) {
        esp_amp_riscv::interrupts_disable();
    }
    fn irq_epoch(&self) -> u32 {
        CLOCK.irq_epoch()
    }
    fn wait_irq(&self, epoch: u32, timeout_ms: Option<u32>) {
        CLOCK.wait_irq(epoch, timeout_ms)
    }
}

/// A checked window on RAM the layout reserves for `[start, start + len)`.
fn window(start: u32, len: u32) -> Shm<'static> {
    // SAFETY: every caller passes a region of the generated layout or of this image's
    // linker script: RAM that no image is linked into (shared region, panic dump) or this
    // core's own stack (read only, for the stack dump), 4-byte aligned, and accessed only
    // through `Shm`.
    unsafe { Shm::from_raw(start as usize as *mut u8, start, len) }
}

/// The HP shared region.
pub fn shared() -> Shm<'static> {
    window(SHARED_START, SHARED_SIZE)
}

/// The software-interrupt header (first 0x20 bytes of the shared region).
pub fn sw_intr_header() -> Shm<'static> {
    window(SHARED_START, 0x20)
}

/// The HP SysInfo pool (the shared region after its header).
pub fn sys_info_pool() -> Shm<'static> {
    window(SHARED_START + 0x20, SHARED_SIZE - 0x20)
}

/// The panic-dump region.
pub fn panic_dump() -> Shm<'static> {
    window(PANIC_DUMP_START, PANIC_DUMP_SIZE)
}

/// Writes `bytes` to the ROM console (UART0), HP core 1's own console (as ESP-AMP C's P4
/// `subcore_uart_putchar`, `esp_rom_output_putc`): the
/// [`Fallback`](esp_amp::system::print::Fallback) of a
/// [`Printer`](esp_amp::system::print::Printer) while the service queue is not up, or its
/// only output ([`uart_printer`]).
pub fn uart_write(bytes: &[u8]) {
    bytes.iter().for_each(|&b| regs::rom_putc(b));
}

/// A [`Printer`](esp_amp::system::print::Printer) that writes only to the ROM console
/// ([`uart_write`]): `esp_amp::system::print::set_global(esp_amp_hp::uart_printer())`.
pub fn uart_printer() -> esp_amp::system::print::Printer<'static> {
    esp_amp::system::print::Printer::new(None).with_fallback(&UART_FALLBACK)
}

/// [`uart_write`] as a `'static` [`Fallback`](esp_amp::system::print::Fallback):
/// `Printer::new(tx).with_fallback(&UART_FALLBACK)`.
pub static UART_FALLBACK: fn(&[u8]) = uart_write;

/// Raises software interrupt `id` on the maincore without a local [`SwIntr`] (the panic
/// path and anything else that must outlive one).
pub fn trigger_main(id: SwIntrId) {
    // An endpoint without handler slots: only its trigger (post, fence, raise) is used.
    if let Ok(sw) = SwIntr::<SubCore, FromCpuLine, 0>::attach(sw_intr_header(), FromCpuLine) {
        sw.trigger(id);
    }
}

/// Raises software interrupts on the maincore from anywhere (a `'static`
/// [`Trigger`](esp_amp::event::Trigger), e.g. for the global printer's service queue).
#[derive(Clone, Copy, Debug, Default)]
pub struct MainTrigger;

impl esp_amp::event::Trigger for MainTrigger {
    fn trigger(&self, id: SwIntrId) {
        trigger_main(id);
    }
}

/// Defines the firmware's main function: `esp_amp_hp::entry!(main);` with `fn main() -> !`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[export_name = "esp_amp_hp_main"]
        fn __esp_amp_hp_main() -> ! {
            $main()
        }
    };
}
