//! Waking async receivers from a software interrupt.

use core::cell::RefCell;
use core::future::{poll_fn, Future};
use core::pin::pin;
use core::task::{Poll, Waker};

use embassy_sync::blocking_mutex::CriticalSectionMutex;
use embassy_sync::waitqueue::MultiWakerRegistration;

use crate::sw_intr::{SwIntrHandler, SwIntrId};

/// A set of up to `W` wakers woken by a software interrupt.
///
/// Register it as the handler of the id the peer triggers (for example
/// [`SwIntrId::RPMSG`]); async receive calls register their waker here before they look
/// at the queue, so a message that lands in between still wakes them.
///
/// ```
/// use esp_amp::signal::IrqSignal;
/// use esp_amp::sw_intr::{SwIntrHandler, SwIntrId};
/// let signal: IrqSignal = IrqSignal::new();
/// signal.on_sw_intr(SwIntrId::RPMSG); // what the interrupt handler does
/// ```
pub struct IrqSignal<const W: usize = 4> {
    wakers: CriticalSectionMutex<RefCell<MultiWakerRegistration<W>>>,
}

impl<const W: usize> IrqSignal<W> {
    /// An empty set.
    pub const fn new() -> Self {
        IrqSignal { wakers: CriticalSectionMutex::new(RefCell::new(MultiWakerRegistration::new())) }
    }

    /// Registers `waker` to be woken by the next interrupt. When all `W` places are taken,
    /// the registered wakers are woken early (they re-register), so nobody is forgotten.
    pub fn register(&self, waker: &Waker) {
        // The cell is only borrowed inside this critical section, so the borrow cannot
        // fail; the fallback (wake at once: the task polls again) keeps `RefCell`'s panic
        // path out of subcore images.
        self.wakers.lock(|w| match w.try_borrow_mut() {
            Ok(mut w) => w.register(waker),
            Err(_) => waker.wake_by_ref(),
        });
    }

    /// Wakes every registered waker.
    pub fn wake(&self) {
        self.wakers.lock(|w| {
            if let Ok(mut w) = w.try_borrow_mut() {
                w.wake();
            }
        });
    }
}

impl<const W: usize> Default for IrqSignal<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize> SwIntrHandler for IrqSignal<W> {
    fn on_sw_intr(&self, _id: SwIntrId) {
        self.wake();
    }
}

/// Resolves at the next interrupt that wakes `signal`, or when `repoll` completes,
/// whichever comes first (or at a spurious wake-up: callers look again and wait again).
///
/// For waits that no interrupt ends: a free buffer (frees raise no interrupt in the
/// ESP-AMP protocol) or a free RPC slot. `repoll` is the application's timer, for example
/// `embassy_time::Timer::after_millis(1)`, so this works with any executor.
pub async fn interrupt_or<const W: usize, F: Future<Output = ()>>(signal: &IrqSignal<W>, repoll: F) {
    let mut repoll = pin!(repoll);
    let mut polled = false;
    poll_fn(|cx| {
        if polled {
            // Woken: by the signal, the timer or spuriously; the caller checks again.
            return Poll::Ready(());
        }
        polled = true;
        signal.register(cx.waker());
        repoll.as_mut().poll(cx)
    })
    .await
}
