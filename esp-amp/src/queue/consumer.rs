//! The consuming end, its buffer guard, and interrupt-driven receive.

use super::*;

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
        crate::port::wait_until(platform, timeout_ms, None, || match self.try_recv() {
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
