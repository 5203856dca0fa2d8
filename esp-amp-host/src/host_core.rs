//! One core of the simulated chip: its interrupt line (a futex doorbell in the region's
//! control page), its interrupt delivery thread, and its clock.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use esp_amp::port::{AlreadyBound, InterruptLine, Platform};
use rustix::thread::futex;

use crate::region::{HostRegion, DOORBELL_MAIN, DOORBELL_SUB};

/// Which core this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The maincore.
    Main,
    /// The subcore.
    Sub,
}

/// Bit set in the own doorbell by [`HostCore::stop_interrupts`] to wake the delivery loop.
const STOP_BIT: u32 = 2;

/// A core's port on the host: implements [`InterruptLine`] and [`Platform`].
///
/// Interrupts are delivered by [`HostCore::run_interrupts`], which a dedicated thread runs:
/// it sleeps in `futex_wait` on the core's doorbell (no busy-waiting) and calls the
/// interrupt handler each time the peer raises the line, like the CPU would.
pub struct HostCore<'r> {
    own: &'r AtomicU32,
    peer: &'r AtomicU32,
    side: Side,
    enabled: AtomicU32,
    /// 1 while the delivery thread runs (or is about to run) the handler.
    in_isr: AtomicU32,
    /// The delivery thread, so `disable` from inside the handler does not wait for itself.
    delivery_thread: Mutex<Option<std::thread::ThreadId>>,
    stop: AtomicBool,
    /// Set by [`HostCore::bind_interrupts`]: delivery runs for the rest of the process.
    bound: AtomicBool,
    epoch: Mutex<u32>,
    epoch_changed: Condvar,
    raised: AtomicU32,
    delivered: AtomicU32,
    start: Instant,
}

impl<'r> HostCore<'r> {
    /// The `side` core of `region`. Its line starts enabled.
    pub fn new(region: &'r HostRegion, side: Side) -> Self {
        let (own, peer) = match side {
            Side::Main => (DOORBELL_MAIN, DOORBELL_SUB),
            Side::Sub => (DOORBELL_SUB, DOORBELL_MAIN),
        };
        HostCore {
            own: region.doorbell(own),
            peer: region.doorbell(peer),
            side,
            enabled: AtomicU32::new(1),
            in_isr: AtomicU32::new(0),
            delivery_thread: Mutex::new(None),
            stop: AtomicBool::new(false),
            bound: AtomicBool::new(false),
            epoch: Mutex::new(0),
            epoch_changed: Condvar::new(),
            raised: AtomicU32::new(0),
            delivered: AtomicU32::new(0),
            start: Instant::now(),
        }
    }

    /// Which core this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// How many times this core raised the line towards its peer.
    pub fn raised_count(&self) -> u32 {
        self.raised.load(Ordering::Relaxed)
    }

    /// How many times the interrupt handler ran on this core.
    pub fn delivered_count(&self) -> u32 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Delivers interrupts to `isr` until [`HostCore::stop_interrupts`]. Run it on its own
    /// thread; `isr` is typically `|| { sw_intr.isr(); }`.
    pub fn run_interrupts(&self, isr: impl Fn()) {
        *self.delivery_thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::thread::current().id());
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let v = self.own.load(Ordering::SeqCst);
            if v == 0 {
                // Sleeps only while the doorbell is still 0; the peer's raise stores 1
                // before waking, so a raise cannot fall between the load and the wait.
                let _ = futex::wait(self.own, futex::Flags::empty(), 0, None);
                continue;
            }
            // Announce the handler, then check the mask: with `disable` doing the mirror
            // image (mask, then look for a handler), SeqCst makes at least one of the two
            // see the other, so no handler starts after `disable` returned.
            self.in_isr.store(1, Ordering::SeqCst);
            if self.enabled.load(Ordering::SeqCst) == 0 {
                self.in_isr.store(0, Ordering::SeqCst);
                // Pending but masked: wait for `enable`.
                let _ = futex::wait(&self.enabled, futex::Flags::PRIVATE, 0, None);
                continue;
            }
            isr();
            self.in_isr.store(0, Ordering::SeqCst);
            self.delivered.fetch_add(1, Ordering::Relaxed);
            let mut epoch = self.epoch.lock().unwrap_or_else(|e| e.into_inner());
            *epoch = epoch.wrapping_add(1);
            drop(epoch);
            self.epoch_changed.notify_all();
        }
    }

    /// Runs [`HostCore::run_interrupts`] on a thread of `scope` (panics if
    /// [`HostCore::bind_interrupts`] bound the core for good). Dropping the returned
    /// guard stops delivery, also when the scope unwinds from a panic, so the scope can
    /// join instead of waiting forever on a delivery thread. Delivery can be spawned again
    /// after an earlier one stopped (a restarted subcore, a new scope).
    pub fn spawn_interrupts<'scope, 'env>(
        &'env self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        isr: impl Fn() + Send + 'env,
    ) -> InterruptDelivery<'env, 'r> {
        assert!(
            !self.bound.load(Ordering::SeqCst),
            "HostCore::spawn_interrupts: interrupts are bound for good (bind_interrupts)"
        );
        // Re-arm after an earlier stop; done here, before the thread exists, so a guard
        // dropped at once still stops the new loop.
        self.stop.store(false, Ordering::SeqCst);
        scope.spawn(move || self.run_interrupts(isr));
        InterruptDelivery { core: self }
    }

    /// Delivers interrupts to `isr` on a thread of its own for the rest of the process: the
    /// host counterpart of `esp_amp_esp32::bind_interrupts`, for async programs whose tasks
    /// wait on an [`IrqSignal`](esp_amp::signal::IrqSignal) at any time. The binding
    /// lasts: nothing stops it ([`HostCore::stop_interrupts`] is for the scoped forms), so
    /// no future can be left waiting by a dropped guard. Once per core: a second call, or a
    /// call while scoped delivery runs, is [`AlreadyBound`].
    pub fn bind_interrupts(
        &'static self,
        isr: impl Fn() + Send + 'static,
    ) -> Result<InterruptsBound, AlreadyBound> {
        let scoped = self.delivery_thread.lock().unwrap_or_else(|e| e.into_inner()).is_some()
            && !self.stop.load(Ordering::SeqCst);
        if scoped || self.bound.swap(true, Ordering::SeqCst) {
            return Err(AlreadyBound);
        }
        self.stop.store(false, Ordering::SeqCst);
        std::thread::Builder::new()
            .name(format!("{:?} interrupts", self.side))
            .spawn(move || self.run_interrupts(isr))
            .map_err(|_| AlreadyBound)?;
        Ok(InterruptsBound(()))
    }

    /// Makes [`HostCore::run_interrupts`] return.
    pub fn stop_interrupts(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.own.fetch_or(STOP_BIT, Ordering::SeqCst);
        let _ = futex::wake(self.own, futex::Flags::empty(), u32::MAX);
        // Also release a delivery loop parked on a masked line (it then sees `stop`).
        self.enabled.store(1, Ordering::SeqCst);
        let _ = futex::wake(&self.enabled, futex::Flags::PRIVATE, u32::MAX);
    }
}

/// Proof that [`HostCore::bind_interrupts`] bound the core's interrupt handler for the rest
/// of the process. Dropping it changes nothing.
#[derive(Clone, Copy, Debug)]
pub struct InterruptsBound(());

/// Interrupt delivery started by [`HostCore::spawn_interrupts`]; stops it when dropped.
#[must_use = "dropping the guard stops interrupt delivery at once"]
pub struct InterruptDelivery<'c, 'r> {
    core: &'c HostCore<'r>,
}

impl Drop for InterruptDelivery<'_, '_> {
    fn drop(&mut self) {
        self.core.stop_interrupts();
    }
}

impl InterruptLine for HostCore<'_> {
    fn raise(&self) {
        self.raised.fetch_add(1, Ordering::Relaxed);
        if self.peer.swap(1, Ordering::SeqCst) == 0 {
            let _ = futex::wake(self.peer, futex::Flags::empty(), u32::MAX);
        }
    }

    fn clear(&self) {
        self.own.store(0, Ordering::SeqCst);
    }

    fn enable(&self) {
        self.enabled.store(1, Ordering::SeqCst);
        let _ = futex::wake(&self.enabled, futex::Flags::PRIVATE, u32::MAX);
    }

    /// Masks the line. From another thread than the handler's it also waits for a handler
    /// that already started to return (like Linux's `disable_irq`), so that after it
    /// returns no handler runs until `enable`; from inside the handler it only masks. So do
    /// not call it from another thread while holding what the handler waits for (a
    /// critical section): it would wait for ever.
    fn disable(&self) {
        self.enabled.store(0, Ordering::SeqCst);
        let me = std::thread::current().id();
        if *self.delivery_thread.lock().unwrap_or_else(|e| e.into_inner()) != Some(me) {
            while self.in_isr.load(Ordering::SeqCst) != 0 {
                std::thread::yield_now();
            }
        }
    }
}

impl Platform for HostCore<'_> {
    fn now_ms(&self) -> u32 {
        self.start.elapsed().as_millis() as u32
    }

    fn delay_us(&self, us: u32) {
        std::thread::sleep(Duration::from_micros(us as u64));
    }

    fn interrupts_enable(&self) {
        InterruptLine::enable(self)
    }

    fn interrupts_disable(&self) {
        InterruptLine::disable(self)
    }

    fn irq_epoch(&self) -> u32 {
        *self.epoch.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait_irq(&self, epoch: u32, timeout_ms: Option<u32>) {
        let guard = self.epoch.lock().unwrap_or_else(|e| e.into_inner());
        let unchanged = |e: &mut u32| *e == epoch;
        match timeout_ms {
            None => drop(self.epoch_changed.wait_while(guard, unchanged)),
            Some(ms) => drop(self.epoch_changed.wait_timeout_while(
                guard,
                Duration::from_millis(ms as u64),
                unchanged,
            )),
        }
    }
}
