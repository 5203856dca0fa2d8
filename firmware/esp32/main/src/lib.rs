//! esp-amp maincore port for the ESP32-C6 and ESP32-C5 (the subcore is the LP core), on
//! esp-hal 1.2.
//!
//! - [`PmuLine`]: the software-interrupt line. Raise = `PMU.HP_LP_CPU_COMM.HP_TRIGGER_LP`;
//!   the maincore's own interrupt is the PMU interrupt (`PMU.INT_*.SW`), bound with
//!   [`bind_interrupt`] at priority 2, as the C version allocates it.
//! - [`EspPlatform`]: time from esp-hal's system timer, idling in `wfi`.
//! - [`LpCoreControl`]: LP core start (wake-up by the HP CPU, then a trigger) and stop (sleep
//!   request, wake-up disabled), as IDF's `ulp_lp_core_run` / `ulp_lp_core_stop`.
//! - [`subcore`]: the LP core behind the project's checked loader (LP RAM and the HP subcore
//!   region of the layout) and the panic dump.
//! - The shared regions ([`sys_info_pool`], [`rtc_pool`], [`sw_intr_header`],
//!   [`panic_dump`]) at the addresses of [`layout`], which the build script computes from
//!   the same configuration as the LP runtime's.
//!
//! An application links with `-Tlinkall.x -Tesp_amp_main.x`: the second script checks at
//! link time that the maincore image stays out of the AMP regions and out of RTC fast
//! memory (see `build.rs`).
//!
//! ```ignore
//! let p = esp_hal::init(esp_hal::Config::default());
//! let mut sys = SysInfoAllocator::init(esp_amp_esp32::sys_info_pool(), Some(esp_amp_esp32::rtc_pool()))?;
//! let sw: SwIntr<'_, MainCore, _> = SwIntr::init(esp_amp_esp32::sw_intr_header(), PmuLine)?;
//! esp_amp_esp32::bind_interrupt();
//! let mut sub = esp_amp_esp32::subcore(p.LP_CORE);
//! sub.load(LP_IMAGE)?;
//! sub.start()?;
//! esp_amp_esp32::with_interrupts(&|| { sw.isr(); }, || { /* talk to the LP core */ });
//! ```
#![no_std]

use esp_amp::image::load::{LoadTarget, RawMemory};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout, Region};
use esp_amp::port::{InterruptLine, Platform};
use esp_amp::shm::Shm;
use esp_amp::system::lifecycle::{CoreControl, ImagePort, Subcore};
use esp_amp::system::panic::PanicDump;
use esp_amp_riscv::{HandlerSlot, IrqEpoch};
use esp_hal::interrupt::{InterruptHandler, Priority};
use esp_hal::peripherals::{Interrupt, LP_AON, LP_CORE, PMU};

/// The layout constants of this build (chip, configuration, region addresses).
pub mod layout {
    use super::{AmpConfig, Chip, Region};
    include!(concat!(env!("OUT_DIR"), "/layout.rs"));
}

/// The memory layout of this build: the same one the LP image was linked for, when both
/// are built in one environment.
pub fn memory_layout() -> MemoryLayout {
    // The build script computed this layout from the same chip and configuration and
    // failed the build if it was invalid.
    MemoryLayout::new(layout::CHIP, &layout::CONFIG).unwrap_or_else(|_| unreachable!())
}

/// A region of the layout as shared memory.
fn region(r: Region) -> Shm<'static> {
    // SAFETY: every region passed here is one of the layout's AMP regions (shared region,
    // panic dump, RTC pool): RAM at these addresses, 4-byte aligned (checked by the layout),
    // kept out of the maincore image by the link-time checks of `esp_amp_main.x`, and only
    // accessed through `Shm` (volatile and atomic accesses) by both cores.
    unsafe { Shm::from_raw(r.start as usize as *mut u8, r.start, r.len()) }
}

/// The software-interrupt header (the first 0x20 bytes of the shared region).
pub fn sw_intr_header() -> Shm<'static> {
    region(Region { start: layout::SHARED.start, end: layout::SHARED.start + 0x20 })
}

/// The HP SysInfo pool (the shared region after its header).
pub fn sys_info_pool() -> Shm<'static> {
    region(Region { start: layout::SHARED.start + 0x20, end: layout::SHARED.end })
}

/// The RTC SysInfo pool at the top of LP RAM.
pub fn rtc_pool() -> Shm<'static> {
    region(layout::RTC_POOL)
}

/// The panic-dump region.
pub fn panic_dump() -> Shm<'static> {
    region(layout::PANIC_DUMP)
}

/// The software-interrupt line between the HP core and the LP core, HP side.
///
/// `enable`/`disable` change only the `SW` bit of `PMU.INT_ENA` (a read-modify-write of a
/// register esp-hal's sleep code also writes: do not race them from another interrupt).
#[derive(Clone, Copy, Debug, Default)]
pub struct PmuLine;

impl InterruptLine for PmuLine {
    fn raise(&self) {
        PMU::regs().hp_lp_cpu_comm().write(|w| w.hp_trigger_lp().set_bit());
    }
    fn clear(&self) {
        PMU::regs().int_clr().write(|w| w.sw().clear_bit_by_one());
    }
    fn enable(&self) {
        PMU::regs().int_ena().modify(|_, w| w.sw().set_bit());
    }
    fn disable(&self) {
        PMU::regs().int_ena().modify(|_, w| w.sw().clear_bit());
    }
}

static HANDLER: HandlerSlot = HandlerSlot::new();
static IRQ_EPOCH: IrqEpoch = IrqEpoch::new();

extern "C" fn pmu_interrupt() {
    // The PMU interrupt has other sources; as in C, dispatch only for the software one.
    if PMU::regs().int_st().read().sw().bit_is_set() {
        match HANDLER.get() {
            // `SwIntr::isr` clears the line first.
            Some(handler) => handler(),
            // No handler: clear, or the level interrupt would fire again at once.
            None => PmuLine.clear(),
        }
    }
    IRQ_EPOCH.bump();
}

/// Binds the PMU interrupt to the port's handler at priority 2 (the C version's level) and
/// enables it in the interrupt matrix. The line itself stays masked until
/// [`with_interrupts`] (or `PmuLine.enable()`).
pub fn bind_interrupt() {
    esp_hal::interrupt::bind_handler(
        Interrupt::PMU,
        InterruptHandler::new(pmu_interrupt, Priority::Priority2),
    );
}

/// Runs `body` with `handler` (typically `|| { sw.isr(); }`) as the software-interrupt
/// handler and the line enabled; masks the line again, then removes the handler, when
/// `body` returns. Global interrupts are esp-hal's business and are left as they are.
pub fn with_interrupts<R>(handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
    HANDLER.with(handler, || {
        PmuLine.enable();
        let r = body();
        PmuLine.disable();
        r
    })
}

/// Time, interrupt mask and idling on the HP core.
///
/// `wait_irq` with a timeout polls the system timer (no alarm is armed, esp-hal owns the
/// alarms); without a timeout it sleeps in `wfi` until the next interrupt.
#[derive(Clone, Copy, Debug, Default)]
pub struct EspPlatform;

impl Platform for EspPlatform {
    fn now_ms(&self) -> u32 {
        esp_hal::time::Instant::now().duration_since_epoch().as_millis() as u32
    }
    fn delay_us(&self, us: u32) {
        esp_hal::delay::Delay::new().delay_micros(us);
    }
    fn interrupts_enable(&self) {
        // SAFETY: esp-hal's runtime installed its trap vector before `main`, so an enabled
        // interrupt finds a handler.
        unsafe { riscv::register::mstatus::set_mie() };
    }
    fn interrupts_disable(&self) {
        // SAFETY: masking interrupts is always sound.
        unsafe { riscv::register::mstatus::clear_mie() };
    }
    fn irq_epoch(&self) -> u32 {
        IRQ_EPOCH.get()
    }
    fn wait_irq(&self, epoch: u32, timeout_ms: Option<u32>) {
        let Some(ms) = timeout_ms else {
            // Interrupts masked between the check and `wfi`: one that arrives in between
            // stays pending, and a pending interrupt ends `wfi` even while masked.
            let was_enabled = riscv::register::mstatus::read().mie();
            self.interrupts_disable();
            if self.irq_epoch() == epoch {
                riscv::asm::wfi();
            }
            if was_enabled {
                self.interrupts_enable();
            }
            return;
        };
        let start = self.now_ms();
        while self.irq_epoch() == epoch && self.now_ms().wrapping_sub(start) < ms {
            core::hint::spin_loop();
        }
    }
}

/// Why the LP core was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlError {
    /// The LP core always starts at its reset vector; the image's entry is elsewhere (the
    /// loader refuses such images, so only a port used without it sees this).
    Entry { entry: u32, reset_vector: u32 },
}

/// Start and stop of the LP core. Owning the `LP_CORE` peripheral keeps esp-hal's own
/// `LpCore` driver from being used at the same time.
pub struct LpCoreControl {
    _lp_core: LP_CORE<'static>,
    reset_vector: u32,
}

impl LpCoreControl {
    /// Takes the LP core and stops it (it may still run an image from before a reset).
    pub fn new(lp_core: LP_CORE<'static>) -> Self {
        let reset_vector = memory_layout().rtc.map_or(0, |r| r.reset_vector);
        let mut this = LpCoreControl { _lp_core: lp_core, reset_vector };
        this.stop();
        this
    }
}

impl CoreControl for LpCoreControl {
    type Error = ControlError;

    fn start(&mut self, entry: u32) -> Result<(), ControlError> {
        if entry != self.reset_vector {
            return Err(ControlError::Entry { entry, reset_vector: self.reset_vector });
        }
        let pmu = PMU::regs();
        let aon = LP_AON::regs();
        aon.lpcore().modify(|_, w| w.disable().clear_bit());
        // LP RAM on the LP core's bus (not the HP core's fast path).
        aon.lpbus().modify(|_, w| w.fast_mem_mux_sel().clear_bit());
        aon.lpbus().modify(|_, w| w.fast_mem_mux_sel_update().set_bit());
        // A sleeping LP core is stalled and reset: every wake-up starts at the reset vector.
        pmu.lp_cpu_pwr0().modify(|_, w| w.lp_cpu_slp_stall_en().set_bit().lp_cpu_slp_reset_en().set_bit());
        // SAFETY: 1 selects the HP CPU as the only wake-up source (IDF's
        // ULP_LP_CORE_WAKEUP_SOURCE_HP_CPU); the field is a plain bit mask.
        pmu.lp_cpu_pwr1().modify(|_, w| unsafe { w.lp_cpu_wakeup_en().bits(1) });
        #[cfg(feature = "esp32c6")]
        esp_hal::peripherals::LP_PERI::regs().cpu().modify(|_, w| w.lpcore_dbgm_unavaliable().clear_bit());
        pmu.int_clr().write(|w| w.lp_cpu_exc().clear_bit_by_one());
        pmu.hp_lp_cpu_comm().write(|w| w.hp_trigger_lp().set_bit());
        Ok(())
    }

    fn stop(&mut self) {
        let pmu = PMU::regs();
        // SAFETY: 0 clears every wake-up source; the field is a plain bit mask.
        pmu.lp_cpu_pwr1().modify(|_, w| unsafe { w.lp_cpu_wakeup_en().bits(0) });
        pmu.lp_cpu_pwr1().modify(|_, w| w.lp_cpu_sleep_req().set_bit());
    }
}

/// The LP core behind the checked loader, with the panic dump (cleared before each start).
pub type LpSubcore = Subcore<'static, ImagePort<'static, LpCoreControl, RawMemory>>;

/// The loader's rules for this layout (LP RAM below the RTC pool, the HP subcore region,
/// the reset vector as the only entry, this chip's id).
pub fn load_target() -> LoadTarget {
    LoadTarget::for_layout(&memory_layout())
}

/// The LP core as a [`Subcore`]: `load` checks an ESP app image (or ELF) against
/// [`load_target`] and writes it, `start` wakes the core at its reset vector, `stop` puts
/// it to sleep.
///
/// The HP subcore region is not given back: esp-hal has no heap of its own. With
/// `esp-alloc`, `sub.port_mut().load_image(..)` returns `unused_hp`, which can be added to
/// the heap (later loads then stay below it).
pub fn subcore(lp_core: LP_CORE<'static>) -> LpSubcore {
    let target = load_target();
    // SAFETY: the windows of `target` are the HP subcore region and LP RAM below the RTC
    // pool: the link-time checks of `esp_amp_main.x` keep the maincore image (code, data,
    // stack, RTC fast sections) out of both, esp-hal has no heap in them, and the LP core is
    // stopped by `LpCoreControl::new` before anything is loaded. Images are embedded in
    // flash (or another RAM area), never inside a window.
    let mem = unsafe { RawMemory::new(&target) };
    let port = ImagePort::new(LpCoreControl::new(lp_core), mem, target);
    match PanicDump::new(panic_dump()) {
        Ok(dump) => Subcore::new(port).with_panic_dump(dump),
        Err(_) => Subcore::new(port),
    }
}
