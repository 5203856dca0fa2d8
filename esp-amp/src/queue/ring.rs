//! The packed-ring protocol of docs/protocol.md §5.4–§5.5, written once over a [`DescTable`].
//!
//! This module knows nothing about shared memory: the descriptor table is a trait, so the
//! very same state machine runs on the shared region and, in the loom model, on loom
//! atomics. Buffers are named by their index in the queue's buffer area; only this module
//! turns peer-written addresses into indices, and it does so with [`Geometry::index_of`],
//! which accepts nothing but this queue's own buffers.
//!
//! # Ordering
//!
//! Each slot's `flags` halfword is the only synchronisation: the side that hands a slot
//! over writes `addr`/`len` (and the buffer bytes) and then stores `flags` with
//! `Release`; the side that takes it loads `flags` with `Acquire` before reading
//! anything else. That is plain message passing through one location per slot, which
//! Acquire/Release orders completely; there is no store-then-load pattern between two
//! different locations, so `SeqCst` would add nothing. Only one side writes a slot's
//! flags at a time (the producer while the slot is free, the consumer while it is
//! filled), and the value it writes follows from its own state, so a plain store does
//! what the C version's `^=` does.

use core::cell::Cell;

/// Flags bit 7: toggled by the producer when it fills a slot.
pub const AVAIL: u16 = 0x0080;
/// Flags bit 15: toggled by the consumer when it frees a slot.
pub const USED: u16 = 0x8000;

/// Access to the descriptor table of one queue (`N` descriptors of 8 bytes).
///
/// `slot` is always `< N` (callers mask it).
pub trait DescTable {
    /// `flags` of `slot`, `Acquire`.
    fn flags(&self, slot: u16) -> u16;
    /// Stores `flags` of `slot`, `Release`.
    fn set_flags(&self, slot: u16, flags: u16);
    /// `addr` and `len` of `slot` (ordered by a preceding [`DescTable::flags`]).
    fn addr_len(&self, slot: u16) -> (u32, u16);
    /// Writes `addr` and `len` of `slot` (published by a following [`DescTable::set_flags`]).
    fn set_addr_len(&self, slot: u16, addr: u32, len: u16);
}

/// What a misbehaving peer did. Each one is counted; none is undefined behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PeerFault {
    /// A descriptor names an address that is not one of this queue's buffers (outside the
    /// buffer area, or not on an item boundary).
    BadAddress {
        /// The descriptor slot.
        slot: u16,
        /// The address it names.
        addr: u32,
    },
    /// A descriptor names a buffer this side already holds (a double free or double send).
    Duplicate {
        /// The descriptor slot.
        slot: u16,
        /// The buffer it names.
        addr: u32,
    },
    /// A filled descriptor's length exceeds the item size.
    BadLength {
        /// The descriptor slot.
        slot: u16,
        /// The length it holds.
        len: u16,
    },
}

impl core::fmt::Display for PeerFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            PeerFault::BadAddress { slot, addr } => {
                write!(f, "slot {slot}: address 0x{addr:08x} is not a buffer of this queue")
            }
            PeerFault::Duplicate { slot, addr } => {
                write!(f, "slot {slot}: buffer 0x{addr:08x} is already held by this side")
            }
            PeerFault::BadLength { slot, len } => {
                write!(f, "slot {slot}: length {len} exceeds the item size")
            }
        }
    }
}

impl core::error::Error for PeerFault {}

/// Where a queue's buffers are: `n` items of `s` bytes from device address `buf_base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Number of buffers.
    pub n: u16,
    /// Bytes per buffer.
    pub s: u16,
    /// Device address of the first buffer.
    pub buf_base: u32,
    /// `ceil(2^32 / s)`: turns the division in `index_of` into a multiplication (one
    /// `mulhu` on RV32).
    recip: u32,
}

impl Geometry {
    /// `None` unless `n` is a power of two, `s` a non-zero multiple of 4, the buffer area
    /// `n·s` at most 64 KiB (it lives in a SysInfo block) and `buf_base + n·s` fits.
    pub const fn new(n: u16, s: u16, buf_base: u32) -> Option<Self> {
        let area = n as u32 * s as u32;
        if !n.is_power_of_two()
            || s == 0
            || s % 4 != 0
            || area > 0x1_0000
            || buf_base.checked_add(area).is_none()
        {
            return None;
        }
        Some(Self::from_checked(n, s, buf_base))
    }

    /// [`Geometry::new`] for arguments already known to pass its checks.
    pub(crate) const fn from_checked(n: u16, s: u16, buf_base: u32) -> Self {
        debug_assert!(n.is_power_of_two() && s != 0 && s % 4 == 0);
        // ceil(2^32 / s) = floor((2^32 - 1) / s) + 1; at most 2^30 as s >= 4.
        Geometry { n, s, buf_base, recip: u32::MAX / s as u32 + 1 }
    }

    /// The buffer index of `addr`, if `addr` is exactly the start of one of the buffers.
    #[inline]
    pub fn index_of(&self, addr: u32) -> Option<u16> {
        // Below the base wraps to a huge offset and fails the area check.
        let off = addr.wrapping_sub(self.buf_base);
        let s = u32::from(self.s);
        if off >= u32::from(self.n) * s {
            return None;
        }
        // Exact: off < n·s <= 2^16, so the rounding error of the reciprocal,
        // off·(recip − 2^32/s) / 2^32 < off / 2^32 < 2^-16 <= 1/s, never reaches the next
        // multiple of 1/s: the floor is off / s.
        let idx = ((u64::from(off) * u64::from(self.recip)) >> 32) as u32;
        (idx * s == off).then_some(idx as u16)
    }

    /// Device address of buffer `idx` (`idx < n`).
    #[inline]
    pub fn addr_of(&self, idx: u16) -> u32 {
        // No overflow: idx < n and buf_base + n·s fits (checked in `new`).
        self.buf_base + u32::from(idx) * u32::from(self.s)
    }
}

/// Who has a buffer, from this side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Own {
    /// In the ring or with the peer.
    Away,
    /// A live guard on this side holds it.
    Held,
    /// In no guard and not yet in a slot. Producer: dropped unsent, or taken ahead of
    /// need by `Ring::reserve_next` (feature `reserve-ahead`); the next alloc hands it
    /// out. Consumer (feature `batch-free`): freed, waiting for `Ring::flush_frees` to
    /// write its slot.
    Kept,
}

/// Most buffers `Ring::reserve_next` takes ahead of need.
#[cfg(feature = "reserve-ahead")]
const RESERVE: usize = 8;

/// Most freed buffers the consumer collects before it writes their slots (`batch-free`).
#[cfg(feature = "batch-free")]
const FREE_BATCH: usize = 8;

/// One side's local state of a queue (docs/protocol.md §5.3) plus the ownership map that makes the
/// guards sound: a buffer is handed out only if no live guard holds it.
///
/// `CAP` is the largest queue length this side can track (three bytes per buffer).
pub struct Ring<T, const CAP: usize> {
    table: T,
    geo: Geometry,
    free_index: Cell<u16>,
    used_index: Cell<u16>,
    free_flip: Cell<bool>,
    used_flip: Cell<bool>,
    own: [Cell<Own>; CAP],
    /// The `Kept` buffers, oldest first: a FIFO of `kept_len` from `kept_head` (one side
    /// is either producer or consumer, so the two uses never mix). It never overflows: at
    /// most `n <= CAP` buffers exist.
    kept: [Cell<u16>; CAP],
    kept_head: Cell<usize>,
    kept_len: Cell<usize>,
    /// Peer faults so far (each fault itself goes to the caller, in the error).
    faults: Cell<u32>,
}

#[inline]
fn bit(flags: u16, mask: u16) -> bool {
    flags & mask != 0
}

/// "Free for producer" (`IS_USED(c)` in C): A ≠ c and U ≠ c.
#[inline]
pub fn is_free(flags: u16, c: bool) -> bool {
    bit(flags, AVAIL) != c && bit(flags, USED) != c
}

/// "Filled for consumer" (`IS_AVAILABLE(c)` in C): A = c and U ≠ c.
#[inline]
pub fn is_filled(flags: u16, c: bool) -> bool {
    bit(flags, AVAIL) == c && bit(flags, USED) != c
}

/// The flags of a slot once the producer has filled it in lap `c`: A = c, U = ¬c.
///
/// Both bits follow from the local state (the slot was free: A = U = ¬c), so the flags
/// are written without being read first: for a well-behaved peer this is exactly C's
/// toggle, a peer that scribbled on a slot it had handed over gets the canonical value
/// back, and not reading saves a cache-line transfer per message.
#[inline]
fn filled_flags(c: bool) -> u16 {
    if c {
        AVAIL
    } else {
        USED
    }
}

/// The flags of a slot once the consumer has freed it in lap `c`: A = U = c.
#[inline]
fn freed_flags(c: bool) -> u16 {
    if c {
        AVAIL | USED
    } else {
        0
    }
}

/// Why an operation on the ring did not produce a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RingError {
    /// Nothing to take: no free slot (producer) or no filled slot (consumer).
    Empty,
    /// The next slot held garbage; it was consumed and counted.
    Peer(PeerFault),
}

impl core::fmt::Display for RingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RingError::Empty => f.write_str("no slot to take"),
            RingError::Peer(p) => write!(f, "peer fault: {p}"),
        }
    }
}

impl core::error::Error for RingError {}

impl<T: DescTable, const CAP: usize> Ring<T, CAP> {
    /// Fresh local state (indices 0, both flip counters 1) over `table`.
    ///
    /// Callers guarantee `geo.n as usize <= CAP`.
    pub fn new(table: T, geo: Geometry) -> Self {
        debug_assert!(usize::from(geo.n) <= CAP && geo.n.is_power_of_two());
        Ring {
            table,
            geo,
            free_index: Cell::new(0),
            used_index: Cell::new(0),
            free_flip: Cell::new(true),
            used_flip: Cell::new(true),
            own: [const { Cell::new(Own::Away) }; CAP],
            kept: [const { Cell::new(0) }; CAP],
            kept_head: Cell::new(0),
            kept_len: Cell::new(0),
            faults: Cell::new(0),
        }
    }

    /// Where this queue's buffers are.
    pub fn geometry(&self) -> Geometry {
        self.geo
    }

    /// Peer faults met so far (each consumed and counted).
    pub fn faults(&self) -> u32 {
        self.faults.get()
    }

    fn fault(&self, f: PeerFault) -> PeerFault {
        self.faults.set(self.faults.get().wrapping_add(1));
        f
    }

    #[inline]
    fn mask(&self, index: u16) -> u16 {
        index & (self.geo.n - 1)
    }

    /// Advances `index`, flipping `flip` after the last slot.
    #[inline]
    fn advance(&self, index: &Cell<u16>, flip: &Cell<bool>) {
        let i = index.get();
        if self.mask(i) == self.geo.n - 1 {
            flip.set(!flip.get());
        }
        index.set(i.wrapping_add(1));
    }

    #[inline]
    fn own(&self, idx: u16) -> &Cell<Own> {
        // idx < n <= CAP: every index comes from `Geometry::index_of` or from a guard. The
        // `% CAP` (one `andi` for the usual power-of-two CAP) only lets the compiler see it,
        // so no bounds-check panic is linked.
        &self.own[usize::from(idx) % CAP]
    }

    // ---- producer side -------------------------------------------------------------

    /// Takes a buffer for writing (spec `alloc`): a kept one if any, else the next free
    /// slot's buffer. Returns its index; the caller holds it until [`Ring::send`] or
    /// [`Ring::park`].
    pub fn alloc(&self) -> Result<u16, RingError> {
        let idx = match self.unkeep() {
            Some(idx) => idx,
            None => self.take_free()?,
        };
        self.own(idx).set(Own::Held);
        Ok(idx)
    }

    /// Appends `idx` to the `Kept` FIFO.
    fn keep(&self, idx: u16) {
        self.own(idx).set(Own::Kept);
        let tail = (self.kept_head.get() + self.kept_len.get()) % CAP;
        self.kept[tail].set(idx);
        self.kept_len.set(self.kept_len.get() + 1);
    }

    /// Takes the oldest `Kept` buffer out of the FIFO (its owner state is the caller's).
    #[inline]
    fn unkeep(&self) -> Option<u16> {
        let len = self.kept_len.get().checked_sub(1)?;
        let head = self.kept_head.get();
        self.kept_head.set((head + 1) % CAP);
        self.kept_len.set(len);
        // `head < CAP` always (kept modulo CAP); `get` leaves no bounds-check panic.
        self.kept.get(head).map(Cell::get)
    }

    /// The next free slot's buffer, checked (the slot is consumed even when it held
    /// garbage: the ring stays consistent, as the next send fills it, and only the
    /// peer's garbage is lost).
    fn take_free(&self) -> Result<u16, RingError> {
        let slot = self.mask(self.free_index.get());
        let flags = self.table.flags(slot);
        if !is_free(flags, self.free_flip.get()) {
            return Err(RingError::Empty);
        }
        let (addr, _) = self.table.addr_len(slot);
        self.advance(&self.free_index, &self.free_flip);
        let fault = match self.geo.index_of(addr) {
            None => PeerFault::BadAddress { slot, addr },
            Some(idx) if self.own(idx).get() == Own::Away => return Ok(idx),
            Some(_) => PeerFault::Duplicate { slot, addr },
        };
        Err(RingError::Peer(self.fault(fault)))
    }

    /// Keeps an allocated buffer for the next [`Ring::alloc`] (a guard dropped unsent).
    pub fn park(&self, idx: u16) {
        debug_assert_eq!(self.own(idx).get(), Own::Held);
        self.keep(idx);
    }

    /// After a send, takes the next free buffers ahead of need (up to 8, a quarter of
    /// the queue) if none are kept already. Their descriptors share the cache line of
    /// the slot just sent, so they are read while it is local, and the next sends need
    /// no shared read at all. Nothing is written to shared memory; [`Ring::alloc`] hands
    /// them out in ring order. Only with the `reserve-ahead` feature.
    #[cfg(feature = "reserve-ahead")]
    pub fn reserve_next(&self) {
        if self.kept_len.get() > 0 {
            return;
        }
        let want = usize::from(self.geo.n / 4).clamp(1, RESERVE);
        for _ in 0..want {
            match self.take_free() {
                Ok(idx) => self.keep(idx),
                Err(RingError::Empty) => break,
                Err(RingError::Peer(_)) => {} // consumed and counted; try the next slot
            }
        }
    }

    /// Publishes held buffer `idx` with `len` bytes in the next slot (spec `send`).
    /// `len <= s` is the caller's check.
    pub fn send(&self, idx: u16, len: u16) {
        debug_assert_eq!(self.own(idx).get(), Own::Held);
        self.own(idx).set(Own::Away);
        // Alloc saw this slot free in this lap; it is ours to write.
        let slot = self.mask(self.used_index.get());
        self.table.set_addr_len(slot, self.geo.addr_of(idx), len);
        self.table.set_flags(slot, filled_flags(self.used_flip.get()));
        self.advance(&self.used_index, &self.used_flip);
    }

    // ---- consumer side -------------------------------------------------------------

    /// Takes the next filled buffer (spec `recv`): `(index, len)`. A bad descriptor is
    /// consumed, handed straight back to the producer and reported.
    pub fn try_recv(&self) -> Result<(u16, u16), RingError> {
        let slot = self.mask(self.free_index.get());
        let flags = self.table.flags(slot);
        if !is_filled(flags, self.free_flip.get()) {
            // Nothing more to read for now: give back what was freed meanwhile, so a
            // consumer that goes idle leaves no buffer behind.
            #[cfg(feature = "batch-free")]
            self.flush_frees();
            return Err(RingError::Empty);
        }
        let (addr, len) = self.table.addr_len(slot);
        self.advance(&self.free_index, &self.free_flip);
        let fault = match self.geo.index_of(addr) {
            None => PeerFault::BadAddress { slot, addr },
            Some(idx) if self.own(idx).get() != Own::Away => PeerFault::Duplicate { slot, addr },
            Some(_) if len > self.geo.s => PeerFault::BadLength { slot, len },
            Some(idx) => {
                self.own(idx).set(Own::Held);
                return Ok((idx, len));
            }
        };
        // Return whatever the producer gave: its address is its own business, and the
        // ring needs one free per receive to stay in step.
        self.free_addr(addr);
        Err(RingError::Peer(self.fault(fault)))
    }

    /// Gives held buffer `idx` back to the producer (spec `free`).
    ///
    /// With the `batch-free` feature the slot is written later: when a quarter of the
    /// queue (at most 8) has been freed, or when [`Ring::try_recv`] finds the ring empty, or
    /// on `Ring::flush_frees`. The consumer then writes each shared descriptor line once
    /// per batch instead of once per message, and the producer, which polls that line,
    /// finds several free slots at once instead of one at a time. The batch is at most a
    /// quarter of the queue, so the producer always has the rest, and a consumer that
    /// keeps receiving flushes it at the latest when it runs dry.
    pub fn free(&self, idx: u16) {
        debug_assert_eq!(self.own(idx).get(), Own::Held);
        #[cfg(feature = "batch-free")]
        {
            self.keep(idx);
            if self.kept_len.get() >= usize::from(self.geo.n / 4).clamp(1, FREE_BATCH) {
                self.flush_frees();
            }
        }
        #[cfg(not(feature = "batch-free"))]
        {
            self.own(idx).set(Own::Away);
            self.free_addr(self.geo.addr_of(idx));
        }
    }

    /// Writes the slots of the buffers freed so far, oldest first (feature `batch-free`;
    /// without it every free is written at once).
    #[cfg(feature = "batch-free")]
    #[cfg_attr(docsrs, doc(cfg(feature = "batch-free")))]
    pub fn flush_frees(&self) {
        while let Some(idx) = self.unkeep() {
            self.own(idx).set(Own::Away);
            self.free_addr(self.geo.addr_of(idx));
        }
    }

    /// The buffer the next filled slot points to, if any and valid, without taking it
    /// (feature `batch-free`: the consumer prefetches it). Only a hint: it is checked
    /// again when received.
    #[cfg(feature = "batch-free")]
    #[cfg_attr(docsrs, doc(cfg(feature = "batch-free")))]
    pub fn peek_next(&self) -> Option<u16> {
        if !self.has_filled() {
            return None;
        }
        self.geo.index_of(self.table.addr_len(self.mask(self.free_index.get())).0)
    }

    fn free_addr(&self, addr: u32) {
        // Recv saw this slot filled in this lap; it is ours to write.
        let slot = self.mask(self.used_index.get());
        self.table.set_addr_len(slot, addr, self.geo.s);
        self.table.set_flags(slot, freed_flags(self.used_flip.get()));
        self.advance(&self.used_index, &self.used_flip);
    }

    /// `true` if the next consumer slot is filled (a cheap peek, nothing consumed).
    pub fn has_filled(&self) -> bool {
        is_filled(self.table.flags(self.mask(self.free_index.get())), self.free_flip.get())
    }

    /// Buffers taken from the ring and not yet given back: in live guards or kept (on the
    /// consumer with `batch-free`: freed but not yet written back).
    pub fn outstanding(&self) -> usize {
        self.own[..usize::from(self.geo.n)].iter().filter(|o| o.get() != Own::Away).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};

    /// A descriptor table in local atomics, initialised like `queue_main_init`.
    pub(crate) struct LocalTable {
        pub addr: [AtomicU32; 8],
        pub len: [AtomicU16; 8],
        pub flags: [AtomicU16; 8],
    }

    impl LocalTable {
        fn new(geo: Geometry) -> Self {
            LocalTable {
                addr: core::array::from_fn(|i| AtomicU32::new(geo.addr_of(i as u16))),
                len: core::array::from_fn(|_| AtomicU16::new(geo.s)),
                flags: core::array::from_fn(|_| AtomicU16::new(0)),
            }
        }
    }

    impl DescTable for &LocalTable {
        fn flags(&self, slot: u16) -> u16 {
            self.flags[slot as usize].load(Ordering::Acquire)
        }
        fn set_flags(&self, slot: u16, flags: u16) {
            self.flags[slot as usize].store(flags, Ordering::Release)
        }
        fn addr_len(&self, slot: u16) -> (u32, u16) {
            (
                self.addr[slot as usize].load(Ordering::Relaxed),
                self.len[slot as usize].load(Ordering::Relaxed),
            )
        }
        fn set_addr_len(&self, slot: u16, addr: u32, len: u16) {
            self.addr[slot as usize].store(addr, Ordering::Relaxed);
            self.len[slot as usize].store(len, Ordering::Relaxed);
        }
    }

    const GEO: Geometry = Geometry::new(4, 16, 0x1000).unwrap();

    #[test]
    fn index_of_accepts_only_own_buffers() {
        assert_eq!(GEO.index_of(0x1000), Some(0));
        assert_eq!(GEO.index_of(0x1030), Some(3));
        assert_eq!(GEO.index_of(0x1040), None);
        assert_eq!(GEO.index_of(0x1004), None);
        assert_eq!(GEO.index_of(0x0ff0), None);
        assert_eq!(GEO.index_of(u32::MAX), None);
        assert!(Geometry::new(3, 16, 0).is_none() && Geometry::new(4, 6, 0).is_none());
        assert!(Geometry::new(4, 16, u32::MAX - 32).is_none() && Geometry::new(4096, 32, 0).is_none());
    }

    #[test]
    fn index_of_agrees_with_division() {
        // Every item size up to 1 KiB natively; a sample under miri, which is ~1000× slower.
        let sizes: Vec<u16> =
            if cfg!(miri) { vec![4, 12, 72, 65532] } else { (4..=1024).step_by(4).chain([65532]).collect() };
        for s in sizes {
            let n = (0x1_0000 / u32::from(s)).min(32768) as u16;
            let n = if n.is_power_of_two() { n } else { n.next_power_of_two() / 2 };
            let g = Geometry::new(n, s, 0x4000_0000).unwrap();
            let step = if cfg!(miri) { 997 } else { 1 + usize::from(s) / 3 };
            for off in (0..u32::from(n) * u32::from(s)).step_by(step) {
                let want = (off % u32::from(s) == 0).then_some((off / u32::from(s)) as u16);
                assert_eq!(g.index_of(0x4000_0000 + off), want, "s {s} off {off}");
            }
        }
    }

    #[test]
    fn all_slots_usable_and_flags_match_c() {
        let t = LocalTable::new(GEO);
        let p: Ring<_, 4> = Ring::new(&t, GEO);
        let c: Ring<_, 4> = Ring::new(&t, GEO);
        for lap in 0..3u16 {
            for i in 0..4 {
                let b = p.alloc().unwrap();
                p.send(b, i + 1);
            }
            assert_eq!(p.alloc(), Err(RingError::Empty));
            // Lap k: the producer's bit equals c = (k even).
            let a = if lap % 2 == 0 { AVAIL } else { 0 };
            let u = if lap % 2 == 0 { 0 } else { USED };
            let flags: [u16; 4] = core::array::from_fn(|i| t.flags[i].load(Ordering::Relaxed));
            assert_eq!(flags, [a | u; 4], "lap {lap}");
            for i in 0..4 {
                let (b, len) = c.try_recv().unwrap();
                assert_eq!(len, i + 1);
                c.free(b);
            }
            assert_eq!(c.try_recv(), Err(RingError::Empty));
        }
    }

    #[test]
    fn out_of_order_frees_permute_buffers() {
        let t = LocalTable::new(GEO);
        let p: Ring<_, 4> = Ring::new(&t, GEO);
        let c: Ring<_, 4> = Ring::new(&t, GEO);
        for _ in 0..2 {
            let b = p.alloc().unwrap();
            p.send(b, 1);
        }
        let (b0, _) = c.try_recv().unwrap();
        let (b1, _) = c.try_recv().unwrap();
        c.free(b1);
        c.free(b0);
        assert_eq!(t.addr[0].load(Ordering::Relaxed), GEO.addr_of(1));
        assert_eq!(t.addr[1].load(Ordering::Relaxed), GEO.addr_of(0));
        // Producer: slots 2, 3 (fresh), then 0 → buffer 1, 1 → buffer 0.
        let got: [u16; 4] = core::array::from_fn(|_| p.alloc().unwrap());
        assert_eq!(got, [2, 3, 1, 0]);
    }

    #[test]
    fn parked_buffers_come_back_first() {
        let t = LocalTable::new(GEO);
        let p: Ring<_, 4> = Ring::new(&t, GEO);
        let b = p.alloc().unwrap();
        p.park(b);
        assert_eq!(p.outstanding(), 1);
        assert_eq!(p.alloc(), Ok(b));
        p.send(b, 3);
        assert_eq!(p.outstanding(), 0);
    }

    #[test]
    #[cfg(feature = "batch-free")]
    fn frees_are_written_in_batches_and_when_the_ring_runs_dry() {
        let geo = Geometry::new(8, 16, 0x1000).unwrap(); // batch: n/4 = 2
        let t = LocalTable::new(geo);
        let p: Ring<_, 8> = Ring::new(&t, geo);
        let c: Ring<_, 8> = Ring::new(&t, geo);
        for len in 1..=3 {
            let b = p.alloc().unwrap();
            p.send(b, len);
        }
        let got: Vec<u16> = (0..3).map(|_| c.try_recv().unwrap().0).collect();
        let freed = |slot: usize| t.flags[slot].load(Ordering::Relaxed) == AVAIL | USED;
        // Freed out of order: the first free waits, the second completes the batch.
        c.free(got[2]);
        assert!(!freed(0), "written before the batch was full");
        assert_eq!(c.outstanding(), 3, "a freed, unwritten buffer is still this side's");
        c.free(got[0]);
        assert!(freed(0) && freed(1));
        assert_eq!((&t).addr_len(0), (geo.addr_of(got[2]), 16), "oldest free first");
        assert_eq!((&t).addr_len(1), (geo.addr_of(got[0]), 16));
        // A lone free is written when a receive finds nothing more to read.
        c.free(got[1]);
        assert!(!freed(2));
        assert_eq!(c.try_recv(), Err(RingError::Empty));
        assert!(freed(2));
        assert_eq!(c.outstanding(), 0);
        // `flush_frees` writes at once.
        let b = p.alloc().unwrap();
        p.send(b, 4);
        let (b, _) = c.try_recv().unwrap();
        c.free(b);
        assert!(!freed(3));
        c.flush_frees();
        assert!(freed(3));
        // The producer gets every buffer back: the four it never used, then the freed
        // ones in the order their slots were written.
        let all: Vec<u16> = (0..8).map(|_| p.alloc().unwrap()).collect();
        assert_eq!(all[4..], [got[2], got[0], got[1], b]);
        assert_eq!(p.alloc(), Err(RingError::Empty));
        assert_eq!((p.faults(), c.faults()), (0, 0));
    }

    #[test]
    #[cfg(feature = "batch-free")]
    fn peek_next_names_the_next_filled_buffer_without_taking_it() {
        let t = LocalTable::new(GEO);
        let p: Ring<_, 4> = Ring::new(&t, GEO);
        let c: Ring<_, 4> = Ring::new(&t, GEO);
        assert_eq!(c.peek_next(), None);
        let b = p.alloc().unwrap();
        p.send(b, 1);
        assert_eq!(c.peek_next(), Some(b));
        assert_eq!(c.try_recv(), Ok((b, 1)), "peeking took nothing");
        // A garbage address is no hint (and is still caught when received).
        (&t).set_addr_len(1, 0xDEAD, 1);
        (&t).set_flags(1, filled_flags(true));
        assert_eq!(c.peek_next(), None);
        assert!(matches!(c.try_recv(), Err(RingError::Peer(PeerFault::BadAddress { .. }))));
    }

    #[test]
    #[cfg(feature = "reserve-ahead")]
    fn reserved_buffers_come_in_ring_order() {
        let geo = Geometry::new(8, 16, 0x1000).unwrap();
        let t = LocalTable::new(geo);
        let p: Ring<_, 8> = Ring::new(&t, geo);
        let c: Ring<_, 8> = Ring::new(&t, geo);
        let b = p.alloc().unwrap();
        p.send(b, 1);
        p.reserve_next(); // takes n/4 = 2 buffers ahead
        assert_eq!(p.outstanding(), 2);
        assert_eq!(t.flags[1].load(Ordering::Relaxed), 0, "reserving writes nothing");
        let got: Vec<u16> = (0..7).map(|_| p.alloc().unwrap()).collect();
        assert_eq!(got, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(p.alloc(), Err(RingError::Empty));
        for b in got {
            p.send(b, 2);
        }
        for _ in 0..8 {
            let (b, _) = c.try_recv().unwrap();
            c.free(b);
        }
        assert_eq!((p.faults(), c.faults()), (0, 0));
    }

    #[test]
    fn garbage_is_consumed_and_counted() {
        let t = LocalTable::new(GEO);
        let p: Ring<_, 4> = Ring::new(&t, GEO);
        let c: Ring<_, 4> = Ring::new(&t, GEO);
        for _ in 0..4 {
            let b = p.alloc().unwrap();
            p.send(b, 4);
        }
        t.addr[0].store(0x1008, Ordering::Relaxed); // misaligned
        t.addr[1].store(0x2000, Ordering::Relaxed); // outside
        t.len[2].store(17, Ordering::Relaxed); // too long
        t.addr[3].store(GEO.addr_of(3), Ordering::Relaxed);
        assert!(matches!(c.try_recv(), Err(RingError::Peer(PeerFault::BadAddress { slot: 0, .. }))));
        assert!(matches!(c.try_recv(), Err(RingError::Peer(PeerFault::BadAddress { slot: 1, .. }))));
        assert!(matches!(c.try_recv(), Err(RingError::Peer(PeerFault::BadLength { slot: 2, len: 17 }))));
        let (b3, _) = c.try_recv().unwrap();
        assert_eq!(b3, 3);
        assert_eq!(c.faults(), 3);
        c.free(b3);
        assert_eq!(c.outstanding(), 0);
    }
}
