//! The queue's configuration: its size rules, the shared layout it writes, and the checks
//! an end runs on a configuration the peer wrote before it attaches.

use super::*;

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
    pub(super) len: u16,
    pub(super) item_size: u16,
}

/// Where the maincore puts a queue it produces into.
///
/// ```
/// use esp_amp::queue::{Placement, Producer, QueueSpec};
/// use esp_amp::shm::Shm;
/// use esp_amp::sys_info::{SysInfoAllocator, SysInfoId};
/// let (mut hp, mut rtc) = ([0u32; 256], [0u32; 64]);
/// // SAFETY: both arrays are aligned, valid and outlive their pools.
/// let hp_pool = unsafe { Shm::from_raw(hp.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// // SAFETY: as above.
/// let rtc_pool = unsafe { Shm::from_raw(rtc.as_mut_ptr().cast(), 0x5000_0F00, 256) };
/// let mut sys = SysInfoAllocator::init(hp_pool, Some(rtc_pool)).unwrap();
/// // Descriptors in RTC RAM (for light sleep), buffers in HP RAM, as C lays them out.
/// let spec = QueueSpec::new(4, 16).unwrap();
/// let _tx: Producer = Producer::create(&mut sys, SysInfoId(0x100), spec, Placement::DescriptorsInRtc).unwrap();
/// ```
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

    pub(super) fn desc_bytes(&self) -> u32 {
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
