//! The LP core of the ESP32-C6 and ESP32-C5 as the subcore: the PMU software interrupt and
//! the LP core's start and stop.

use esp_amp::port::InterruptLine;
use esp_amp::system::lifecycle::CoreControl;
use esp_hal::interrupt::{InterruptHandler, Priority};
use esp_hal::peripherals::{Interrupt, LP_AON, LP_CORE, LP_PERI, PMU};

use crate::{memory_layout, HANDLER, IRQ_EPOCH};

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
/// [`with_interrupts`](crate::with_interrupts) (or `PmuLine.enable()`).
pub fn bind_interrupt() {
    esp_hal::interrupt::bind_handler(
        Interrupt::PMU,
        InterruptHandler::new(pmu_interrupt, Priority::Priority2),
    );
}

/// Why the LP core was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlError {
    /// The LP core always starts at its reset vector; the image's entry is elsewhere (the
    /// loader refuses such images, so only a port used without it sees this).
    Entry {
        /// The image's entry point.
        entry: u32,
        /// The LP core's reset vector.
        reset_vector: u32,
    },
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
        let peri = LP_PERI::regs();
        // The order of IDF's `ulp_lp_core_run` (components/ulp/lp_core/lp_core.c).
        #[cfg(feature = "esp32c5")]
        {
            // Only the C5 has a reset and a clock gate of the LP CPU in LPPERI
            // (`esp_amp_soc::esp32c5::LP_CORE_HAS_CLK_RST`; IDF's C5 `lp_core_ll.h`:
            // `lp_core_ll_reset_register`, `lp_core_ll_enable_bus_clock`). The clock's reset
            // value 0 leaves it to the PMU; IDF forces it on. Both registers are shared with
            // other LP peripherals (RNG, UART, I2C...), hence the read-modify-writes inside a
            // critical section, as IDF's `PERIPH_RCC_ATOMIC`.
            critical_section::with(|_| {
                peri.reset_en().modify(|_, w| w.lp_cpu_reset_en().set_bit());
                peri.reset_en().modify(|_, w| w.lp_cpu_reset_en().clear_bit());
                peri.clk_en().modify(|_, w| w.lp_cpu_ck_en().set_bit());
            });
        }
        aon.lpcore().modify(|_, w| w.disable().clear_bit());
        // LP RAM on the LP core's bus (not the HP core's fast path).
        aon.lpbus().modify(|_, w| w.fast_mem_mux_sel().clear_bit());
        aon.lpbus().modify(|_, w| w.fast_mem_mux_sel_update().set_bit());
        // A sleeping LP core is stalled and reset: every wake-up starts at the reset vector.
        pmu.lp_cpu_pwr0().modify(|_, w| w.lp_cpu_slp_stall_en().set_bit().lp_cpu_slp_reset_en().set_bit());
        // SAFETY: 1 selects the HP CPU as the only wake-up source (IDF's
        // ULP_LP_CORE_WAKEUP_SOURCE_HP_CPU); the field is a plain bit mask.
        pmu.lp_cpu_pwr1().modify(|_, w| unsafe { w.lp_cpu_wakeup_en().bits(1) });
        // The LP core's debug module on, as IDF (`lp_core_ll_debug_module_enable(true)`).
        peri.cpu().modify(|_, w| w.lpcore_dbgm_unavaliable().clear_bit());
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
