//! Events (docs/protocol.md §4): 32-bit words in the HP pool; one core notifies, the other waits.
//!
//! An [`Event`] is the shared word. Waiting follows the C bare-metal semantics on both
//! cores (the wire format is the word itself, so this interoperates with a C peer on
//! either side): wait for *all* or *any* bits of a mask, optionally clearing them on
//! exit, with a timeout. [`Events`] adds the interrupt: `notify` sets the bits and raises
//! software interrupt 30 on the peer; blocking and `async` waits sleep until an interrupt
//! arrives instead of spinning.
//!
//! Memory ordering: `notify` uses `fetch_or(Release)` so that data written before a
//! notification is visible to the waiter, whose successful read-modify-write or load is
//! `Acquire`. Nothing else needs ordering: every operation touches this one word, and
//! read-modify-writes on one location are totally ordered whatever the `Ordering`, so
//! no bit can be lost or consumed twice (SeqCst, as in C, adds nothing here).
//!
//! ```
//! use esp_amp::event::{Event, WaitFor};
//! use esp_amp::shm::Shm;
//! use esp_amp::sys_info::{SysInfoAllocator, SysInfoId};
//! let mut mem = [0u32; 16];
//! // SAFETY: `mem` is aligned, valid and outlives `pool`.
//! let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 64) };
//! let mut sys = SysInfoAllocator::init(pool, None).unwrap();
//! let ev = Event::create(&mut sys, SysInfoId(0x10)).unwrap();
//! assert_eq!(ev.set(0b101), 0);
//! assert_eq!(ev.try_wait(0b011, WaitFor::All, true), Err(0b101)); // bit 1 missing
//! assert_eq!(ev.try_wait(0b011, WaitFor::Any, true), Ok(0b101));  // clears bit 0 only
//! assert_eq!(ev.bits(), 0b100);
//! ```

use core::future::poll_fn;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Poll;

use crate::port::Platform;
use crate::role::Role;
use crate::signal::IrqSignal;
use crate::sw_intr::{SwIntrHandler, SwIntrId};
use crate::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoError, SysInfoId};
use crate::word::AtomicWord;

/// Wait for all bits of the mask, or for any of them.
///
/// ```
/// use esp_amp::event::{try_wait_word, WaitFor};
/// use core::sync::atomic::AtomicU32;
/// let word = AtomicU32::new(0b011);
/// assert_eq!(try_wait_word(&word, 0b110, WaitFor::Any, false), Ok(0b011));
/// assert_eq!(try_wait_word(&word, 0b110, WaitFor::All, false), Err(0b011));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// Every bit of the mask.
    All,
    /// At least one bit of the mask.
    Any,
}

/// Compare-exchange attempts per [`try_wait_word`] call with [`WaitFor::All`] and
/// clearing. The exchange is the strong one: each failure means the word changed since it
/// was read, a write of the peer (which a notifying peer follows with an interrupt).
pub const CAS_ROUNDS: u32 = 8;

/// One wait attempt on `word` (the step of the C bare-metal wait loop).
///
/// `Ok(before)` when the condition holds (the full value before any clearing),
/// `Err(observed)` otherwise. With `clear`, the mask bits are cleared atomically with the
/// successful check (all: a compare-exchange; any: `fetch_and(!mask)` as in C). For all
/// with `clear`, an attempt whose [`CAS_ROUNDS`] exchanges all lost to writes of the peer
/// is `Err` too ("not yet": try again).
pub fn try_wait_word<W: AtomicWord + ?Sized>(
    word: &W,
    mask: u32,
    wait_for: WaitFor,
    clear: bool,
) -> Result<u32, u32> {
    let ready = |v: u32| match wait_for {
        WaitFor::All => v & mask == mask,
        WaitFor::Any => v & mask != 0,
    };
    let check = |v: u32| if ready(v) { Ok(v) } else { Err(v) };
    match (wait_for, clear) {
        (_, false) => check(word.load(Ordering::Acquire)),
        // Clearing only mask bits is harmless when none is set, so no CAS is needed.
        (WaitFor::Any, true) => check(word.fetch_and(!mask, Ordering::Acquire)),
        (WaitFor::All, true) => {
            let mut v = word.load(Ordering::Relaxed);
            // Bounded (docs/reliability.md): a peer that changes the word between our load
            // and every exchange cannot hold us. After `CAS_ROUNDS` failures this attempt
            // reports "not yet"; each failure was a peer write, which a notifying peer
            // follows with an interrupt, so a wait does not sleep on it.
            for _ in 0..CAS_ROUNDS {
                if !ready(v) {
                    break;
                }
                match word.compare_exchange(v, v & !mask, Ordering::Acquire, Ordering::Relaxed) {
                    Ok(before) => return Ok(before),
                    Err(now) => v = now,
                }
            }
            Err(v)
        }
    }
}

/// A shared event word (a 4-byte SysInfo entry in the HP pool).
///
/// ```
/// use esp_amp::event::{Event, WaitFor};
/// use esp_amp::sys_info::SysInfoId;
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// let ev = Event::create(&mut sys, SysInfoId(0x300)).unwrap(); // maincore
/// let seen = Event::attach(&sys.info(), SysInfoId(0x300)).unwrap(); // subcore
/// ev.set(0b101);
/// assert_eq!(seen.try_wait(0b100, WaitFor::Any, true), Ok(0b101)); // bits before the clear
/// assert_eq!(seen.bits(), 0b001);
/// assert_eq!(seen.try_wait(0b110, WaitFor::All, false), Err(0b001)); // not all set
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Event<'r> {
    id: SysInfoId,
    word: &'r AtomicU32,
}

impl<'r> Event<'r> {
    /// Allocates the word under `id` and sets it to 0 (maincore, before the subcore starts).
    pub fn create(sys: &mut SysInfoAllocator<'r>, id: SysInfoId) -> Result<Self, SysInfoError> {
        let block = sys.alloc(id, 4, Pool::Hp)?;
        let word = block.shm().atomic_u32(block.addr()).map_err(SysInfoError::BadPool)?;
        word.store(0, Ordering::Release);
        Ok(Event { id, word })
    }

    /// Looks the word up (either core); it must exist with size 4.
    pub fn attach(sys: &SysInfo<'r>, id: SysInfoId) -> Result<Self, SysInfoError> {
        let block = sys.get(id, Pool::Hp)?.expect_size(4)?;
        let word = block.shm().atomic_u32(block.addr()).map_err(SysInfoError::BadPool)?;
        Ok(Event { id, word })
    }

    /// The SysInfo id.
    pub fn id(&self) -> SysInfoId {
        self.id
    }

    /// Current bits.
    pub fn bits(&self) -> u32 {
        self.word.load(Ordering::Acquire)
    }

    /// Sets `mask` without raising an interrupt; returns the bits before. Prefer
    /// [`Events::notify`], which also wakes the peer.
    pub fn set(&self, mask: u32) -> u32 {
        self.word.fetch_or(mask, Ordering::Release)
    }

    /// Clears `mask`; returns the bits before.
    pub fn clear(&self, mask: u32) -> u32 {
        self.word.fetch_and(!mask, Ordering::AcqRel)
    }

    /// One non-blocking wait attempt: see [`try_wait_word`].
    pub fn try_wait(&self, mask: u32, wait_for: WaitFor, clear_on_exit: bool) -> Result<u32, u32> {
        try_wait_word(self.word, mask, wait_for, clear_on_exit)
    }
}

/// The two default events created by maincore init.
///
/// ```
/// use esp_amp::event::{DefaultEvents, WaitFor};
/// use esp_amp::sys_info::SysInfoAllocator;
/// use esp_amp::{MainCore, SubCore};
/// # use esp_amp::shm::Shm;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// let main_side = DefaultEvents::create(&mut sys).unwrap(); // maincore, before the subcore starts
/// let sub_side = DefaultEvents::attach(&sys.info()).unwrap(); // subcore
/// main_side.outgoing::<MainCore>().set(0b100);
/// assert_eq!(sub_side.incoming::<SubCore>().try_wait(0b100, WaitFor::All, true), Ok(0b100));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DefaultEvents<'r> {
    /// `EVENT_MAIN` (0xFF01): the maincore notifies, the subcore waits.
    pub main: Event<'r>,
    /// `EVENT_SUB` (0xFF02): the subcore notifies, the maincore waits.
    pub sub: Event<'r>,
}

impl<'r> DefaultEvents<'r> {
    /// Allocates `EVENT_MAIN` then `EVENT_SUB` (the C init order).
    pub fn create(sys: &mut SysInfoAllocator<'r>) -> Result<Self, SysInfoError> {
        let main = Event::create(sys, SysInfoId::EVENT_MAIN)?;
        let sub = Event::create(sys, SysInfoId::EVENT_SUB)?;
        Ok(DefaultEvents { main, sub })
    }

    /// Looks both up.
    pub fn attach(sys: &SysInfo<'r>) -> Result<Self, SysInfoError> {
        Ok(DefaultEvents {
            main: Event::attach(sys, SysInfoId::EVENT_MAIN)?,
            sub: Event::attach(sys, SysInfoId::EVENT_SUB)?,
        })
    }

    /// The event core `R` notifies.
    pub fn outgoing<R: Role>(&self) -> Event<'r> {
        if R::IS_MAIN {
            self.main
        } else {
            self.sub
        }
    }

    /// The event core `R` waits on.
    pub fn incoming<R: Role>(&self) -> Event<'r> {
        if R::IS_MAIN {
            self.sub
        } else {
            self.main
        }
    }
}

/// A wait gave up: `now − start > timeout` (strictly, as in C).
///
/// ```
/// use esp_amp::event::{DefaultEvents, Events, Trigger, WaitFor, WaitTimeout};
/// use esp_amp::sw_intr::SwIntrId;
/// use esp_amp::sys_info::SysInfoAllocator;
/// use esp_amp::MainCore;
/// # use core::cell::Cell;
/// # use esp_amp::port::Platform;
/// /// A clock that advances 1 ms per reading (a real port reads a timer).
/// struct Clock(Cell<u32>);
/// impl Platform for Clock {
///     fn now_ms(&self) -> u32 { self.0.set(self.0.get() + 1); self.0.get() }
///     fn delay_us(&self, _: u32) {}
///     fn interrupts_enable(&self) {}
///     fn interrupts_disable(&self) {}
///     fn irq_epoch(&self) -> u32 { 0 }
///     fn wait_irq(&self, _: u32, _: Option<u32>) {}
/// }
/// /// Stands for the software-interrupt line to the peer.
/// struct Line;
/// impl Trigger for Line {
///     fn trigger(&self, _: SwIntrId) {}
/// }
/// # use esp_amp::shm::Shm;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// let ev = DefaultEvents::create(&mut sys).unwrap();
/// let events: Events<'_, Clock> = Events::new(&Line, Clock(Cell::new(0)));
/// let incoming = ev.incoming::<MainCore>();
/// incoming.set(0b01);
/// // Both bits were asked for; only one came: the error says what was seen.
/// let got = events.wait_timeout(&incoming, 0b11, WaitFor::All, false, Some(5));
/// assert_eq!(got, Err(WaitTimeout { observed: 0b01 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeout {
    /// The last value observed (may hold some of the mask bits).
    pub observed: u32,
}

impl core::fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "event wait timed out (bits seen: 0x{:08x})", self.observed)
    }
}

impl core::error::Error for WaitTimeout {}

/// Something that can raise a software interrupt on the peer ([`crate::sw_intr::SwIntr`]).
pub trait Trigger {
    /// Raises software interrupt `id` on the peer.
    fn trigger(&self, id: SwIntrId);
}

impl<R: Role, L: crate::port::InterruptLine, const N: usize> Trigger for crate::sw_intr::SwIntr<'_, R, L, N> {
    fn trigger(&self, id: SwIntrId) {
        crate::sw_intr::SwIntr::trigger(self, id)
    }
}

/// Event operations bound to the interrupt line and the platform.
///
/// Register it as the handler of [`SwIntrId::EVENT`] so that async waiters are woken:
/// `sw.add_handler(SwIntrId::EVENT, &events)`. Up to `W` async waiters at once.
///
/// ```
/// use esp_amp::event::{DefaultEvents, Events, Trigger, WaitFor};
/// use esp_amp::sw_intr::SwIntrId;
/// use esp_amp::sys_info::SysInfoAllocator;
/// use esp_amp::{MainCore, SubCore};
/// # use core::cell::Cell;
/// # use esp_amp::port::Platform;
/// /// A clock that advances 1 ms per reading (a real port reads a timer).
/// struct Clock(Cell<u32>);
/// impl Platform for Clock {
///     fn now_ms(&self) -> u32 { self.0.set(self.0.get() + 1); self.0.get() }
///     fn delay_us(&self, _: u32) {}
///     fn interrupts_enable(&self) {}
///     fn interrupts_disable(&self) {}
///     fn irq_epoch(&self) -> u32 { 0 }
///     fn wait_irq(&self, _: u32, _: Option<u32>) {}
/// }
/// /// Stands for the software-interrupt line to the peer.
/// struct Line;
/// impl Trigger for Line {
///     fn trigger(&self, _: SwIntrId) {}
/// }
/// # use esp_amp::shm::Shm;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// let ev = DefaultEvents::create(&mut sys).unwrap();
/// let main_events: Events<'_, Clock> = Events::new(&Line, Clock(Cell::new(0)));
/// // Maincore: set bit 3 of its outgoing word and raise the event interrupt on the peer.
/// main_events.notify(&ev.outgoing::<MainCore>(), 1 << 3);
/// // Subcore (normally the other core, woken by that interrupt): wait for it, clearing it.
/// let sub_events: Events<'_, Clock> = Events::new(&Line, Clock(Cell::new(0)));
/// let bits = sub_events.wait_timeout(&ev.incoming::<SubCore>(), 1 << 3, WaitFor::Any, true, Some(10));
/// assert_eq!(bits, Ok(1 << 3));
/// assert_eq!(ev.incoming::<SubCore>().bits(), 0); // cleared on exit
/// ```
pub struct Events<'a, P: Platform, const W: usize = 4> {
    trigger: &'a (dyn Trigger + Sync),
    platform: P,
    /// The async waiters, woken by the EVENT interrupt (the same waker set as RPMsg's).
    waiters: IrqSignal<W>,
}

impl<'a, P: Platform, const W: usize> Events<'a, P, W> {
    /// Binds events to `trigger` (the local [`crate::sw_intr::SwIntr`]) and `platform`.
    pub fn new(trigger: &'a (dyn Trigger + Sync), platform: P) -> Self {
        Events { trigger, platform, waiters: IrqSignal::new() }
    }

    /// Sets `mask` in `event` and raises software interrupt 30 on the peer. Returns the
    /// bits before.
    pub fn notify(&self, event: &Event<'_>, mask: u32) -> u32 {
        let before = event.set(mask);
        self.trigger.trigger(SwIntrId::EVENT);
        before
    }

    /// Blocks until the condition holds or the timeout (`None` = forever) expires,
    /// sleeping in [`Platform::wait_irq`] between attempts. `Ok(bits before clearing)`.
    pub fn wait_timeout(
        &self,
        event: &Event<'_>,
        mask: u32,
        wait_for: WaitFor,
        clear_on_exit: bool,
        timeout_ms: Option<u32>,
    ) -> Result<u32, WaitTimeout> {
        let start = self.platform.now_ms();
        loop {
            // Read the epoch before the attempt: an interrupt that lands after a failed
            // attempt changes it, so `wait_irq` cannot sleep through it.
            let epoch = self.platform.irq_epoch();
            let observed = match event.try_wait(mask, wait_for, clear_on_exit) {
                Ok(bits) => return Ok(bits),
                Err(observed) => observed,
            };
            let remaining = match timeout_ms {
                None => None,
                Some(t) => {
                    let elapsed = self.platform.now_ms().wrapping_sub(start);
                    if elapsed > t {
                        return Err(WaitTimeout { observed });
                    }
                    Some((t - elapsed).saturating_add(1))
                }
            };
            self.platform.wait_irq(epoch, remaining);
        }
    }

    /// Non-blocking: one attempt (`poll` in C, without its up-to-1-ms spin).
    pub fn try_wait(
        &self,
        event: &Event<'_>,
        mask: u32,
        wait_for: WaitFor,
        clear_on_exit: bool,
    ) -> Result<u32, u32> {
        event.try_wait(mask, wait_for, clear_on_exit)
    }

    /// Waits asynchronously (any executor): woken by the software-interrupt handler.
    pub async fn wait(&self, event: &Event<'_>, mask: u32, wait_for: WaitFor, clear_on_exit: bool) -> u32 {
        poll_fn(|cx| {
            // Register first, then check: a notification between the two still wakes us.
            self.waiters.register(cx.waker());
            match event.try_wait(mask, wait_for, clear_on_exit) {
                Ok(bits) => Poll::Ready(bits),
                Err(_) => Poll::Pending,
            }
        })
        .await
    }

    /// The platform.
    pub fn platform(&self) -> &P {
        &self.platform
    }
}

impl<P: Platform + Sync, const W: usize> SwIntrHandler for Events<'_, P, W> {
    fn on_sw_intr(&self, _id: SwIntrId) {
        self.waiters.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicU32;

    #[test]
    fn wait_semantics_match_c() {
        let w = AtomicU32::new(0b0110);
        assert_eq!(try_wait_word(&w, 0b0011, WaitFor::All, true), Err(0b0110));
        assert_eq!(try_wait_word(&w, 0b0011, WaitFor::Any, false), Ok(0b0110));
        assert_eq!(w.load(Ordering::Relaxed), 0b0110);
        assert_eq!(try_wait_word(&w, 0b0110, WaitFor::All, false), Ok(0b0110));
        assert_eq!(try_wait_word(&w, 0b0110, WaitFor::All, true), Ok(0b0110));
        assert_eq!(w.load(Ordering::Relaxed), 0);
        w.store(0b1001, Ordering::Relaxed);
        assert_eq!(try_wait_word(&w, 0b0011, WaitFor::Any, true), Ok(0b1001));
        assert_eq!(w.load(Ordering::Relaxed), 0b1000);
        // wait-any with clear clears only mask bits even when it fails.
        assert_eq!(try_wait_word(&w, 0b0001, WaitFor::Any, true), Err(0b1000));
        assert_eq!(w.load(Ordering::Relaxed), 0b1000);
    }
}
