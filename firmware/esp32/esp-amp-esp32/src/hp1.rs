//! HP core 1 of the ESP32-P4 as the subcore: the FROM_CPU software interrupts 2 and 3 and
//! the core's clock, reset, stall and boot address.
//!
//! The lines are the C version's (docs/protocol.md §3): the maincore raises `FROM_CPU_INTR3` (source
//! 82, which the subcore routes to itself) and takes `FROM_CPU_INTR2` (source 81), which
//! the subcore raises. IDF uses the same two for its dual-core IPC, which is why the C
//! version forces FreeRTOS unicore; here owning the esp-hal singletons keeps esp-hal's
//! `SoftwareInterrupt` drivers and its `CpuControl` off them.

use esp_amp::port::InterruptLine;
use esp_amp::system::lifecycle::CoreControl;
use esp_hal::interrupt::{InterruptHandler, Priority};
use esp_hal::peripherals::{Interrupt, CPU_CTRL, FROM_CPU_INTR2, FROM_CPU_INTR3, HP_SYS, HP_SYS_CLKRST, PMU};
use esp_hal::system::Cpu;

use crate::{memory_layout, HANDLER, IRQ_EPOCH};

/// `FROM_CPU` register of the maincore's own interrupt (raised by the subcore).
const OWN: usize = esp_amp_soc::esp32p4::MAIN_FROM_CPU as usize;
/// `FROM_CPU` register of the subcore's interrupt.
const PEER: usize = esp_amp_soc::esp32p4::SUB_FROM_CPU as usize;
/// The C version allocates the maincore's interrupt at level 1.
const PRIORITY: Priority = Priority::Priority1;

/// The software-interrupt line between HP core 0 and HP core 1, core-0 side.
///
/// The `FROM_CPU` sources have no enable bit of their own: `enable`/`disable` map the source
/// to esp-hal's CPU interrupt for [`PRIORITY`] or to the disabled one in the interrupt
/// matrix (esp-hal's `interrupt::enable`/`disable`).
///
/// `raise` is a plain register write. esp-hal's `SoftwareInterrupt::raise` also spins until
/// the source reads pending, which could spin for ever here: the other core may clear it
/// first.
#[derive(Clone, Copy, Debug, Default)]
pub struct FromCpuLine;

impl InterruptLine for FromCpuLine {
    fn raise(&self) {
        HP_SYS::regs().cpu_intr_from_cpu(PEER).write(|w| w.cpu_intr().set_bit());
    }
    fn clear(&self) {
        HP_SYS::regs().cpu_intr_from_cpu(OWN).write(|w| w.cpu_intr().clear_bit());
    }
    fn enable(&self) {
        esp_hal::interrupt::enable(Interrupt::FROM_CPU_INTR2, PRIORITY);
    }
    fn disable(&self) {
        esp_hal::interrupt::disable(Cpu::ProCpu, Interrupt::FROM_CPU_INTR2);
    }
}

extern "C" fn from_cpu_interrupt() {
    // As in C: dispatch only if the source is really set (the level may have been cleared
    // while the interrupt was being taken).
    if HP_SYS::regs().cpu_intr_from_cpu(OWN).read().cpu_intr().bit_is_set() {
        match HANDLER.get() {
            // `SwIntr::isr` clears the line first.
            Some(handler) => handler(),
            // No handler: clear, or the level interrupt would fire again at once.
            None => FromCpuLine.clear(),
        }
    }
    IRQ_EPOCH.bump();
}

/// Binds `FROM_CPU_INTR2` to the port's handler at priority 1 (the C version's level), then
/// masks it again: the line stays masked until [`with_interrupts`](crate::with_interrupts)
/// (or `FromCpuLine.enable()`).
pub fn bind_interrupt() {
    esp_hal::interrupt::bind_handler(
        Interrupt::FROM_CPU_INTR2,
        InterruptHandler::new(from_cpu_interrupt, PRIORITY),
    );
    FromCpuLine.disable();
}

/// Why HP core 1 was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlError {
    /// The entry lies outside the HP subcore region (the loader refuses such images, so
    /// only a port used without it sees this). An entry of 0 would leave the ROM waiting.
    Entry {
        /// The entry point asked for.
        entry: u32,
    },
    /// The core did not leave the stalled state after the stall code was lifted.
    StillStalled,
}

/// `PMU.CPU_SW_STALL` codes (IDF's `cpu_utility_ll`): stalled, running.
const STALL: u8 = 0x86;
const RUN: u8 = 0xFF;
/// The ROM cache maps (IDF `rom/cache.h` of the P4): the L1 data cache both cores share,
/// and core 1's L1 instruction cache.
const CACHE_MAP_L1_DCACHE: u32 = 1 << 4;
const CACHE_MAP_L1_ICACHE_1: u32 = 1 << 1;
/// Reads of the stall status before `start` gives up (the IDF loop has no bound).
const STALL_SPINS: u32 = 100_000;

extern "C" {
    // ROM functions of the P4 (addresses in esp-rom-sys's `esp32p4.rom.eco5.ld`); both
    // return 0 on success.
    fn Cache_WriteBack_Addr(map: u32, addr: u32, size: u32) -> i32;
    fn Cache_Invalidate_Addr(map: u32, addr: u32, size: u32) -> i32;
}

/// Start and a real stop of HP core 1. Owning `CPU_CTRL` and both `FROM_CPU` interrupts
/// keeps esp-hal's second-core support and its software-interrupt drivers off the core
/// and the lines.
pub struct Hp1CoreControl {
    _cpu_ctrl: CPU_CTRL<'static>,
    _own: FROM_CPU_INTR2<'static>,
    _peer: FROM_CPU_INTR3<'static>,
    /// The HP subcore region: the only place an entry may be, and what `start` writes
    /// back from the data cache.
    region: esp_amp::layout::Region,
}

impl Hp1CoreControl {
    /// Takes HP core 1 and both lines, and stops the core (esp-hal's start-up already
    /// holds it in reset with its clock off; this also stalls it and clears the boot
    /// address).
    pub fn new(
        cpu_ctrl: CPU_CTRL<'static>,
        own: FROM_CPU_INTR2<'static>,
        peer: FROM_CPU_INTR3<'static>,
    ) -> Self {
        let region = memory_layout().subcore_hp.unwrap_or(esp_amp::layout::Region { start: 0, end: 0 });
        let mut this = Hp1CoreControl { _cpu_ctrl: cpu_ctrl, _own: own, _peer: peer, region };
        this.stop();
        this
    }

    /// Whether HP core 1 executes (see [`hp1_running`]).
    pub fn is_running(&self) -> bool {
        hp1_running()
    }
}

/// Whether HP core 1 executes: clocked, out of reset and not stalled (reads registers
/// only).
pub fn hp1_running() -> bool {
    let clk = HP_SYS_CLKRST::regs();
    clk.soc_clk_ctrl0().read().core1_cpu_clk_en().bit_is_set()
        && clk.hp_rst_en0().read().rst_en_core1_global().bit_is_clear()
        && PMU::regs().cpu_sw_stall().read().hpcore1_sw_stall_code().bits() != STALL
}

impl CoreControl for Hp1CoreControl {
    type Error = ControlError;

    fn start(&mut self, entry: u32) -> Result<(), ControlError> {
        if entry == 0 || entry < self.region.start || entry >= self.region.end {
            return Err(ControlError::Entry { entry });
        }
        let (start, len) = (self.region.start, self.region.len());
        // SAFETY: ROM functions with no memory-safety preconditions: they write back
        // (invalidate) the cache lines of [start, start + len), a RAM range this port
        // owns. Writing back makes the image this core wrote (through the shared L1 data
        // cache) visible to core 1's instruction fetch; invalidating drops lines of an
        // earlier image from core 1's instruction cache. C writes back the whole data cache.
        unsafe {
            Cache_WriteBack_Addr(CACHE_MAP_L1_DCACHE, start, len);
            Cache_Invalidate_Addr(CACHE_MAP_L1_ICACHE_1, start, len);
        }
        // SAFETY: the stall code is an 8-bit field; 0xFF lifts the software stall.
        PMU::regs().cpu_sw_stall().modify(|_, w| unsafe { w.hpcore1_sw_stall_code().bits(RUN) });
        let stalled = || HP_SYS::regs().cpu_corestalled_st().read().reg_core1_corestalled_st().bit_is_set();
        let mut spins = 0;
        while stalled() {
            spins += 1;
            if spins == STALL_SPINS {
                self.stop();
                return Err(ControlError::StillStalled);
            }
        }
        let clk = HP_SYS_CLKRST::regs();
        clk.soc_clk_ctrl0().modify(|_, w| w.core1_cpu_clk_en().set_bit());
        clk.hp_rst_en0().modify(|_, w| w.rst_en_core1_global().clear_bit());
        // Core 1's ROM polls this word and jumps to it.
        esp_hal::rom::ets_set_appcpu_boot_addr(entry);
        Ok(())
    }

    /// Unlike the C version (a no-op on the P4), a real stop: stall, hold in reset, clock
    /// off, and a boot address of 0 so that a later release waits in the ROM.
    fn stop(&mut self) {
        // SAFETY: the stall code is an 8-bit field; 0x86 stalls the core.
        PMU::regs().cpu_sw_stall().modify(|_, w| unsafe { w.hpcore1_sw_stall_code().bits(STALL) });
        let clk = HP_SYS_CLKRST::regs();
        clk.hp_rst_en0().modify(|_, w| w.rst_en_core1_global().set_bit());
        clk.soc_clk_ctrl0().modify(|_, w| w.core1_cpu_clk_en().clear_bit());
        esp_hal::rom::ets_set_appcpu_boot_addr(0);
    }
}
