//! The producing end and its buffer guard.

use super::*;

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
