//! What queue operations fail with.

use super::*;

/// Queue failures.
///
/// ```
/// use esp_amp::queue::{Consumer, Placement, Producer, QueueError, QueueSpec};
/// use esp_amp::shm::Shm;
/// use esp_amp::sys_info::{SysInfoAllocator, SysInfoId};
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// assert!(matches!(QueueSpec::new(0, 16), Err(QueueError::InvalidSpec { .. })));
/// let tx: Producer = Producer::create(&mut sys, SysInfoId(0x100), QueueSpec::new(1, 16).unwrap(), Placement::Normal).unwrap();
/// let rx: Consumer = Consumer::attach(&sys.info(), SysInfoId(0x100)).unwrap();
/// assert_eq!(rx.try_recv().err(), Some(QueueError::Empty));
/// tx.send(b"x").unwrap();
/// assert_eq!(tx.send(b"y"), Err(QueueError::Full)); // one buffer, with the consumer
/// assert_eq!(tx.send(&[0; 17]), Err(QueueError::TooLarge { len: 17, max: 16 }));
/// ```
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
