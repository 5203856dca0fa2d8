//! Software interrupts (docs/protocol.md §3): 32 ids per direction over one hardware line.
//!
//! Each core owns one status word in the fixed shared header (maincore at `+0`, subcore
//! at `+4`). [`SwIntr::trigger`] ORs the id's bit into the *peer's* word and raises the
//! line; the peer's interrupt handler calls [`SwIntr::isr`], which clears the line, then
//! drains its word and calls the matching handlers, repeating until the word stays 0 or
//! [`DRAIN_ROUNDS`] rounds were made (bits set later raise the line again).
//!
//! ```
//! use core::sync::atomic::{AtomicU32, Ordering};
//! use esp_amp::port::InterruptLine;
//! use esp_amp::role::{MainCore, SubCore};
//! use esp_amp::shm::Shm;
//! use esp_amp::sw_intr::{SwIntr, SwIntrId};
//!
//! struct NoLine; // polling: nothing to raise
//! impl InterruptLine for NoLine {
//!     fn raise(&self) {} fn clear(&self) {} fn enable(&self) {} fn disable(&self) {}
//! }
//! let mut header = [0u32; 8];
//! // SAFETY: `header` is aligned, valid and outlives `shm`.
//! let shm = unsafe { Shm::from_raw(header.as_mut_ptr().cast(), 0x4087_A560, 32) };
//! let main: SwIntr<'_, MainCore, NoLine> = SwIntr::init(shm, NoLine).unwrap();
//! let sub: SwIntr<'_, SubCore, NoLine> = SwIntr::attach(shm, NoLine).unwrap();
//! let hits = AtomicU32::new(0);
//! let handler = |id: SwIntrId| { hits.fetch_or(id.mask(), Ordering::Relaxed); };
//! sub.add_handler(SwIntrId::new(3).unwrap(), &handler).unwrap();
//! main.trigger(SwIntrId::new(3).unwrap());
//! assert_eq!(sub.isr(), 1 << 3);
//! assert_eq!(hits.load(Ordering::Relaxed), 1 << 3);
//! ```

use core::cell::Cell;
use core::marker::PhantomData;
use core::sync::atomic::{fence, AtomicU32, Ordering};

use critical_section::Mutex;

use crate::port::InterruptLine;
use crate::role::Role;
use crate::shm::{Shm, ShmError};
use crate::word::AtomicWord;

/// A software-interrupt id, 0..=31.
///
/// ```
/// use esp_amp::sw_intr::SwIntrId;
/// assert_eq!(SwIntrId::RPMSG.get(), 29); // the system's ids, as ESP-AMP C numbers them
/// let mine = SwIntrId::user(3).unwrap(); // 16 ids for the application
/// assert_eq!(mine.mask(), 1 << mine.get());
/// assert!(SwIntrId::user(16).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SwIntrId(u8);

impl SwIntrId {
    /// Supplicant service queue (subcore → maincore).
    pub const SYS_SVC: Self = Self(27);
    /// Subcore panic notification.
    pub const PANIC: Self = Self(28);
    /// RPMsg TX notify / RX handler.
    pub const RPMSG: Self = Self(29);
    /// Event notify.
    pub const EVENT: Self = Self(30);
    /// `SW_INTR_ID_MAX`: accepted by the C range checks, so usable as a bit.
    pub const MAX: Self = Self(31);
    /// Number of user ids (0..=15).
    pub const USER_COUNT: u8 = 16;

    /// The id `n`, if `n <= 31`.
    pub const fn new(n: u8) -> Option<Self> {
        if n <= 31 {
            Some(Self(n))
        } else {
            None
        }
    }
    /// User id `n` (0..=15).
    pub const fn user(n: u8) -> Option<Self> {
        if n < Self::USER_COUNT {
            Some(Self(n))
        } else {
            None
        }
    }
    /// The number.
    pub const fn get(self) -> u8 {
        self.0
    }
    /// `1 << id`.
    pub const fn mask(self) -> u32 {
        1 << self.0
    }
}

/// Something that can be called from the software-interrupt dispatch loop.
///
/// Implemented for every `Fn(SwIntrId) + Sync`. Handlers run in interrupt context on bare
/// metal: keep them short and non-blocking.
pub trait SwIntrHandler: Sync {
    /// Called once for each pending software interrupt `id`.
    fn on_sw_intr(&self, id: SwIntrId);
}

impl<F: Fn(SwIntrId) + Sync> SwIntrHandler for F {
    fn on_sw_intr(&self, id: SwIntrId) {
        self(id)
    }
}

/// The handler table is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFull;

impl core::fmt::Display for TableFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the software-interrupt handler table is full")
    }
}

impl core::error::Error for TableFull {}

type Slot<'h> = Option<(SwIntrId, &'h dyn SwIntrHandler)>;

/// The most rounds one [`drain`] makes (one swap and one delivery each).
///
/// C drains until a swap returns 0, so a peer that keeps setting bits keeps our handler
/// running for as long as it likes. Stopping after a fixed number of rounds loses
/// nothing: the handler cleared the line before draining, and a peer raises the line
/// after every bit it sets, so a bit set after the last swap comes with a raise that runs
/// the handler again.
pub const DRAIN_ROUNDS: u32 = 8;

/// Drains `word` as the C ISR does: swap it to 0, hand the pending bits to `deliver`, and
/// repeat until a swap returns 0, or at most [`DRAIN_ROUNDS`] times. Returns the union of
/// the bits delivered.
///
/// Acquire on the swap pairs with the Release of the peer's `fetch_or` in `trigger`, so
/// whatever the peer wrote before triggering is visible to the handlers.
pub fn drain<W: AtomicWord + ?Sized>(word: &W, mut deliver: impl FnMut(u32)) -> u32 {
    let mut all = 0;
    for _ in 0..DRAIN_ROUNDS {
        let pending = word.swap(0, Ordering::Acquire);
        if pending == 0 {
            break;
        }
        all |= pending;
        deliver(pending);
    }
    all
}

/// Sets `id` in the peer's word: the first half of a trigger (the port raises the line).
pub fn post<W: AtomicWord + ?Sized>(peer_word: &W, id: SwIntrId) {
    peer_word.fetch_or(id.mask(), Ordering::Release);
}

/// One core's software-interrupt endpoint with a handler table of `N` slots
/// (`ESP_AMP_SW_INTR_HANDLER_TABLE_LEN`, default 8).
pub struct SwIntr<'a, R: Role, L: InterruptLine, const N: usize = 8> {
    own: &'a AtomicU32,
    peer: &'a AtomicU32,
    line: L,
    table: Mutex<Cell<[Slot<'a>; N]>>,
    _role: PhantomData<R>,
}

impl<'a, R: Role, L: InterruptLine, const N: usize> SwIntr<'a, R, L, N> {
    fn words(header: Shm<'a>) -> Result<(&'a AtomicU32, &'a AtomicU32), ShmError> {
        let base = header.device_base();
        Ok((header.atomic_u32(base + R::OWN_SW_INTR_WORD)?, header.atomic_u32(base + R::PEER_SW_INTR_WORD)?))
    }

    /// Attaches to the status words at the start of `header` (the shared region) without
    /// writing them: what the subcore does.
    pub fn attach(header: Shm<'a>, line: L) -> Result<Self, ShmError> {
        let (own, peer) = Self::words(header)?;
        Ok(SwIntr { own, peer, line, table: Mutex::new(Cell::new([None; N])), _role: PhantomData })
    }

    /// Attaches and writes 0 to both status words: what the maincore does at init,
    /// before the subcore starts.
    pub fn init(header: Shm<'a>, line: L) -> Result<Self, ShmError> {
        let this = Self::attach(header, line)?;
        this.own.store(0, Ordering::Relaxed);
        this.peer.store(0, Ordering::Release);
        Ok(this)
    }

    /// The interrupt line.
    pub fn line(&self) -> &L {
        &self.line
    }

    /// Raises software interrupt `id` on the peer.
    pub fn trigger(&self, id: SwIntrId) {
        post(self.peer, id);
        // The bit must be visible before the line can be seen raised, or the peer's
        // handler could clear the line and drain before the bit lands (lost interrupt).
        fence(Ordering::SeqCst);
        self.line.raise();
    }

    /// Registers `handler` for `id` in the first free slot (no duplicate check, like C).
    pub fn add_handler(&self, id: SwIntrId, handler: &'a dyn SwIntrHandler) -> Result<(), TableFull> {
        critical_section::with(|cs| {
            let cell = self.table.borrow(cs);
            let mut slots = cell.get();
            let free = slots.iter_mut().find(|s| s.is_none()).ok_or(TableFull)?;
            *free = Some((id, handler));
            cell.set(slots);
            Ok(())
        })
    }

    /// Removes every slot registered with this `(id, handler)`; returns how many.
    pub fn remove_handler(&self, id: SwIntrId, handler: &dyn SwIntrHandler) -> usize {
        critical_section::with(|cs| {
            let cell = self.table.borrow(cs);
            let mut slots = cell.get();
            let mut removed = 0;
            for slot in slots.iter_mut() {
                if let Some((sid, h)) = slot {
                    if *sid == id && core::ptr::addr_eq(*h as *const dyn SwIntrHandler, handler) {
                        *slot = None;
                        removed += 1;
                    }
                }
            }
            cell.set(slots);
            removed
        })
    }

    /// The interrupt handler: clear the line, then drain-and-dispatch until the own word
    /// stays 0 (docs/protocol.md §3), for at most [`DRAIN_ROUNDS`] rounds: bits a flooding
    /// peer sets after that are handled on the next interrupt, which its raise of the line
    /// guarantees. Returns the union of the bits handled.
    pub fn isr(&self) -> u32 {
        self.line.clear();
        // Pairs with the fence in `trigger`: a trigger whose bit this drain misses has its
        // line raise ordered after our clear, so the handler runs again.
        fence(Ordering::SeqCst);
        drain(self.own, |pending| {
            let slots = critical_section::with(|cs| self.table.borrow(cs).get());
            for (id, handler) in slots.iter().flatten() {
                if pending & id.mask() != 0 {
                    handler.on_sw_intr(*id);
                }
            }
        })
    }

    /// Pending bits of this core's word, without consuming them.
    pub fn pending(&self) -> u32 {
        self.own.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::{MainCore, SubCore};
    use core::sync::atomic::AtomicUsize;

    struct CountingLine {
        raised: AtomicUsize,
        cleared: AtomicUsize,
    }
    impl InterruptLine for CountingLine {
        fn raise(&self) {
            self.raised.fetch_add(1, Ordering::Relaxed);
        }
        fn clear(&self) {
            self.cleared.fetch_add(1, Ordering::Relaxed);
        }
        fn enable(&self) {}
        fn disable(&self) {}
    }

    fn line() -> CountingLine {
        CountingLine { raised: AtomicUsize::new(0), cleared: AtomicUsize::new(0) }
    }

    #[test]
    fn table_order_full_and_remove() {
        let mut mem = [0xFFFF_FFFFu32; 8];
        // SAFETY: aligned, valid, outlives the handles.
        let shm = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x1000, 32) };
        let main: SwIntr<'_, MainCore, _, 4> = SwIntr::init(shm, line()).unwrap();
        assert_eq!(main.pending(), 0);
        let sub: SwIntr<'_, SubCore, _, 4> = SwIntr::attach(shm, line()).unwrap();
        let log = critical_section::Mutex::new(core::cell::RefCell::new(std::vec::Vec::new()));
        let a = |id: SwIntrId| critical_section::with(|cs| log.borrow_ref_mut(cs).push(('a', id.get())));
        let b = |id: SwIntrId| critical_section::with(|cs| log.borrow_ref_mut(cs).push(('b', id.get())));
        let id = |n| SwIntrId::new(n).unwrap();
        sub.add_handler(id(5), &b).unwrap();
        sub.add_handler(id(1), &a).unwrap();
        sub.add_handler(id(5), &a).unwrap();
        sub.add_handler(id(31), &a).unwrap();
        assert_eq!(sub.add_handler(id(2), &a), Err(TableFull));
        main.trigger(id(1));
        main.trigger(id(5));
        assert_eq!(main.line().raised.load(Ordering::Relaxed), 2);
        assert_eq!(sub.isr(), (1 << 1) | (1 << 5));
        assert_eq!(sub.line().cleared.load(Ordering::Relaxed), 1);
        // Table order, once per matching slot.
        assert_eq!(critical_section::with(|cs| log.borrow_ref(cs).clone()), [('b', 5), ('a', 1), ('a', 5)]);
        assert_eq!(sub.remove_handler(id(5), &a), 1);
        assert_eq!(sub.remove_handler(id(5), &a), 0);
        sub.add_handler(id(2), &a).unwrap();
        main.trigger(SwIntrId::MAX);
        sub.isr();
        assert_eq!(critical_section::with(|cs| log.borrow_ref(cs).last().copied()), Some(('a', 31)));
        // Subcore → maincore uses the other word.
        sub.trigger(id(7));
        assert_eq!(mem[0], 1 << 7);
    }

    #[test]
    fn handler_retriggering_is_drained_in_the_same_isr() {
        let mut mem = [0u32; 2];
        // SAFETY: aligned, valid, outlives the handles.
        let shm = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x1000, 8) };
        let main: SwIntr<'_, MainCore, _> = SwIntr::init(shm, line()).unwrap();
        let sub: SwIntr<'_, SubCore, _> = SwIntr::attach(shm, line()).unwrap();
        let rounds = AtomicUsize::new(0);
        let h = |_id: SwIntrId| {
            if rounds.fetch_add(1, Ordering::Relaxed) < 3 {
                main.trigger(SwIntrId::user(0).unwrap());
            }
        };
        sub.add_handler(SwIntrId::user(0).unwrap(), &h).unwrap();
        main.trigger(SwIntrId::user(0).unwrap());
        sub.isr();
        assert_eq!(rounds.load(Ordering::Relaxed), 4);
        assert_eq!(sub.pending(), 0);
    }

    #[test]
    fn ids() {
        assert_eq!(SwIntrId::new(32), None);
        assert_eq!(SwIntrId::user(16), None);
        assert_eq!(
            [SwIntrId::SYS_SVC, SwIntrId::PANIC, SwIntrId::RPMSG, SwIntrId::EVENT, SwIntrId::MAX]
                .map(|i| i.get()),
            [27, 28, 29, 30, 31]
        );
    }

    /// A peer on its own core that triggers again every time our handler runs (the
    /// pattern that kept C's handler busy for as long as the peer liked).
    #[test]
    fn one_isr_call_runs_a_bounded_number_of_rounds_and_loses_nothing() {
        let mut mem = [0u32; 8];
        // SAFETY: aligned, valid, outlives the handles.
        let shm = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x1000, 32) };
        let main: SwIntr<'_, MainCore, _, 4> = SwIntr::init(shm, line()).unwrap();
        let sub: SwIntr<'_, SubCore, _, 4> = SwIntr::attach(shm, line()).unwrap();
        let id = SwIntrId::new(3).unwrap();
        let rounds = AtomicUsize::new(0);
        // Stops flooding after 10,000 rounds, so an unbounded drain fails the assertion
        // below instead of hanging the test.
        let flood = |_: SwIntrId| {
            if rounds.fetch_add(1, Ordering::Relaxed) < 10_000 {
                main.trigger(id);
            }
        };
        sub.add_handler(id, &flood).unwrap();
        main.trigger(id);
        assert_eq!(sub.isr(), id.mask());
        assert_eq!(rounds.load(Ordering::Relaxed), DRAIN_ROUNDS as usize);
        // The bit the peer set after the last round is still there, and the peer raised
        // the line for it: the next interrupt handles it.
        assert_eq!(sub.pending(), id.mask());
        let raised = main.line().raised.load(Ordering::Relaxed);
        assert_eq!(raised, 1 + DRAIN_ROUNDS as usize);
        assert_eq!(sub.isr(), id.mask());
        assert_eq!(rounds.load(Ordering::Relaxed), 2 * DRAIN_ROUNDS as usize);
    }
}
