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
//! buf.bytes_mut().set(0, 1); // error: `buf` was moved by `send`
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

pub use consumer::{Consumer, RxBuf, RxCallback};
pub use error::{ConfFault, QueueError};
pub use producer::{Producer, TxBuf};
pub(crate) use spec::*;
pub use spec::{Placement, QueueSpec};

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

// After `end_accessors`, which they use (a `macro_rules!` is visible below its definition).
mod consumer;
mod error;
mod producer;
mod spec;
