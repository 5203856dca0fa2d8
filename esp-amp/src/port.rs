//! The port layer: the only seam between the portable protocol code and hardware or an OS.
//!
//! A port implements [`InterruptLine`] (the one hardware line per direction that carries
//! software interrupts) and [`Platform`] (time, delay, global interrupt mask, idling).
//! Critical sections come from the [`critical_section`] crate: a port provides its
//! implementation (`critical-section/std` on the host, a MIE-based one on bare metal).

/// The hardware interrupt line between the two cores, seen from one core.
///
/// Ordering contract: `raise` must not become visible to the peer before the memory
/// operations that precede it, and `clear` must take effect before the memory operations
/// that follow it (a full fence on RISC-V). The portable code adds `SeqCst` fences around
/// both, so an implementation on plain atomics or device registers is enough.
pub trait InterruptLine {
    /// Raises the line towards the peer (its interrupt becomes pending).
    fn raise(&self);
    /// Clears this core's pending line (first thing the interrupt handler does).
    fn clear(&self);
    /// Enables delivery of this core's line.
    fn enable(&self);
    /// Disables delivery of this core's line.
    fn disable(&self);
}

/// Time, delays, the global interrupt mask and idling.
pub trait Platform {
    /// Milliseconds since an arbitrary start, wrapping at `u32::MAX`.
    fn now_ms(&self) -> u32;
    /// Busy-waits at least `us` microseconds.
    fn delay_us(&self, us: u32);
    /// Enables interrupts on this core (global mask).
    fn interrupts_enable(&self);
    /// Disables interrupts on this core (global mask).
    fn interrupts_disable(&self);
    /// A counter that changes every time this core has handled an interrupt.
    fn irq_epoch(&self) -> u32;
    /// Idles until `irq_epoch()` differs from `epoch` or about `timeout_ms` have passed
    /// (`None`: no limit). May return early; callers re-check their condition.
    fn wait_irq(&self, epoch: u32, timeout_ms: Option<u32>);
}

impl<T: InterruptLine + ?Sized> InterruptLine for &T {
    fn raise(&self) {
        (**self).raise()
    }
    fn clear(&self) {
        (**self).clear()
    }
    fn enable(&self) {
        (**self).enable()
    }
    fn disable(&self) {
        (**self).disable()
    }
}

impl<T: Platform + ?Sized> Platform for &T {
    fn now_ms(&self) -> u32 {
        (**self).now_ms()
    }
    fn delay_us(&self, us: u32) {
        (**self).delay_us(us)
    }
    fn interrupts_enable(&self) {
        (**self).interrupts_enable()
    }
    fn interrupts_disable(&self) {
        (**self).interrupts_disable()
    }
    fn irq_epoch(&self) -> u32 {
        (**self).irq_epoch()
    }
    fn wait_irq(&self, epoch: u32, timeout_ms: Option<u32>) {
        (**self).wait_irq(epoch, timeout_ms)
    }
}
