//! The port layer: the only seam between the portable protocol code and hardware or an OS.
//!
//! A port implements [`InterruptLine`] (the one hardware line per direction that carries
//! software interrupts) and [`Platform`] (time, delay, global interrupt mask, idling).
//! Critical sections come from the [`critical_section`] crate: a port provides its
//! implementation (`critical-section/std` on the host, a MIE-based one on bare metal).

/// `(x / d, x % d)` for a divisor `d` in `1..=65536`, with 32-bit divisions only (long
/// division in 16-bit digits: each partial dividend is below `d · 2¹⁶ ≤ 2³²`). A 64-bit
/// division would link about 600 bytes of `compiler_builtins` into a RISC-V core without
/// 64-bit divide, a lot on a 16 KiB LP core. `d` outside that range gives `(0, 0)`.
///
/// ```
/// use esp_amp::port::div_u64_small;
/// assert_eq!(div_u64_small(1 << 40, 12), ((1 << 40) / 12, ((1u64 << 40) % 12) as u32));
/// ```
pub const fn div_u64_small(x: u64, d: u32) -> (u64, u32) {
    if d == 0 || d > 0x1_0000 {
        return (0, 0);
    }
    let (mut q, mut r) = (0u64, 0u32);
    let mut shift = 64;
    while shift > 0 {
        shift -= 16;
        let part = (r << 16) | ((x >> shift) as u32 & 0xFFFF);
        q = (q << 16) | (part / d) as u64;
        r = part % d;
    }
    (q, r)
}

/// Milliseconds from a 64-bit tick counter running at `ticks_per_ms` (≤ 65536) per
/// millisecond, wrapping at 2³² ms as [`Platform::now_ms`] does; without a 64-bit
/// division (see [`div_u64_small`]).
pub const fn ticks_to_ms(ticks: u64, ticks_per_ms: u32) -> u32 {
    div_u64_small(ticks, ticks_per_ms).0 as u32
}

/// Milliseconds from a 64-bit cycle counter at `cycles_per_us` cycles per microsecond
/// (1..=65536, i.e. up to 65 GHz), wrapping at 2³² ms as [`Platform::now_ms`] does;
/// without a 64-bit division.
///
/// [`ticks_to_ms`] takes at most 65,536 ticks per millisecond, so a core faster than
/// 65.5 MHz (the P4's HP cores run at 100 to 400 MHz) cannot use it with its cycles per
/// millisecond: it would get 0 for ever. Here such a rate is divided in two steps, by
/// `cycles_per_us` and then by 1000 (floor division composes: ⌊⌊x / a⌋ / b⌋ = ⌊x / ab⌋,
/// so the result is exact); a slow core (the 16 MHz LP core) keeps the one step. With a
/// constant rate the choice is made at compile time. `cycles_per_us` = 0 gives 0.
///
/// ```
/// use esp_amp::port::cycles_to_ms;
/// assert_eq!(cycles_to_ms(400_000_000 * 3, 400), 3_000); // 3 s at 400 MHz
/// assert_eq!(cycles_to_ms(16_000 * 7, 16), 7);           // 7 ms at 16 MHz
/// ```
pub const fn cycles_to_ms(cycles: u64, cycles_per_us: u32) -> u32 {
    if cycles_per_us <= 65 {
        ticks_to_ms(cycles, cycles_per_us * 1000)
    } else {
        ticks_to_ms(div_u64_small(cycles, cycles_per_us).0, 1000)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_division_is_exact() {
        let xs = [0u64, 1, 15_999, 16_000, 1 << 32, (1 << 40) + 7, u64::MAX / 3, u64::MAX - 1, u64::MAX];
        for d in [1u32, 3, 4, 125, 16_000, 65_535, 65_536] {
            for x in xs {
                assert_eq!(div_u64_small(x, d), (x / u64::from(d), (x % u64::from(d)) as u32), "{x} / {d}");
            }
        }
        assert_eq!(div_u64_small(5, 0), (0, 0));
        assert_eq!(div_u64_small(5, 65_537), (0, 0));
        assert_eq!(ticks_to_ms(16_000 * 1234 + 15_999, 16_000), 1234);
        assert_eq!(ticks_to_ms(u64::MAX, 16_000), (u64::MAX / 16_000) as u32, "wraps like now_ms");
    }

    #[test]
    fn cycles_to_ms_at_every_subcore_clock() {
        // The LP core's 16 MHz, the P4 presets of esp-hal (100, 200, 400 MHz) and IDF's
        // 360 MHz, the edges of the one-step range, and the largest rate.
        let rates = [1u32, 16, 40, 65, 66, 100, 200, 360, 400, 65_536];
        let xs = [0u64, 1, 999_999, 1_000_000, 1 << 32, (1 << 40) + 12_345, u64::MAX / 7, u64::MAX];
        for mhz in rates {
            for x in xs {
                let want = (u128::from(x) / (u128::from(mhz) * 1000)) as u32;
                assert_eq!(cycles_to_ms(x, mhz), want, "{x} cycles at {mhz} MHz");
            }
            // One second of cycles is 1000 ms, whatever the clock.
            assert_eq!(cycles_to_ms(u64::from(mhz) * 1_000_000, mhz), 1000, "{mhz} MHz");
        }
        assert_eq!(cycles_to_ms(12_345, 0), 0);
        // Why the P4 cannot use `ticks_to_ms` with its cycles per millisecond: out of
        // range, the clock would stand still (the HP runtime's fault before cycles_to_ms).
        assert_eq!(ticks_to_ms(360_000_000, 360_000), 0);
        assert_eq!(cycles_to_ms(360_000_000, 360), 1000);
    }
}

/// A port's lasting interrupt binding (`bind_interrupts` of the ESP32 maincore port and of
/// the host port) found the handler taken: bound before, or a scoped handler installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyBound;

impl core::fmt::Display for AlreadyBound {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the software-interrupt handler is already installed")
    }
}

impl core::error::Error for AlreadyBound {}

/// Runs `attempt` until it yields, sleeping between attempts until an interrupt was
/// handled, the timeout expires (`now − start > timeout`, as in C), or `nap_ms` passes
/// (for conditions no interrupt announces, such as a free by the peer).
pub(crate) fn wait_until<P: Platform, T, E: From<crate::queue::QueueError>>(
    platform: &P,
    timeout_ms: Option<u32>,
    nap_ms: Option<u32>,
    mut attempt: impl FnMut() -> Option<Result<T, E>>,
) -> Result<T, E> {
    let start = platform.now_ms();
    loop {
        let epoch = platform.irq_epoch();
        if let Some(r) = attempt() {
            return r;
        }
        let remaining = match timeout_ms {
            None => None,
            Some(t) => {
                let elapsed = platform.now_ms().wrapping_sub(start);
                if elapsed > t {
                    return Err(crate::queue::QueueError::Timeout.into());
                }
                Some((t - elapsed).saturating_add(1))
            }
        };
        let sleep = match (remaining, nap_ms) {
            (Some(r), Some(n)) => Some(r.min(n)),
            (r, n) => r.or(n),
        };
        platform.wait_irq(epoch, sleep);
    }
}
