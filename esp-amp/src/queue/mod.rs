//! The single-producer single-consumer packed virtqueue (docs/protocol.md §5), zero-copy.
//!
//! Shared layout (byte-compatible with ESP-AMP C): a 12-byte configuration
//! `{len: u16, item_size: u16, queue_buffer: u32, queue_desc: u32}`, `len` descriptors
//! `{addr: u32, len: u16, flags: u16}` and `len` buffers of `item_size` bytes.
//!
//! The two ends are different types. A [`Producer`] hands out [`TxBuf`] guards: write into
//! the buffer, then [`TxBuf::send`] it; a guard dropped unsent is kept for the next
//! [`Producer::alloc`], so no slot is ever lost. A [`Consumer`] hands out [`RxBuf`] guards
//! that give the buffer back to the producer when dropped, in any order. A sent buffer is
//! gone from the producer's hands (`send` takes the guard by value):
//!
//! ```compile_fail
//! # fn f(p: &esp_amp::queue::Producer<'_>) {
//! let mut buf = p.alloc().unwrap();
//! buf.send(0).unwrap();
//! buf[0] = 1; // error: `buf` was moved by `send`
//! # }
//! ```
//!
//! and a consumer cannot send:
//!
//! ```compile_fail
//! # fn f(c: &esp_amp::queue::Consumer<'_>) {
//! let buf = c.alloc(); // error: no method `alloc` on `Consumer`
//! # }
//! ```
//!
//! and a received buffer cannot outlive its consumer (it would free into a dead ring):
//!
//! ```compile_fail
//! # fn f(info: &esp_amp::sys_info::SysInfo<'_>) {
//! let buf = {
//!     let c: esp_amp::queue::Consumer<'_> = esp_amp::queue::Consumer::attach(info, esp_amp::sys_info::SysInfoId(1)).unwrap();
//!     c.try_recv().unwrap() // error: `c` does not live long enough
//! };
//! # }
//! ```
//!
//! These rules, and the same ones for RPMsg messages, RPC calls and the sealed [`Role`],
//! are pinned with the compiler's exact error by the compile-fail tests in
//! `esp-amp/tests/ui`.
//!
//! [`Role`]: crate::Role
//!
//! Everything the peer writes is checked: a descriptor must name one of this queue's
//! buffers (inside its buffer area, on an item boundary, not already held here) with a
//! length of at most `item_size`. Anything else is consumed, counted
//! ([`Producer::faults`], [`Consumer::faults`]) and returned as [`QueueError::Peer`].
//!
//! ```
//! use esp_amp::queue::{Consumer, Placement, Producer, QueueSpec};
//! use esp_amp::shm::Shm;
//! use esp_amp::sys_info::{SysInfoAllocator, SysInfoId};
//! let mut mem = [0u32; 128];
//! // SAFETY: `mem` is aligned, valid and outlives `pool`.
//! let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 512) };
//! let mut sys = SysInfoAllocator::init(pool, None).unwrap();
//! let spec = QueueSpec::new(4, 16).unwrap();
//! // Maincore: creates the queue and is its consumer.
//! let rx: Consumer = Consumer::create(&mut sys, SysInfoId(0x100), spec).unwrap();
//! // Subcore: finds it and produces.
//! let tx: Producer = Producer::attach(&sys.info(), SysInfoId(0x100)).unwrap();
//! let mut buf = tx.alloc().unwrap();
//! buf.bytes_mut().write(0, b"hello").unwrap(); // volatile stores into shared memory
//! buf.send(5).unwrap();
//! let got = rx.try_recv().unwrap();
//! assert_eq!(got.bytes(), b"hello"); // a view; `copy_to` to keep a private copy
//! drop(got); // back to the producer
//! ```

pub mod ring;

use crate::payload::{PeerBytes, PeerBytesMut};
use core::future::poll_fn;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use core::task::Poll;

pub use ring::PeerFault;
use ring::{DescTable, Geometry, Ring, RingError};

use crate::event::Trigger;
use crate::port::Platform;
use crate::shm::{round_up4, Shm, ShmError};
use crate::signal::IrqSignal;
use crate::sw_intr::{SwIntrHandler, SwIntrId};
use crate::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoError, SysInfoId};

/// Size of the shared queue configuration.
pub const CONF_SIZE: u32 = 12;
/// Size of one descriptor.
pub const DESC_SIZE: u32 = 8;
/// Largest queue length C accepts (before the SysInfo `u16` size limit).
pub const MAX_LEN: u32 = 32768;

/// Queue failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum QueueError {
    /// Length 0 or above 32768, or an item size that rounds to 0 or past 65532.
    InvalidSpec {
        /// The queue length asked for.
        len: u32,
        /// The item size asked for.
        item_size: u32,
    },
    /// The SysInfo block would exceed 65535 bytes (C silently truncates it).
    BlockTooLarge {
        /// The size the block would have.
        bytes: u32,
    },
    /// The queue has more buffers than this end's `CAP` can track.
    TooLong {
        /// The queue's length.
        len: u16,
        /// The buffers this end's `CAP` tracks.
        capacity: usize,
    },
    /// The shared configuration read at attach is unusable.
    BadConf(ConfFault),
    /// A SysInfo lookup or allocation failed.
    SysInfo(SysInfoError),
    /// Producer: every buffer is in use.
    Full,
    /// Consumer: nothing to receive.
    Empty,
    /// `len` is larger than the item size `max`.
    TooLarge {
        /// The length asked for.
        len: usize,
        /// The item size.
        max: usize,
    },
    /// A blocking call gave up.
    Timeout,
    /// The peer wrote garbage into the next slot; it was consumed and counted.
    Peer(PeerFault),
}

/// What is wrong with a shared queue configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfFault {
    /// `len` is 0 or not a power of two.
    BadLen(u16),
    /// `item_size` is 0 or not a multiple of 4.
    BadItemSize(u16),
    /// The descriptor table is not inside the queue's SysInfo block (HP or RTC).
    DescOutside(u32),
    /// The buffer area is not inside the queue's SysInfo block.
    BuffersOutside(u32),
    /// Configuration, descriptors and buffers (of this or a paired queue) overlap.
    Overlap,
    /// The configuration itself is not readable.
    Unreadable(ShmError),
}

impl core::fmt::Display for ConfFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ConfFault::BadLen(n) => write!(f, "length {n} is 0 or not a power of two"),
            ConfFault::BadItemSize(s) => write!(f, "item size {s} is 0 or not a multiple of 4"),
            ConfFault::DescOutside(a) => {
                write!(f, "descriptor table at 0x{a:08x} is outside the queue's SysInfo block")
            }
            ConfFault::BuffersOutside(a) => {
                write!(f, "buffer area at 0x{a:08x} is outside the queue's SysInfo block")
            }
            ConfFault::Overlap => f.write_str("configuration, descriptors and buffers overlap"),
            ConfFault::Unreadable(e) => write!(f, "configuration not readable: {e}"),
        }
    }
}

impl core::error::Error for ConfFault {}

impl core::fmt::Display for QueueError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            QueueError::InvalidSpec { len, item_size } => {
                write!(f, "invalid queue: length {len} (1..=32768), item size {item_size} (1..=65532)")
            }
            QueueError::BlockTooLarge { bytes } => {
                write!(f, "queue needs {bytes} bytes, more than a SysInfo block can hold (65535)")
            }
            QueueError::TooLong { len, capacity } => {
                write!(f, "queue has {len} buffers but this end tracks at most {capacity} (raise CAP)")
            }
            QueueError::BadConf(c) => write!(f, "bad shared queue configuration: {c}"),
            QueueError::SysInfo(e) => write!(f, "{e}"),
            QueueError::Full => f.write_str("queue full"),
            QueueError::Empty => f.write_str("queue empty"),
            QueueError::TooLarge { len, max } => write!(f, "{len} bytes exceed the item size {max}"),
            QueueError::Timeout => f.write_str("timed out"),
            QueueError::Peer(p) => write!(f, "peer fault: {p}"),
        }
    }
}

impl core::error::Error for QueueError {}

impl From<SysInfoError> for QueueError {
    fn from(e: SysInfoError) -> Self {
        QueueError::SysInfo(e)
    }
}

impl From<RingError> for QueueError {
    fn from(e: RingError) -> Self {
        match e {
            RingError::Empty => QueueError::Empty,
            RingError::Peer(p) => QueueError::Peer(p),
        }
    }
}

/// Length and item size after C's rounding (docs/protocol.md §5.2).
///
/// ```
/// use esp_amp::queue::{QueueError, QueueSpec};
/// let spec = QueueSpec::new(16, 64).unwrap(); // 16 buffers of 64 bytes
/// assert_eq!((spec.capacity(), spec.item_size()), (16, 64));
/// assert!(matches!(QueueSpec::new(0, 64), Err(QueueError::InvalidSpec { .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSpec {
    len: u16,
    item_size: u16,
}

/// Where the maincore puts a queue it produces into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// Configuration, descriptors and buffers in one HP block.
    #[default]
    Normal,
    /// The light-sleep placement: descriptors in an RTC block with the same id, so the
    /// LP core can look at them while HP RAM sleeps (LP-core chips only).
    DescriptorsInRtc,
}

impl QueueSpec {
    /// Rounds `len` up to a power of two and `item_size` up to a multiple of 4.
    ///
    /// ```
    /// use esp_amp::queue::QueueSpec;
    /// let s = QueueSpec::new(5, 13).unwrap();
    /// assert_eq!((s.capacity(), s.item_size()), (8, 16));
    /// assert!(QueueSpec::new(0, 16).is_err());
    /// ```
    pub fn new(len: u32, item_size: u32) -> Result<Self, QueueError> {
        let bad = QueueError::InvalidSpec { len, item_size };
        if len == 0 || len > MAX_LEN {
            return Err(bad);
        }
        let s = round_up4(item_size).filter(|&s| s != 0 && s <= 0xFFFC).ok_or(bad)?;
        Ok(QueueSpec { len: len.next_power_of_two() as u16, item_size: s as u16 })
    }

    /// Number of buffers (a power of two).
    pub fn capacity(&self) -> u16 {
        self.len
    }

    /// Bytes per buffer (a multiple of 4).
    pub fn item_size(&self) -> u16 {
        self.item_size
    }

    fn desc_bytes(&self) -> u32 {
        DESC_SIZE * u32::from(self.len)
    }

    fn buf_bytes(&self) -> u32 {
        u32::from(self.item_size) * u32::from(self.len)
    }

    /// Bytes of the HP block and of the RTC block (0 for [`Placement::Normal`]).
    pub fn block_sizes(&self, placement: Placement) -> Result<(u16, u16), QueueError> {
        let (hp, rtc) = match placement {
            Placement::Normal => (CONF_SIZE + self.desc_bytes() + self.buf_bytes(), 0),
            Placement::DescriptorsInRtc => (CONF_SIZE + self.buf_bytes(), self.desc_bytes()),
        };
        let fit = |b: u32| u16::try_from(b).map_err(|_| QueueError::BlockTooLarge { bytes: b });
        Ok((fit(hp)?, fit(rtc)?))
    }
}

/// A half-open device address range, for overlap checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    pub(crate) fn disjoint(spans: &[Span]) -> bool {
        spans
            .iter()
            .enumerate()
            .all(|(i, a)| spans[i + 1..].iter().all(|b| a.end <= b.start || b.end <= a.start))
    }
}

/// Writes a queue's configuration and initial descriptors (docs/protocol.md §5.1): what
/// `queue_main_init` does once the blocks exist. Buffers are not cleared.
pub(crate) fn write_queue(
    conf: Shm<'_>,
    conf_addr: u32,
    descs: Shm<'_>,
    desc_addr: u32,
    buf_addr: u32,
    spec: QueueSpec,
) -> Result<(), ShmError> {
    conf.write_u16(conf_addr, spec.len)?;
    conf.write_u16(conf_addr + 2, spec.item_size)?;
    conf.write_u32(conf_addr + 4, buf_addr)?;
    conf.write_u32(conf_addr + 8, desc_addr)?;
    for i in 0..u32::from(spec.len) {
        let d = desc_addr + i * DESC_SIZE;
        descs.write_u32(d, buf_addr + i * u32::from(spec.item_size))?;
        descs.write_u16(d + 4, spec.item_size)?;
        descs.write_u16(d + 6, 0)?;
    }
    Ok(())
}

/// A validated view of one queue in shared memory.
pub(crate) struct Attached<'r> {
    pub descs: ShmDescs<'r>,
    pub geo: Geometry,
    pub bufs: NonNull<u8>,
    pub conf_addr: u32,
    /// Device address of the checked descriptor table (see [`desc_window`]).
    pub desc_addr: u32,
}

/// The block that holds `bytes` of descriptors at `desc_addr`: the queue's HP `block`, or
/// its RTC block in the light-sleep placement.
pub(crate) fn desc_window<'r>(
    block: Shm<'r>,
    rtc: Option<Shm<'r>>,
    desc_addr: u32,
    bytes: u32,
) -> Option<Shm<'r>> {
    if block.contains(desc_addr, bytes) {
        Some(block)
    } else {
        rtc.filter(|r| r.contains(desc_addr, bytes))
    }
}

impl Attached<'_> {
    /// Configuration, descriptors, buffers (device addresses), for overlap checks. None
    /// overflows: each lies inside a region whose end fits in `u32`.
    pub fn spans(&self) -> [Span; 3] {
        let n = u32::from(self.geo.n);
        let span = |start: u32, len: u32| Span { start, end: start + len };
        [
            span(self.conf_addr, CONF_SIZE),
            span(self.desc_addr, DESC_SIZE * n),
            span(self.geo.buf_base, u32::from(self.geo.s) * n),
        ]
    }
}

/// Reads and checks the configuration at `conf_addr` inside `block` (the queue's HP
/// SysInfo block); descriptors may instead be in `rtc` (its RTC block), as the C subcore
/// follows `queue_desc` wherever it points.
pub(crate) fn attach_queue_unchecked<'r>(
    block: Shm<'r>,
    conf_addr: u32,
    rtc: Option<Shm<'r>>,
    cap: usize,
) -> Result<Attached<'r>, QueueError> {
    let bad = |f| QueueError::BadConf(f);
    let rd = |e| bad(ConfFault::Unreadable(e));
    // `{len: u16, item_size: u16}`, `queue_buffer`, `queue_desc`.
    let [sizes, buf_addr, desc_addr] = block.read_words::<3>(conf_addr).map_err(rd)?;
    let (n, s) = (sizes as u16, (sizes >> 16) as u16);
    if !n.is_power_of_two() {
        return Err(bad(ConfFault::BadLen(n)));
    }
    if s == 0 || s % 4 != 0 {
        return Err(bad(ConfFault::BadItemSize(s)));
    }
    if usize::from(n) > cap {
        return Err(QueueError::TooLong { len: n, capacity: cap });
    }
    let desc_bytes = DESC_SIZE * u32::from(n);
    let buf_bytes = u32::from(s) * u32::from(n);
    let desc_outside = bad(ConfFault::DescOutside(desc_addr));
    let descs = match (block.local_ptr(desc_addr, desc_bytes, 4), rtc) {
        (Ok(p), _) => p,
        (Err(_), Some(rtc)) => rtc.local_ptr(desc_addr, desc_bytes, 4).map_err(|_| desc_outside)?,
        (Err(_), None) => return Err(desc_outside),
    };
    let buffers_outside = bad(ConfFault::BuffersOutside(buf_addr));
    // A SysInfo block holds at most 64 KiB, and `Geometry::index_of` relies on it.
    if buf_bytes > 0x1_0000 {
        return Err(buffers_outside);
    }
    let bufs = block.local_ptr(buf_addr, buf_bytes, 4).map_err(|_| buffers_outside)?;
    let a = Attached {
        // SAFETY: `descs` was checked above to cover `8·n` bytes, 4-byte aligned, inside a
        // region valid for `'r`.
        descs: unsafe { ShmDescs::new(descs) },
        // `n` and `s` were checked above, and the `n·s <= 64 KiB` bytes at `buf_addr` lie
        // in `block`, so inside the address space.
        geo: Geometry::from_checked(n, s, buf_addr),
        bufs: NonNull::new(bufs).ok_or(buffers_outside)?,
        conf_addr,
        desc_addr,
    };
    Ok(a)
}

/// [`attach_queue_unchecked`] plus the check that the queue's three areas are disjoint.
pub(crate) fn attach_queue<'r>(
    block: Shm<'r>,
    conf_addr: u32,
    rtc: Option<Shm<'r>>,
    cap: usize,
) -> Result<Attached<'r>, QueueError> {
    let a = attach_queue_unchecked(block, conf_addr, rtc, cap)?;
    // Descriptors are written atomically while buffers are handed out as slices: the two
    // must never alias.
    if !Span::disjoint(&a.spans()) {
        return Err(QueueError::BadConf(ConfFault::Overlap));
    }
    Ok(a)
}

/// The descriptor table of a queue in shared memory.
pub(crate) struct ShmDescs<'r> {
    base: NonNull<u8>,
    _region: PhantomData<&'r ()>,
}

impl ShmDescs<'_> {
    /// # Safety
    /// `base` must be 4-byte aligned and valid for reads and writes of `8·n` bytes of
    /// shared memory for `'r`, where `n` is the queue length used with it, and that memory
    /// is only accessed atomically.
    unsafe fn new(base: *mut u8) -> Self {
        ShmDescs { base: NonNull::new(base).expect("checked non-null"), _region: PhantomData }
    }

    #[inline]
    fn field(&self, slot: u16, off: usize) -> *mut u8 {
        // SAFETY: `slot < n` (the ring masks it) and `off < 8`, so the result is inside
        // the table (contract of `new`).
        unsafe { self.base.as_ptr().add(usize::from(slot) * 8 + off) }
    }

    #[inline]
    fn half(&self, slot: u16, off: usize) -> &AtomicU16 {
        // SAFETY: in bounds (see `field`), 2-byte aligned (4-aligned base, even offset),
        // shared memory accessed only atomically (contract of `new`).
        unsafe { AtomicU16::from_ptr(self.field(slot, off).cast()) }
    }

    #[inline]
    fn word(&self, slot: u16) -> &AtomicU32 {
        // SAFETY: in bounds, 4-byte aligned (4-aligned base, offset 8·slot), only accessed
        // atomically (contract of `new`).
        unsafe { AtomicU32::from_ptr(self.field(slot, 0).cast()) }
    }
}

impl DescTable for ShmDescs<'_> {
    #[inline]
    fn flags(&self, slot: u16) -> u16 {
        u16::from_le(self.half(slot, 6).load(Ordering::Acquire))
    }
    #[inline]
    fn set_flags(&self, slot: u16, flags: u16) {
        self.half(slot, 6).store(flags.to_le(), Ordering::Release)
    }
    #[inline]
    fn addr_len(&self, slot: u16) -> (u32, u16) {
        (
            u32::from_le(self.word(slot).load(Ordering::Relaxed)),
            u16::from_le(self.half(slot, 4).load(Ordering::Relaxed)),
        )
    }
    #[inline]
    fn set_addr_len(&self, slot: u16, addr: u32, len: u16) {
        self.word(slot).store(addr.to_le(), Ordering::Relaxed);
        self.half(slot, 4).store(len.to_le(), Ordering::Relaxed);
    }
}

/// State shared by both ends: the ring and the local mapping of the buffers.
struct End<'r, const CAP: usize> {
    ring: Ring<ShmDescs<'r>, CAP>,
    bufs: NonNull<u8>,
}

impl<'r, const CAP: usize> End<'r, CAP> {
    fn new(a: Attached<'r>) -> Self {
        End { ring: Ring::new(a.descs, a.geo), bufs: a.bufs }
    }

    /// Buffer `idx` as a raw slice of `item_size` bytes.
    #[inline]
    fn buf(&self, idx: u16) -> *mut u8 {
        let s = usize::from(self.ring.geometry().s);
        // SAFETY: `idx < n` (it comes from the ring) and the buffer area of `n·s` bytes was
        // checked at attach, so the offset stays inside it.
        unsafe { self.bufs.as_ptr().add(usize::from(idx) * s) }
    }
}

fn locate<'r>(info: &SysInfo<'r>, id: SysInfoId) -> Result<(Shm<'r>, Option<Shm<'r>>), QueueError> {
    let block = info.get(id, Pool::Hp)?;
    let rtc = info.get(id, Pool::Rtc).ok().map(|b| b.shm());
    Ok((block.shm(), rtc))
}

fn create_blocks<'r>(
    sys: &mut SysInfoAllocator<'r>,
    id: SysInfoId,
    spec: QueueSpec,
    placement: Placement,
) -> Result<(), QueueError> {
    let (hp_size, rtc_size) = spec.block_sizes(placement)?;
    let hp = sys.alloc(id, usize::from(hp_size), Pool::Hp)?;
    let conf = hp.addr();
    let (descs, desc_addr, buf_addr) = match placement {
        Placement::Normal => (hp.shm(), conf + CONF_SIZE, conf + CONF_SIZE + spec.desc_bytes()),
        Placement::DescriptorsInRtc => {
            let rtc = sys.alloc(id, usize::from(rtc_size), Pool::Rtc)?;
            (rtc.shm(), rtc.addr(), conf + CONF_SIZE)
        }
    };
    write_queue(hp.shm(), conf, descs, desc_addr, buf_addr, spec)
        .map_err(|e| QueueError::BadConf(ConfFault::Unreadable(e)))
}

/// The accessors both ends share (they read the same local state).
macro_rules! end_accessors {
    () => {
        /// Bytes per buffer.
        pub fn item_size(&self) -> usize {
            usize::from(self.end.ring.geometry().s)
        }

        /// Number of buffers (slots in the ring).
        pub fn capacity(&self) -> usize {
            usize::from(self.end.ring.geometry().n)
        }

        /// Peer faults seen so far.
        pub fn faults(&self) -> u32 {
            self.end.ring.faults()
        }
    };
}

/// The producing end of a queue. `CAP` is the longest queue it can serve (three bytes of
/// local state per buffer).
///
/// ```
/// use esp_amp::queue::{Consumer, Placement, Producer, QueueSpec};
/// use esp_amp::sys_info::SysInfoId;
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// // The maincore creates the queue; the subcore attaches to it by id.
/// let tx: Producer = Producer::create(&mut sys, SysInfoId(0x100), QueueSpec::new(4, 32).unwrap(), Placement::Normal).unwrap();
/// let rx: Consumer = Consumer::attach(&sys.info(), SysInfoId(0x100)).unwrap();
/// tx.send(b"copied in").unwrap();
/// assert_eq!(rx.try_recv().unwrap().bytes(), b"copied in");
/// ```
pub struct Producer<'r, const CAP: usize = 32> {
    end: End<'r, CAP>,
    notify: Option<(&'r (dyn Trigger + Sync), SwIntrId)>,
}

// SAFETY: the raw pointers only name shared memory valid for `'r` that is accessed
// through atomics or through guards tied to `&self`; the local state is plain `Cell`s,
// which may move between threads. `Producer` is not `Sync`.
unsafe impl<const CAP: usize> Send for Producer<'_, CAP> {}

impl<'r, const CAP: usize> Producer<'r, CAP> {
    /// Maincore as producer: allocates the queue (in `placement`) under `id` and
    /// initialises it.
    pub fn create(
        sys: &mut SysInfoAllocator<'r>,
        id: SysInfoId,
        spec: QueueSpec,
        placement: Placement,
    ) -> Result<Self, QueueError> {
        if usize::from(spec.len) > CAP {
            return Err(QueueError::TooLong { len: spec.len, capacity: CAP });
        }
        create_blocks(sys, id, spec, placement)?;
        Self::attach(&sys.info(), id)
    }

    /// Subcore as producer: finds the queue `id` and checks its configuration.
    pub fn attach(info: &SysInfo<'r>, id: SysInfoId) -> Result<Self, QueueError> {
        let (block, rtc) = locate(info, id)?;
        Ok(Self::from_attached(attach_queue(block, block.device_base(), rtc, CAP)?))
    }

    pub(crate) fn from_attached(a: Attached<'r>) -> Self {
        Producer { end: End::new(a), notify: None }
    }

    /// Interrupt-driven mode: after every send, raise software interrupt `id` on the peer
    /// through `trigger` (the local [`crate::sw_intr::SwIntr`]).
    pub fn notify_with(&mut self, trigger: &'r (dyn Trigger + Sync), id: SwIntrId) {
        self.notify = Some((trigger, id));
    }

    /// Takes a free buffer (`item_size` bytes) to fill: [`QueueError::Full`] when the
    /// consumer has not given any back yet.
    #[inline]
    pub fn alloc(&self) -> Result<TxBuf<'_, 'r, CAP>, QueueError> {
        match self.end.ring.alloc() {
            Ok(idx) => Ok(TxBuf { q: self, idx }),
            Err(RingError::Empty) => Err(QueueError::Full),
            Err(RingError::Peer(f)) => Err(QueueError::Peer(f)),
        }
    }

    /// Copies `data` into a free buffer and sends it.
    pub fn send(&self, data: &[u8]) -> Result<(), QueueError> {
        let max = self.item_size();
        if data.len() > max {
            return Err(QueueError::TooLarge { len: data.len(), max });
        }
        let mut buf = self.alloc()?;
        buf.bytes_mut().copy_from(data);
        buf.send(data.len())
    }

    #[inline]
    fn publish(&self, idx: u16, len: u16) {
        self.end.ring.send(idx, len);
        if let Some((t, id)) = self.notify {
            t.trigger(id);
        }
        #[cfg(feature = "reserve-ahead")]
        self.end.ring.reserve_next();
    }

    end_accessors!();

    /// Buffers taken from the ring and not yet sent: live guards, guards dropped unsent,
    /// and (feature `reserve-ahead`) the buffers reserved after a send for the next allocs.
    pub fn outstanding(&self) -> usize {
        self.end.ring.outstanding()
    }
}

/// A buffer allocated from a [`Producer`]. Write into it, then [`TxBuf::send`]; dropped
/// unsent, it goes back to the producer for the next alloc.
///
/// ```
/// use esp_amp::queue::{Consumer, Placement, Producer, QueueSpec};
/// use esp_amp::sys_info::SysInfoId;
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # let tx: Producer = Producer::create(&mut sys, SysInfoId(0x100), QueueSpec::new(4, 32).unwrap(), Placement::Normal).unwrap();
/// # let rx: Consumer = Consumer::attach(&sys.info(), SysInfoId(0x100)).unwrap();
/// // Zero-copy: write the message where the peer will read it, then send its length.
/// let mut buf = tx.alloc().unwrap();
/// buf.bytes_mut().write(0, b"in pl").unwrap();
/// buf.send(5).unwrap();
/// assert_eq!(rx.try_recv().unwrap().bytes(), b"in pl");
/// ```
pub struct TxBuf<'q, 'r, const CAP: usize = 32> {
    q: &'q Producer<'r, CAP>,
    idx: u16,
}

impl<const CAP: usize> TxBuf<'_, '_, CAP> {
    /// Sends the first `len` bytes. `len` above the item size fails with
    /// [`QueueError::TooLarge`] and the buffer is kept for the next alloc.
    #[inline]
    pub fn send(self, len: usize) -> Result<(), QueueError> {
        let max = self.q.item_size();
        if len > max {
            return Err(QueueError::TooLarge { len, max });
        }
        let this = core::mem::ManuallyDrop::new(self);
        // `len <= item_size <= u16::MAX`.
        this.q.publish(this.idx, len as u16);
        Ok(())
    }

    /// Device address of the buffer (what goes into the descriptor).
    pub fn device_addr(&self) -> u32 {
        self.q.end.ring.geometry().addr_of(self.idx)
    }

    /// Bytes in the buffer (the item size).
    #[inline]
    pub fn len(&self) -> usize {
        self.q.item_size()
    }

    /// `true` if the item size is 0 (never for a queue that passed its attach checks).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole buffer, to write the message into (volatile stores; see
    /// [`crate::payload`] for why there is no `&mut [u8]` without `unsafe`).
    #[inline]
    pub fn bytes_mut(&mut self) -> PeerBytesMut<'_> {
        // SAFETY: the buffer is inside the checked buffer area; the ring marked it `Held`
        // for this guard alone, and `&mut self` makes this view the only one.
        unsafe { PeerBytesMut::from_raw(self.q.end.buf(self.idx), self.q.item_size()) }
    }

    /// Writes the first two words of the buffer, little-endian, with aligned stores (the
    /// header of RPMsg). Nothing is written if the item size is below 8 bytes.
    #[inline]
    pub(crate) fn set_head_words(&mut self, w0: u32, w1: u32) {
        if self.q.item_size() >= 8 {
            let p = self.q.end.buf(self.idx).cast::<u32>();
            // SAFETY: both words are inside the buffer, which starts 4-byte aligned (see
            // `RxBuf::head_words`); this guard alone holds the buffer, and `&mut self`
            // makes this the only access of ours. Volatile: the peer may look at it.
            unsafe {
                p.write_volatile(w0.to_le());
                p.add(1).write_volatile(w1.to_le());
            }
        }
    }

    /// Sends the whole buffer (`item_size` bytes, as RPMsg does): no length to check.
    #[inline]
    pub(crate) fn send_full(self) {
        let this = core::mem::ManuallyDrop::new(self);
        // `item_size <= u16::MAX`.
        this.q.publish(this.idx, this.q.item_size() as u16);
    }
}

impl<const CAP: usize> Drop for TxBuf<'_, '_, CAP> {
    fn drop(&mut self) {
        self.q.end.ring.park(self.idx);
    }
}

/// The consuming end of a queue.
///
/// ```
/// use esp_amp::queue::{Consumer, Placement, Producer, QueueError, QueueSpec};
/// use esp_amp::sys_info::SysInfoId;
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// let rx: Consumer = Consumer::create(&mut sys, SysInfoId(0x101), QueueSpec::new(4, 32).unwrap()).unwrap();
/// let tx: Producer = Producer::attach(&sys.info(), SysInfoId(0x101)).unwrap();
/// assert_eq!(rx.try_recv().err(), Some(QueueError::Empty));
/// tx.send(b"up").unwrap();
/// let buf = rx.try_recv().unwrap(); // the buffer stays the peer's memory until dropped
/// assert_eq!(buf.bytes(), b"up");
/// drop(buf); // given back: the producer may fill it again
/// ```
pub struct Consumer<'r, const CAP: usize = 32> {
    end: End<'r, CAP>,
}

// SAFETY: as for `Producer`.
unsafe impl<const CAP: usize> Send for Consumer<'_, CAP> {}

impl<'r, const CAP: usize> Consumer<'r, CAP> {
    /// Maincore as consumer: allocates the queue under `id` (always the normal placement,
    /// as in C) and initialises it.
    pub fn create(
        sys: &mut SysInfoAllocator<'r>,
        id: SysInfoId,
        spec: QueueSpec,
    ) -> Result<Self, QueueError> {
        if usize::from(spec.len) > CAP {
            return Err(QueueError::TooLong { len: spec.len, capacity: CAP });
        }
        create_blocks(sys, id, spec, Placement::Normal)?;
        Self::attach(&sys.info(), id)
    }

    /// Subcore as consumer: finds the queue `id` and checks its configuration.
    pub fn attach(info: &SysInfo<'r>, id: SysInfoId) -> Result<Self, QueueError> {
        let (block, rtc) = locate(info, id)?;
        Ok(Self::from_attached(attach_queue(block, block.device_base(), rtc, CAP)?))
    }

    pub(crate) fn from_attached(a: Attached<'r>) -> Self {
        Consumer { end: End::new(a) }
    }

    /// Takes the next buffer, if any: [`QueueError::Empty`] when there is none,
    /// [`QueueError::Peer`] when the next slot held garbage (it is skipped; call again).
    #[inline]
    pub fn try_recv(&self) -> Result<RxBuf<'_, 'r, CAP>, QueueError> {
        let (idx, len) = self.end.ring.try_recv()?;
        #[cfg(all(feature = "batch-free", target_arch = "x86_64"))]
        self.prefetch_next();
        Ok(RxBuf { q: self, idx, len })
    }

    /// Starts loading the next message's buffer while this one is handled: its header
    /// line is then (usually) on its way from the producer's cache when it is read, instead
    /// of a second miss that waits for the descriptor's. Measured only together with the
    /// batched frees (alone it made no difference; see docs/benchmarks.md).
    #[cfg(all(feature = "batch-free", target_arch = "x86_64"))]
    #[inline]
    fn prefetch_next(&self) {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        if let Some(next) = self.end.ring.peek_next() {
            // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has (it is in the
            // target's baseline features). A prefetch is only a hint: it neither reads nor
            // writes memory as far as the program is concerned and never faults; the
            // pointer is inside this queue's checked buffer area anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(self.end.buf(next).cast::<i8>()) };
        }
    }

    /// Writes back the slots of buffers already freed (dropped guards) at once, instead
    /// of at the next batch or when a receive finds the queue empty. Only with the
    /// `batch-free` feature; without it every free is written at once.
    ///
    /// Dropping the consumer does not do it (a `Drop` impl would make every value that
    /// borrows for `'r` outlive the consumer): call this first if the peer must get those
    /// buffers back without another receive.
    #[cfg(feature = "batch-free")]
    #[cfg_attr(docsrs, doc(cfg(feature = "batch-free")))]
    pub fn flush_frees(&self) {
        self.end.ring.flush_frees();
    }

    /// `true` if a buffer is waiting (nothing is taken).
    pub fn has_data(&self) -> bool {
        self.end.ring.has_filled()
    }

    /// Blocks until a buffer arrives or `timeout_ms` (`None` = forever) passes, sleeping
    /// in [`Platform::wait_irq`]: the producer must notify (see
    /// [`Producer::notify_with`]), or the wait is only cut short by other interrupts and
    /// the timeout.
    pub fn recv_timeout<P: Platform>(
        &self,
        platform: &P,
        timeout_ms: Option<u32>,
    ) -> Result<RxBuf<'_, 'r, CAP>, QueueError> {
        wait_until(platform, timeout_ms, None, || match self.try_recv() {
            Err(QueueError::Empty) => None,
            other => Some(other),
        })
    }

    /// Waits asynchronously for a buffer; `signal` must be registered as the handler of
    /// the software interrupt the producer raises.
    pub async fn recv<const W: usize>(
        &self,
        signal: &IrqSignal<W>,
    ) -> Result<RxBuf<'_, 'r, CAP>, QueueError> {
        poll_fn(|cx| {
            signal.register(cx.waker());
            match self.try_recv() {
                Err(QueueError::Empty) => Poll::Pending,
                other => Poll::Ready(other),
            }
        })
        .await
    }

    end_accessors!();

    /// Buffers received and not yet given back (with `batch-free`, freed buffers whose
    /// slots are not yet written count too).
    pub fn outstanding(&self) -> usize {
        self.end.ring.outstanding()
    }
}

/// Runs `attempt` until it yields, sleeping between attempts until an interrupt was
/// handled, the timeout expires (`now − start > timeout`, as in C), or `nap_ms` passes
/// (for conditions no interrupt announces, such as a free by the peer).
pub(crate) fn wait_until<P: Platform, T, E: From<QueueError>>(
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
                    return Err(QueueError::Timeout.into());
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

/// A received buffer: read (or modify) it in place; dropping it gives it back to the
/// producer.
///
/// ```
/// use esp_amp::queue::{Consumer, Placement, Producer, QueueSpec};
/// use esp_amp::sys_info::SysInfoId;
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # let tx: Producer = Producer::create(&mut sys, SysInfoId(0x100), QueueSpec::new(4, 32).unwrap(), Placement::Normal).unwrap();
/// # let rx: Consumer = Consumer::attach(&sys.info(), SysInfoId(0x100)).unwrap();
/// tx.send(b"abc").unwrap();
/// let buf = rx.try_recv().unwrap();
/// assert_eq!(buf.len(), 3); // the sent length
/// assert_eq!(buf.bytes(), b"abc");
/// assert_eq!(buf.full().len(), 32); // the whole item
/// ```
pub struct RxBuf<'q, 'r, const CAP: usize = 32> {
    q: &'q Consumer<'r, CAP>,
    idx: u16,
    len: u16,
}

impl<'q, 'r, const CAP: usize> RxBuf<'q, 'r, CAP> {
    /// Device address of the buffer.
    pub fn device_addr(&self) -> u32 {
        self.q.end.ring.geometry().addr_of(self.idx)
    }

    /// The sent length in bytes (at most the item size, checked by the ring).
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// `true` if the message is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The message: the first [`RxBuf::len`] bytes, read in place (volatile loads; see
    /// [`crate::payload`] for why there is no `&[u8]` without `unsafe`).
    #[inline]
    pub fn bytes(&self) -> PeerBytes<'_> {
        // SAFETY: inside the checked buffer area (`len <= item_size` was checked by the
        // ring); marked `Held` for this guard alone, so no writer of ours aliases it.
        unsafe { PeerBytes::from_raw(self.q.end.buf(self.idx), usize::from(self.len)) }
    }

    /// The message, to modify in place (for example to answer in the same buffer).
    #[inline]
    pub fn bytes_mut(&mut self) -> PeerBytesMut<'_> {
        // SAFETY: as for `bytes`; `&mut self` makes this view the only one of ours.
        unsafe { PeerBytesMut::from_raw(self.q.end.buf(self.idx), usize::from(self.len)) }
    }

    /// The whole buffer (`item_size` bytes), beyond the sent length.
    #[inline]
    pub fn full(&self) -> PeerBytes<'_> {
        // SAFETY: as for `bytes`, over the whole checked buffer.
        unsafe { PeerBytes::from_raw(self.q.end.buf(self.idx), self.q.item_size()) }
    }

    /// The first two words of the buffer, little-endian, with aligned loads (the header
    /// of RPMsg; the counterpart of `TxBuf::set_head_words`). `None` if the item size is
    /// below 8 bytes.
    #[inline]
    pub(crate) fn head_words(&self) -> Option<[u32; 2]> {
        if self.q.item_size() < 8 {
            return None;
        }
        let p = self.q.end.buf(self.idx).cast::<u32>();
        // SAFETY: both words are inside the buffer (checked just above), which starts
        // 4-byte aligned (the buffer area is 4-aligned and the item size a multiple of 4,
        // both checked at attach); readable as for `full`. Volatile: each word is read
        // once, so what the caller checks is what it uses, whatever the peer writes.
        Some(unsafe { [u32::from_le(p.read_volatile()), u32::from_le(p.add(1).read_volatile())] })
    }

    /// Gives up the guard without freeing; [`RxBuf::from_raw`] makes it again.
    pub(crate) fn into_raw(self) -> (u16, u16) {
        let this = core::mem::ManuallyDrop::new(self);
        (this.idx, this.len)
    }

    /// Rebuilds a guard from [`RxBuf::into_raw`] of the same consumer.
    pub(crate) fn from_raw(q: &'q Consumer<'r, CAP>, (idx, len): (u16, u16)) -> Self {
        RxBuf { q, idx, len }
    }

    /// Frees a buffer given up with [`RxBuf::into_raw`].
    pub(crate) fn free_raw(q: &Consumer<'r, CAP>, idx: u16) {
        q.end.ring.free(idx);
    }
}

impl<const CAP: usize> Drop for RxBuf<'_, '_, CAP> {
    fn drop(&mut self) {
        self.q.end.ring.free(self.idx);
    }
}

/// Interrupt-driven receive with a callback (C's `esp_amp_queue_intr_enable`): register it
/// as the handler of the software interrupt the producer raises; the handler drains the
/// queue inside a critical section and calls `on_rx` with each buffer (freed when
/// `on_rx` drops it). Garbage descriptors are skipped and counted by the consumer.
///
/// ```
/// # use esp_amp::queue::{Consumer, Producer, QueueSpec, RxCallback};
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sw_intr::{SwIntrHandler, SwIntrId};
/// # use esp_amp::sys_info::{SysInfoAllocator, SysInfoId};
/// # let mut mem = [0u32; 128];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 512) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// let rx: Consumer = Consumer::create(&mut sys, SysInfoId(0x100), QueueSpec::new(4, 16).unwrap()).unwrap();
/// let total = std::sync::atomic::AtomicUsize::new(0);
/// let handler = RxCallback::new(rx, |buf: esp_amp::queue::RxBuf<'_, '_>| {
///     total.fetch_add(buf.len(), std::sync::atomic::Ordering::Relaxed);
/// });
/// let tx: Producer = Producer::attach(&sys.info(), SysInfoId(0x100)).unwrap();
/// tx.send(b"abc").unwrap();
/// handler.on_sw_intr(SwIntrId::user(0).unwrap()); // what the interrupt does
/// assert_eq!(total.load(std::sync::atomic::Ordering::Relaxed), 3);
/// ```
pub struct RxCallback<'r, F, const CAP: usize = 32> {
    consumer: critical_section::Mutex<Consumer<'r, CAP>>,
    on_rx: F,
}

impl<'r, F, const CAP: usize> RxCallback<'r, F, CAP>
where
    F: for<'q> Fn(RxBuf<'q, 'r, CAP>) + Sync,
{
    /// Wraps `consumer`; `on_rx` runs in the interrupt handler.
    pub fn new(consumer: Consumer<'r, CAP>, on_rx: F) -> Self {
        RxCallback { consumer: critical_section::Mutex::new(consumer), on_rx }
    }

    /// Runs `f` with the consumer, inside a critical section (for counters, or polling).
    pub fn with_consumer<T>(&self, f: impl FnOnce(&Consumer<'r, CAP>) -> T) -> T {
        critical_section::with(|cs| f(self.consumer.borrow(cs)))
    }
}

impl<'r, F, const CAP: usize> SwIntrHandler for RxCallback<'r, F, CAP>
where
    F: for<'q> Fn(RxBuf<'q, 'r, CAP>) + Sync,
{
    fn on_sw_intr(&self, _id: SwIntrId) {
        critical_section::with(|cs| {
            let consumer = self.consumer.borrow(cs);
            // Bounded: each round consumes a slot, and at most `n` can be filled.
            for _ in 0..consumer.capacity() {
                match consumer.try_recv() {
                    Ok(buf) => (self.on_rx)(buf),
                    Err(QueueError::Empty) => break,
                    Err(_) => {}
                }
            }
        });
    }
}
