//! Timed waits that sleep: alarm 1 of the LP timer (`esp_amp_soc::lp_timer`, the alarm
//! IDF's LP-core code uses) wakes the core from `wfi` at the deadline, as an interrupt on
//! its one external line, where the runtime's trap handler acknowledges it
//! ([`acknowledge`]) and counts it like any other interrupt.
//!
//! The deadline is kept in LP timer ticks, not in `mcycle`, so it holds whether or not the
//! cycle counter runs while the core waits. The tick rate comes from the slow-clock
//! calibration the maincore's clock set-up stores in `LP_AON_STORE1` (esp-hal and IDF
//! both do); without a plausible value, or with the interrupt line not enabled, the wait
//! polls the cycle counter as before ([`wait_irq`] returns `false`).
//!
//! Not run on hardware: the register facts are checked against the C6 and C5 PACs
//! (`esp-amp-soc/tests/pac.rs`).

use esp_amp_riscv::IrqEpoch;
use esp_amp_soc::lp_timer as t;

use crate::regs::{self, read, write};

/// The 48-bit LP timer counter.
fn now() -> u64 {
    write(t::UPDATE, regs::LP_TIMER_UPDATE_BIT);
    (u64::from(read(t::BUF0_HIGH) & 0xFFFF) << 32) | u64::from(read(t::BUF0_LOW))
}

/// Clears the LP timer's LP-core interrupt (the trap handler, for every interrupt: one
/// store, and harmless when the timer did not fire).
#[inline(always)]
pub fn acknowledge() {
    write(t::LP_INT_CLR, t::MAIN_TIMER_INT);
}

/// Sleeps until `epoch` differs from `seen` or `ms` milliseconds have passed. `false` when
/// it cannot sleep on the timer (no calibration, or the interrupt line is not enabled in
/// `mie`, so the alarm would not end `wfi`): the caller then polls.
pub fn wait_irq(epoch: &IrqEpoch, seen: u32, ms: u32) -> bool {
    let line_enabled = riscv::register::mie::read().bits() as u32 & regs::MIE_LINES != 0;
    let Some(per_ms) = t::ticks_per_ms(read(t::SLOW_CLK_CAL)).filter(|_| line_enabled) else {
        return false;
    };
    // At least one tick, so a zero timeout still waits for the alarm it arms.
    let end = now() + u64::from(ms) * u64::from(per_ms) + 1;
    acknowledge();
    write(t::TAR1_LOW, end as u32);
    write(t::TAR1_HIGH, ((end >> 32) as u32 & 0xFFFF) | t::TAR_EN);
    write(t::LP_INT_ENA, read(t::LP_INT_ENA) | t::MAIN_TIMER_INT);
    // Armed before the first check: an alarm that comes after a check ends the `wfi`
    // that follows it (`wait_for_interrupt` checks with interrupts masked).
    esp_amp_riscv::wait_for_interrupt(|| epoch.get() != seen || now() >= end);
    write(t::TAR1_HIGH, 0);
    write(t::LP_INT_ENA, read(t::LP_INT_ENA) & !t::MAIN_TIMER_INT);
    acknowledge();
    true
}
