//! The firmware examples, written once for every port.
//!
//! - [`protocol`]: what the two halves of each example agree on (ids, endpoints, message
//!   formats, expected values);
//! - [`sub`]: the subcore halves, generic over a [`Board`]: `basic`, `virtqueue`, `rpc`,
//!   `print`, `stack`. A port's binary is one line: `amp_examples::sub::rpc(&MyBoard)`;
//! - [`maincore`]: the maincore halves, generic over a [`maincore::MainBoard`]. A port's binary
//!   makes its subcore handle and calls `amp_examples::maincore::rpc(&board, &mut sub, IMAGE)`.
#![no_std]

pub mod protocol {
    pub mod basic;
    pub mod print;
    pub mod rpc;
    pub mod stack;
    pub mod virtqueue;
}
pub mod maincore;
pub mod sub;

use esp_amp::port::{InterruptLine, Platform};
use esp_amp::shm::Shm;

/// What a subcore example needs from its port.
pub trait Board: Sync {
    /// The interrupt line towards the maincore.
    type Line: InterruptLine + Copy + Sync;
    /// Time and idling.
    type Clock: Platform + Copy + Sync + 'static;

    fn line(&self) -> Self::Line;
    fn clock(&self) -> Self::Clock;
    /// The clock as a `'static` trait object (for the global printer).
    fn static_clock(&self) -> &'static (dyn Platform + Sync);
    fn sw_intr_header(&self) -> Shm<'static>;
    fn sys_info_pool(&self) -> Shm<'static>;
    /// The RTC SysInfo pool, on LP cores.
    fn rtc_pool(&self) -> Option<Shm<'static>>;
    /// Runs `body` with `handler` as the software-interrupt handler, the line and
    /// interrupts enabled.
    fn with_interrupts<R>(&self, handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R;
    /// Panics and exceptions go to the panic dump and software interrupt 28.
    fn report_panics(&self);
    /// Raises software interrupt `id` on the maincore without a local `SwIntr` (what
    /// outlives one: the global printer's queue).
    fn trigger_main(&self) -> &'static (dyn esp_amp::event::Trigger + Sync);
    /// A line for the port's own console, if it has one (the QEMU UART); the examples'
    /// progress reports go here.
    fn log(&self, _line: core::fmt::Arguments<'_>) {}
    /// Where `print!` goes before the service queue is attached (C: the LP or ROM UART).
    fn print_fallback(&self) -> Option<esp_amp::system::print::Fallback<'static>> {
        None
    }
    /// An instruction (or cycle) counter for the examples' per-message costs; 0 if none.
    fn instructions(&self) -> u64 {
        0
    }
    /// Makes the core take an access fault (for the exception-dump path).
    fn fault(&self) -> !;
}
