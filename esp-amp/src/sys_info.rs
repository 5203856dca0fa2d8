//! SysInfo: the shared-memory directory (docs/protocol.md §2).
//!
//! Each pool is a linked list of 8-byte headers `{id: u16, size: u16, next: u32}` each
//! followed by its payload, starting with a sentinel `{0xFFFF, 0, next}`. Only the
//! maincore allocates ([`SysInfoAllocator`], created by resetting the pools); both cores
//! look entries up ([`SysInfo`]).
//!
//! The walk trusts nothing: every `next` must be 4-byte aligned, lie after the end of the
//! previous entry's payload and leave room for its own header and payload inside the pool.
//! Because addresses strictly increase, a corrupted chain cannot loop, and every read
//! goes through a [`Shm`] window limited to the pool.
//!
//! ```
//! use esp_amp::shm::Shm;
//! use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoId};
//! let mut mem = [0u32; 64];
//! // SAFETY: `mem` is aligned, valid and outlives `pool`.
//! let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 256) };
//! let mut alloc = SysInfoAllocator::init(pool, None).unwrap();
//! let block = alloc.alloc(SysInfoId(1), 3, Pool::Hp).unwrap();
//! block.shm().write_bytes(block.addr(), &[1, 2, 3]).unwrap();
//! // The subcore side:
//! let info = SysInfo::attach(pool, None);
//! let found = info.get(SysInfoId(1), Pool::Hp).unwrap();
//! assert_eq!((found.addr(), found.size()), (0x4087_A590, 3));
//! ```

use crate::shm::{round_up4, Shm, ShmError};

/// Size of an entry header.
pub const HEADER_SIZE: u32 = 8;

/// A SysInfo entry id.
///
/// ```
/// use esp_amp::sys_info::SysInfoId;
/// // Applications pick ids below 0xFF00; the rest are ESP-AMP's own (events, queues, ...).
/// assert!(!SysInfoId(0x0100).is_reserved());
/// assert!(SysInfoId::EVENT_MAIN.is_reserved());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SysInfoId(pub u16);

impl SysInfoId {
    /// Placeholder, unused.
    pub const RESERVED: Self = Self(0xFF00);
    /// Default event word, maincore → subcore (4 bytes, HP).
    pub const EVENT_MAIN: Self = Self(0xFF01);
    /// Default event word, subcore → maincore (4 bytes, HP).
    pub const EVENT_SUB: Self = Self(0xFF02);
    /// Default RPMsg device queues (HP, plus RTC with light sleep).
    pub const VQUEUE: Self = Self(0xFF03);
    /// Supplicant service queue (HP).
    pub const SYSTEM: Self = Self(0xFF04);
    /// Light-sleep counter (RTC).
    pub const PM: Self = Self(0xFF05);
    /// The sentinel id; never a valid entry id here.
    pub const SENTINEL: Self = Self(0xFFFF);

    /// `true` for ids in the range reserved for ESP-AMP itself (0xFF00..).
    pub const fn is_reserved(self) -> bool {
        self.0 >= 0xFF00
    }
}

/// Which pool an entry lives in.
///
/// ```
/// use esp_amp::sys_info::{Pool, SysInfoAllocator, SysInfoError, SysInfoId};
/// # use esp_amp::shm::Shm;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// let mut sys = SysInfoAllocator::init(pool, None).unwrap(); // no RTC pool (e.g. the P4)
/// sys.alloc(SysInfoId(0x100), 16, Pool::Hp).unwrap();
/// assert_eq!(sys.alloc(SysInfoId(0x101), 16, Pool::Rtc).err(), Some(SysInfoError::NoRtcPool));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// HP RAM pool (after the shared header); supports atomics.
    Hp,
    /// RTC RAM pool (LP-core chips only); no atomics.
    Rtc,
}

/// How a SysInfo chain is corrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Corruption {
    /// The first header is not the `{0xFFFF, 0}` sentinel (pool never initialised?).
    BadSentinel,
    /// `next` points outside the pool (or leaves no room for a header).
    NextOutOfPool,
    /// `next` is not 4-byte aligned.
    NextMisaligned,
    /// `next` points back into an earlier entry: a cycle or an overlap.
    NextOverlaps,
    /// The entry's payload runs past the end of the pool.
    PayloadOutOfPool,
}

/// SysInfo failures.
///
/// ```
/// use esp_amp::sys_info::{Pool, SysInfoAllocator, SysInfoError, SysInfoId};
/// # use esp_amp::shm::Shm;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// sys.alloc(SysInfoId(0x100), 16, Pool::Hp).unwrap();
/// assert_eq!(sys.alloc(SysInfoId(0x100), 16, Pool::Hp).err(), Some(SysInfoError::DuplicateId(SysInfoId(0x100))));
/// assert_eq!(sys.info().get(SysInfoId(0x102), Pool::Hp).err(), Some(SysInfoError::NotFound(SysInfoId(0x102))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SysInfoError {
    /// An entry with this id already exists in the pool.
    DuplicateId(SysInfoId),
    /// Not enough room left in the pool.
    PoolExhausted {
        /// Bytes asked for (entry header included).
        requested: u32,
        /// Bytes left in the pool.
        available: u32,
    },
    /// Sizes are stored as `u16`.
    SizeTooLarge(usize),
    /// 0xFFFF is the sentinel id and cannot be allocated.
    InvalidId(SysInfoId),
    /// No entry with this id.
    NotFound(SysInfoId),
    /// The entry exists but has the wrong size for its use.
    WrongSize {
        /// The entry.
        id: SysInfoId,
        /// The size the caller expects.
        expected: u16,
        /// The size the entry has.
        found: u16,
    },
    /// The RTC pool does not exist on this chip/configuration.
    NoRtcPool,
    /// The pool is too small or misaligned to hold a sentinel.
    BadPool(ShmError),
    /// The chain is corrupted at header address `at`.
    Corrupt {
        /// Device address of the bad entry header.
        at: u32,
        /// What is wrong with it.
        reason: Corruption,
    },
}

impl core::fmt::Display for SysInfoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            SysInfoError::DuplicateId(id) => write!(f, "SysInfo id 0x{:04x} already exists", id.0),
            SysInfoError::PoolExhausted { requested, available } => {
                write!(f, "SysInfo pool exhausted: {requested} bytes requested, {available} left")
            }
            SysInfoError::SizeTooLarge(s) => write!(f, "SysInfo size {s} does not fit in u16"),
            SysInfoError::InvalidId(id) => {
                write!(f, "SysInfo id 0x{:04x} is not allocatable", id.0)
            }
            SysInfoError::NotFound(id) => write!(f, "SysInfo id 0x{:04x} not found", id.0),
            SysInfoError::WrongSize { id, expected, found } => {
                write!(f, "SysInfo id 0x{:04x} has size {found}, expected {expected}", id.0)
            }
            SysInfoError::NoRtcPool => write!(f, "no RTC SysInfo pool on this configuration"),
            SysInfoError::BadPool(e) => write!(f, "unusable SysInfo pool: {e}"),
            SysInfoError::Corrupt { at, reason } => {
                write!(f, "SysInfo chain corrupted at 0x{at:08x}: {reason:?}")
            }
        }
    }
}

/// One entry's payload: `size` bytes at `addr` (the payload occupies `size` rounded up to 4).
///
/// ```
/// use esp_amp::sys_info::{Pool, SysInfoAllocator, SysInfoId};
/// # use esp_amp::shm::Shm;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// let made = sys.alloc(SysInfoId(0x100), 12, Pool::Hp).unwrap();
/// // The other core finds the same block by id: same device address, size as asked.
/// let found = sys.info().get(SysInfoId(0x100), Pool::Hp).unwrap();
/// assert_eq!((found.id(), found.addr(), found.size()), (SysInfoId(0x100), made.addr(), 12));
/// found.shm().write_u32(found.addr(), 42).unwrap();
/// assert_eq!(made.shm().read_u32(made.addr()), Ok(42));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Block<'r> {
    id: SysInfoId,
    size: u16,
    shm: Shm<'r>,
}

impl<'r> Block<'r> {
    /// The entry id.
    pub fn id(&self) -> SysInfoId {
        self.id
    }
    /// The size given to alloc (unrounded).
    pub fn size(&self) -> u16 {
        self.size
    }
    /// Device address of the payload (4-byte aligned).
    pub fn addr(&self) -> u32 {
        self.shm.device_base()
    }
    /// A window limited to the payload (rounded up to a multiple of 4 bytes).
    pub fn shm(&self) -> Shm<'r> {
        self.shm
    }
    /// Checks that the entry has exactly `expected` bytes.
    pub fn expect_size(self, expected: u16) -> Result<Self, SysInfoError> {
        if self.size == expected {
            Ok(self)
        } else {
            Err(SysInfoError::WrongSize { id: self.id, expected, found: self.size })
        }
    }
}

/// Read-only view of the SysInfo pools (both cores).
///
/// ```
/// use esp_amp::sys_info::{Pool, SysInfo, SysInfoId};
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # sys.alloc(SysInfoId(0x200), 8, Pool::Hp).unwrap();
/// // The subcore's view: the pool the maincore initialised (`SysInfo::attach(pool, None)`
/// // on the subcore). Every entry is checked as it is walked.
/// let info: SysInfo = sys.info();
/// let ids: Vec<_> = info.entries(Pool::Hp).unwrap().map(|e| e.unwrap().id()).collect();
/// assert_eq!(ids, [SysInfoId(0x200)]);
/// assert!(info.get(SysInfoId(0x300), Pool::Hp).is_err());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SysInfo<'r> {
    hp: Shm<'r>,
    rtc: Option<Shm<'r>>,
}

impl<'r> SysInfo<'r> {
    /// Views the pools: `hp` must be the window `[POOL_START, SHARED_END)`, `rtc` the RTC
    /// pool if the configuration has one. Nothing is read until a lookup.
    pub fn attach(hp: Shm<'r>, rtc: Option<Shm<'r>>) -> Self {
        SysInfo { hp, rtc }
    }

    fn pool(&self, pool: Pool) -> Result<Shm<'r>, SysInfoError> {
        match pool {
            Pool::Hp => Ok(self.hp),
            Pool::Rtc => self.rtc.ok_or(SysInfoError::NoRtcPool),
        }
    }

    /// The entries of `pool` in list order, each validated; iteration stops after the
    /// first error.
    pub fn entries(&self, pool: Pool) -> Result<Entries<'r>, SysInfoError> {
        Ok(Entries::new(self.pool(pool)?))
    }

    /// Finds the first entry with `id` in `pool`.
    pub fn get(&self, id: SysInfoId, pool: Pool) -> Result<Block<'r>, SysInfoError> {
        let mut entries = self.entries(pool)?;
        loop {
            match entries.next() {
                Some(Ok(entry)) if entry.id == id => return Ok(entry),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Err(SysInfoError::NotFound(id)),
            }
        }
    }
}

/// Iterator over the validated entries of one pool.
pub struct Entries<'r> {
    pool: Shm<'r>,
    /// Header address of the next entry (0 = end).
    next: u32,
    /// Lowest address the next header may have (end of the previous payload).
    min_next: u32,
    bad_sentinel: bool,
    failed: bool,
}

impl<'r> Entries<'r> {
    fn new(pool: Shm<'r>) -> Self {
        let base = pool.device_base();
        // The sentinel: id 0xFFFF, size 0 (`{id: u16, size: u16}` as one word), next.
        match pool.read_words::<2>(base) {
            Ok([head, next]) if head == u32::from(SysInfoId::SENTINEL.0) => {
                Entries { pool, next, min_next: base + HEADER_SIZE, bad_sentinel: false, failed: false }
            }
            _ => Entries { pool, next: base, min_next: base, bad_sentinel: true, failed: false },
        }
    }

    fn corrupt(&mut self, reason: Corruption) -> Option<Result<Block<'r>, SysInfoError>> {
        self.failed = true;
        Some(Err(SysInfoError::Corrupt { at: self.next, reason }))
    }

    /// In one walk: fails if `id` is already present, else returns the header address
    /// of the last valid entry (or the sentinel) and the end of its payload.
    fn tail_without(pool: Shm<'r>, id: SysInfoId) -> Result<(u32, u32), SysInfoError> {
        let mut tail = (pool.device_base(), pool.device_base() + HEADER_SIZE);
        for e in Entries::new(pool) {
            let e = e?;
            if e.id == id {
                return Err(SysInfoError::DuplicateId(id));
            }
            tail = (e.addr() - HEADER_SIZE, e.addr() + e.shm().len());
        }
        Ok(tail)
    }
}

impl<'r> Iterator for Entries<'r> {
    type Item = Result<Block<'r>, SysInfoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next == 0 {
            return None;
        }
        if self.bad_sentinel {
            return self.corrupt(Corruption::BadSentinel);
        }
        let at = self.next;
        if at < self.min_next {
            return self.corrupt(Corruption::NextOverlaps);
        }
        if at % 4 != 0 {
            return self.corrupt(Corruption::NextMisaligned);
        }
        // Two word reads: one two-word read (`read_words::<2>`) links 160 bytes more into
        // the subcore examples (measured with the pinned nightly), reading `id` and `size`
        // as halves 16 bytes more (stable 1.99.1, `cargo xtask esp32`).
        let header = (|| -> Result<(u32, u32), ShmError> {
            Ok((self.pool.read_u32(at)?, self.pool.read_u32(at + 4)?))
        })();
        let Ok((head, next)) = header else {
            return self.corrupt(Corruption::NextOutOfPool);
        };
        // `{id: u16, size: u16}`, little-endian, as one word (`at` is 4-aligned).
        let (id, size) = (head as u16, (head >> 16) as u16);
        // `at + 8` cannot overflow: the header was read inside the pool.
        let payload = at + HEADER_SIZE;
        let Some(block) = round_up4(size as u32).and_then(|len| self.pool.slice(payload, len).ok()) else {
            return self.corrupt(Corruption::PayloadOutOfPool);
        };
        self.min_next = block.device_end();
        self.next = next;
        Some(Ok(Block { id: SysInfoId(id), size, shm: block }))
    }
}

/// The maincore's SysInfo: the only way to (re)initialise the pools and allocate.
///
/// ```
/// use esp_amp::sys_info::{Pool, SysInfoId};
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// // The maincore allocates named blocks; the subcore finds them by id.
/// let block = sys.alloc(SysInfoId(0x200), 16, Pool::Hp).unwrap();
/// let found = sys.info().get(SysInfoId(0x200), Pool::Hp).unwrap();
/// assert_eq!((found.addr(), found.size()), (block.addr(), 16));
/// assert!(sys.alloc(SysInfoId(0x200), 16, Pool::Hp).is_err()); // ids are unique
/// ```
#[derive(Debug)]
pub struct SysInfoAllocator<'r> {
    info: SysInfo<'r>,
}

impl<'r> SysInfoAllocator<'r> {
    /// Resets the pools by writing a sentinel at the start of each (old entries are
    /// orphaned, payloads are not cleared), as `esp_amp_sys_info_init` does.
    pub fn init(hp: Shm<'r>, rtc: Option<Shm<'r>>) -> Result<Self, SysInfoError> {
        for pool in [Some(hp), rtc].into_iter().flatten() {
            let base = pool.device_base();
            pool.write_u16(base, SysInfoId::SENTINEL.0).map_err(SysInfoError::BadPool)?;
            pool.write_u16(base + 2, 0).map_err(SysInfoError::BadPool)?;
            pool.write_u32(base + 4, 0).map_err(SysInfoError::BadPool)?;
        }
        Ok(SysInfoAllocator { info: SysInfo::attach(hp, rtc) })
    }

    /// The read-only view (what the subcore sees).
    pub fn info(&self) -> SysInfo<'r> {
        self.info
    }

    /// Allocates `size` bytes under `id` in `pool`. The payload is not cleared.
    pub fn alloc(&mut self, id: SysInfoId, size: usize, pool: Pool) -> Result<Block<'r>, SysInfoError> {
        if id == SysInfoId::SENTINEL {
            return Err(SysInfoError::InvalidId(id));
        }
        let size16 = u16::try_from(size).map_err(|_| SysInfoError::SizeTooLarge(size))?;
        let shm = self.info.pool(pool)?;
        let (tail, header) = Entries::tail_without(shm, id)?;
        // `round_up4` of a u16 cannot overflow; `header` is inside or at the end of the pool.
        let payload_len = round_up4(size16 as u32).unwrap_or(u32::MAX);
        let available = shm.device_end().saturating_sub(header).saturating_sub(HEADER_SIZE);
        if payload_len > available || shm.device_end() - header < HEADER_SIZE {
            return Err(SysInfoError::PoolExhausted { requested: payload_len, available });
        }
        let w = |r: Result<(), ShmError>| r.map_err(SysInfoError::BadPool);
        w(shm.write_u32(header + 4, 0))?;
        w(shm.write_u16(header, id.0))?;
        w(shm.write_u16(header + 2, size16))?;
        // Link last, so that a reader never follows a pointer to a half-written header.
        core::sync::atomic::fence(core::sync::atomic::Ordering::Release);
        w(shm.write_u32(tail + 4, header))?;
        let block = shm.slice(header + HEADER_SIZE, payload_len).map_err(SysInfoError::BadPool)?;
        Ok(Block { id, size: size16, shm: block })
    }
}

impl core::error::Error for SysInfoError {}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u32 = 0x4087_A580;

    fn pool(mem: &mut [u32]) -> Shm<'_> {
        let len = (mem.len() * 4) as u32;
        // SAFETY: the slice is aligned, valid and outlives the handle.
        unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), BASE, len) }
    }

    #[test]
    fn alloc_lookup_duplicate_exhausted() {
        let mut mem = [0u32; 16];
        let hp = pool(&mut mem);
        let mut a = SysInfoAllocator::init(hp, None).unwrap();
        let b1 = a.alloc(SysInfoId(1), 5, Pool::Hp).unwrap();
        assert_eq!(b1.addr(), BASE + 16);
        assert_eq!(b1.shm().len(), 8);
        assert_eq!(a.alloc(SysInfoId(1), 4, Pool::Hp).unwrap_err(), SysInfoError::DuplicateId(SysInfoId(1)));
        let b2 = a.alloc(SysInfoId(2), 0, Pool::Hp).unwrap();
        assert_eq!(b2.addr(), BASE + 32);
        // 64 bytes: 8 sentinel + 16 + 8 used, 32 left = header 8 + 24 payload.
        assert!(matches!(a.alloc(SysInfoId(3), 25, Pool::Hp), Err(SysInfoError::PoolExhausted { .. })));
        let b3 = a.alloc(SysInfoId(3), 24, Pool::Hp).unwrap();
        assert_eq!(b3.shm().device_end(), BASE + 64);
        assert!(matches!(a.alloc(SysInfoId(4), 0, Pool::Hp), Err(SysInfoError::PoolExhausted { .. })));
        assert_eq!(a.alloc(SysInfoId(5), 70000, Pool::Hp).unwrap_err(), SysInfoError::SizeTooLarge(70000));
        assert_eq!(
            a.alloc(SysInfoId::SENTINEL, 4, Pool::Hp).unwrap_err(),
            SysInfoError::InvalidId(SysInfoId::SENTINEL)
        );
        assert_eq!(a.alloc(SysInfoId(6), 4, Pool::Rtc).unwrap_err(), SysInfoError::NoRtcPool);
        let info = SysInfo::attach(hp, None);
        assert_eq!(info.get(SysInfoId(2), Pool::Hp).unwrap().size(), 0);
        assert_eq!(info.get(SysInfoId(9), Pool::Hp).unwrap_err(), SysInfoError::NotFound(SysInfoId(9)));
        assert_eq!(info.entries(Pool::Hp).unwrap().count(), 3);
    }

    #[test]
    fn rtc_pool_is_separate() {
        let (mut hp_mem, mut rtc_mem) = ([0u32; 16], [0xFFFF_FFFFu32; 16]);
        let hp = pool(&mut hp_mem);
        // SAFETY: the array is aligned, valid and outlives the handle.
        let rtc = unsafe { Shm::from_raw(rtc_mem.as_mut_ptr().cast(), 0x5000_0F00, 64) };
        let mut a = SysInfoAllocator::init(hp, Some(rtc)).unwrap();
        let pm = a.alloc(SysInfoId::PM, 4, Pool::Rtc).unwrap();
        assert_eq!(pm.addr(), 0x5000_0F10);
        // The same id may exist once per pool (the light-sleep queue layout relies on it).
        a.alloc(SysInfoId::PM, 4, Pool::Hp).unwrap();
        assert_eq!(
            a.alloc(SysInfoId::PM, 4, Pool::Rtc).unwrap_err(),
            SysInfoError::DuplicateId(SysInfoId::PM)
        );
        let info = SysInfo::attach(hp, Some(rtc));
        assert_eq!(info.get(SysInfoId::PM, Pool::Rtc).unwrap().addr(), 0x5000_0F10);
        assert_eq!(info.get(SysInfoId::PM, Pool::Hp).unwrap().addr(), BASE + 16);
        assert_eq!(info.entries(Pool::Rtc).unwrap().count(), 1);
    }

    #[test]
    fn uninitialised_pool_is_an_error() {
        let mut mem = [0u32; 16];
        let info = SysInfo::attach(pool(&mut mem), None);
        assert_eq!(
            info.get(SysInfoId(1), Pool::Hp).unwrap_err(),
            SysInfoError::Corrupt { at: BASE, reason: Corruption::BadSentinel }
        );
    }

    #[test]
    fn corrupted_chains() {
        let cases: [(u32, Corruption); 4] = [
            (BASE, Corruption::NextOverlaps), // cycle back to the sentinel
            (BASE + 22, Corruption::NextMisaligned),
            (BASE + 60, Corruption::NextOutOfPool), // header would cross the end
            (0x1000, Corruption::NextOverlaps),     // below the pool
        ];
        for (next, reason) in cases {
            let mut mem = [0u32; 16];
            let hp = pool(&mut mem);
            let mut a = SysInfoAllocator::init(hp, None).unwrap();
            let b = a.alloc(SysInfoId(1), 4, Pool::Hp).unwrap();
            hp.write_u32(b.addr() - 4, next).unwrap();
            let err = a.info().get(SysInfoId(7), Pool::Hp).unwrap_err();
            assert_eq!(err, SysInfoError::Corrupt { at: next, reason }, "next = 0x{next:x}");
            assert!(matches!(a.alloc(SysInfoId(2), 4, Pool::Hp), Err(SysInfoError::Corrupt { .. })));
        }
        // A size that runs the payload past the pool end.
        let mut mem = [0u32; 16];
        let hp = pool(&mut mem);
        let mut a = SysInfoAllocator::init(hp, None).unwrap();
        let b = a.alloc(SysInfoId(1), 4, Pool::Hp).unwrap();
        hp.write_u16(b.addr() - 6, 0xFFF0).unwrap();
        assert_eq!(
            a.info().get(SysInfoId(7), Pool::Hp).unwrap_err(),
            SysInfoError::Corrupt { at: BASE + 8, reason: Corruption::PayloadOutOfPool }
        );
    }
}
