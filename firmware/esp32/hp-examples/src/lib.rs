//! HP core 1 of the ESP32-P4 as a [`Board`] for the subcore halves of the examples
//! (`amp_examples::sub`): each binary of this package is one call. The examples' progress
//! reports are dropped (formatting them would cost every image `core::fmt`); `print!` goes
//! through the service queue, and to the ROM console (UART0) before it is attached (as in C).
#![no_std]

use amp_examples::Board;
use esp_amp::event::Trigger;
use esp_amp::port::Platform;
use esp_amp::shm::Shm;
use esp_amp_hp::{FromCpuLine, HpPlatform, MainTrigger};

/// HP core 1.
pub struct HpBoard;

static CLOCK: HpPlatform = HpPlatform;
static TO_MAINCORE: MainTrigger = MainTrigger;

impl Board for HpBoard {
    type Line = FromCpuLine;
    type Clock = HpPlatform;

    fn line(&self) -> FromCpuLine {
        FromCpuLine
    }
    fn clock(&self) -> HpPlatform {
        HpPlatform
    }
    fn static_clock(&self) -> &'static (dyn Platform + Sync) {
        &CLOCK
    }
    fn sw_intr_header(&self) -> Shm<'static> {
        esp_amp_hp::sw_intr_header()
    }
    fn sys_info_pool(&self) -> Shm<'static> {
        esp_amp_hp::sys_info_pool()
    }
    fn rtc_pool(&self) -> Option<Shm<'static>> {
        None
    }
    fn with_interrupts<R>(&self, handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
        esp_amp_hp::with_interrupts(handler, body)
    }
    fn report_panics(&self) {
        esp_amp_hp::report_panics();
    }
    fn trigger_main(&self) -> &'static (dyn Trigger + Sync) {
        &TO_MAINCORE
    }
    fn print_fallback(&self) -> Option<esp_amp::system::print::Fallback<'static>> {
        // Before the service queue is attached, `print!` goes to the core's own UART, as
        // in C.
        Some(&esp_amp_hp::UART_FALLBACK)
    }
    fn fault(&self) -> ! {
        // SAFETY: `unimp` raises an illegal-instruction exception (mcause 2) without touching
        // memory; the trap handler dumps it and never returns here.
        unsafe { core::arch::asm!("unimp", options(noreturn)) }
    }
}
