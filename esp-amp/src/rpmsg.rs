//! RPMsg (docs/protocol.md §6): endpoints with 16-bit addresses over a pair of queues.
//!
//! One SysInfo block (default id [`SysInfoId::VQUEUE`], 0xFF03) holds two queues: Q0
//! maincore → subcore and Q1 subcore → maincore. Every buffer starts with an 8-byte header
//! `{src: u16, dst: u16, data_len: u16, flags: u16}`; the payload follows, at most
//! `item_size − 8` bytes ([`Rpmsg::max_payload`]).
//!
//! Receiving: [`Rpmsg::dispatch_one`] takes one message from the ring and routes it by `dst`:
//! - to a [`Receiver::Callback`] endpoint: the callback sees the payload in place, and the
//!   buffer is given back when it returns;
//! - to a [`Receiver::Mailbox`] endpoint: the message waits, zero-copy, until
//!   [`Rpmsg::try_recv`] / [`Rpmsg::recv_timeout`] / [`Rpmsg::recv`] takes it as a
//!   [`Message`] guard (given back when dropped);
//! - to no endpoint, or with a `data_len` larger than the buffer: given back at once and
//!   counted in [`RpmsgStats`] (the C version leaks the buffer and stalls the drain loop).
//!
//! Sending: [`Rpmsg::send`] copies; [`Rpmsg::alloc`] gives a [`TxMessage`] guard to build
//! the payload in place and [`TxMessage::send`] it (dropped unsent, the buffer is kept).
//!
//! ```
//! use esp_amp::rpmsg::{Receiver, Rpmsg};
//! use esp_amp::queue::QueueSpec;
//! use esp_amp::shm::Shm;
//! use esp_amp::sys_info::SysInfoAllocator;
//! use esp_amp::{MainCore, SubCore};
//! let mut mem = [0u32; 256];
//! // SAFETY: `mem` is aligned, valid and outlives `pool`.
//! let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
//! let mut sys = SysInfoAllocator::init(pool, None).unwrap();
//! let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
//! let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
//! let ping = main.create_endpoint(2, Receiver::Mailbox).unwrap();
//! let echo = sub.create_endpoint(1, Receiver::Mailbox).unwrap();
//! main.send(ping, 1, b"ping").unwrap();
//! let msg = sub.try_recv(echo).unwrap();
//! assert_eq!(msg.src(), 2);
//! assert_eq!(msg.bytes(), b"ping"); // a volatile view of the shared buffer
//! ```

use core::cell::Cell;
use core::future::{poll_fn, Future};
use core::marker::PhantomData;
use core::task::Poll;

use crate::event::Trigger;
use crate::payload::{PeerBytes, PeerBytesMut};
use crate::port::Platform;
use crate::queue::{
    attach_queue_unchecked, write_queue, Attached, Consumer, Placement, Producer, QueueError, QueueSpec,
    RxBuf, Span, TxBuf, CONF_SIZE, DESC_SIZE,
};
use crate::role::Role;
use crate::shm::Shm;
use crate::signal::IrqSignal;
use crate::sw_intr::{SwIntrHandler, SwIntrId};
use crate::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoId};

/// Size of the message header.
pub const HEADER_SIZE: usize = 8;
/// `ESP_AMP_RPMSG_RESERVED_EPT_SYS_PRT`: defined by C, unused.
pub const RESERVED_EPT_SYS_PRT: u16 = 0xFFFF;

/// RPMsg failures.
///
/// ```
/// # use esp_amp::queue::QueueSpec;
/// # use esp_amp::rpmsg::{Receiver, Rpmsg};
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # use esp_amp::{MainCore, SubCore};
/// # let mut mem = [0u32; 512];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 2048) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 64).unwrap()).unwrap();
/// # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
/// use esp_amp::queue::QueueError;
/// use esp_amp::rpmsg::RpmsgError;
/// let me = main.create_endpoint(1, Receiver::Mailbox).unwrap();
/// assert_eq!(main.create_endpoint(1, Receiver::Mailbox).err(), Some(RpmsgError::AddressInUse(1)));
/// // 64-byte buffers carry at most 56 bytes of payload.
/// let too_long = main.send(me, 2, &[0; 57]).unwrap_err();
/// assert_eq!(too_long, RpmsgError::Queue(QueueError::TooLarge { len: 57, max: 56 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RpmsgError {
    /// A queue operation failed (full, too large, timeout, bad configuration, …).
    Queue(QueueError),
    /// Buffers must hold more than the 8-byte header (C underflows its max payload).
    ItemTooSmall(u16),
    /// An endpoint with this address exists already.
    AddressInUse(u16),
    /// The endpoint table is full.
    TableFull,
    /// No local endpoint has this address.
    NoEndpoint(u16),
}

impl core::fmt::Display for RpmsgError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            RpmsgError::Queue(e) => write!(f, "{e}"),
            RpmsgError::ItemTooSmall(s) => write!(f, "item size {s} leaves no room after the 8-byte header"),
            RpmsgError::AddressInUse(a) => write!(f, "endpoint {a} exists already"),
            RpmsgError::TableFull => f.write_str("endpoint table full"),
            RpmsgError::NoEndpoint(a) => write!(f, "no endpoint {a}"),
        }
    }
}

impl core::error::Error for RpmsgError {}

impl From<QueueError> for RpmsgError {
    fn from(e: QueueError) -> Self {
        RpmsgError::Queue(e)
    }
}

/// The `data_len` payload bytes after the header in a whole buffer `full` (empty if they do
/// not fit: callers check `data_len` against the buffer first).
#[inline]
fn payload(full: PeerBytes<'_>, data_len: usize) -> PeerBytes<'_> {
    full.slice(HEADER_SIZE..HEADER_SIZE + data_len).unwrap_or(PeerBytes::empty())
}

/// A message seen by a callback: the payload in place, valid during the call.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'m> {
    /// Sender's endpoint address.
    pub src: u16,
    /// Our endpoint address.
    pub dst: u16,
    /// `data_flags` of the header (not interpreted).
    pub flags: u16,
    /// The payload, in place (volatile views: see [`crate::payload`]).
    pub data: PeerBytes<'m>,
}

/// What [`Rpmsg::try_recv_where`] does with a waiting message.
///
/// ```
/// # use esp_amp::queue::QueueSpec;
/// # use esp_amp::rpmsg::{Receiver, Rpmsg};
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # use esp_amp::{MainCore, SubCore};
/// # let mut mem = [0u32; 512];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 2048) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 64).unwrap()).unwrap();
/// # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
/// use esp_amp::rpmsg::Pick;
/// let me = main.create_endpoint(1, Receiver::Mailbox).unwrap();
/// let inbox = sub.create_endpoint(2, Receiver::Mailbox).unwrap();
/// main.send(me, 2, b"old").unwrap();
/// main.send(me, 2, b"new").unwrap();
/// // Take the message that says "new", drop "old" on the way.
/// let got = sub.try_recv_where(inbox, |m| if m.bytes() == b"new" { Pick::Take } else { Pick::Drop });
/// assert_eq!(got.unwrap().bytes(), b"new");
/// assert!(sub.try_recv(inbox).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Hand it to the caller.
    Take,
    /// Leave it in the mailbox.
    Keep,
    /// Give its buffer back now.
    Drop,
}

/// How an endpoint receives.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use esp_amp::rpmsg::Inbound;
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # use esp_amp::queue::QueueSpec;
/// # use esp_amp::rpmsg::{Receiver, Rpmsg};
/// # use esp_amp::{MainCore, SubCore};
/// # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
/// # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
/// // A callback endpoint: messages are handled while the ring is polled (in the
/// // interrupt handler, with `critical_section::Mutex<Rpmsg>` as the handler).
/// static BYTES: AtomicUsize = AtomicUsize::new(0);
/// let count = |m: Inbound<'_>| {
///     BYTES.fetch_add(m.data.len(), Ordering::Relaxed);
/// };
/// sub.create_endpoint(3, Receiver::Callback(&count)).unwrap();
/// let me = main.create_endpoint(1, Receiver::Mailbox).unwrap();
/// main.send(me, 3, b"four").unwrap();
/// sub.dispatch();
/// assert_eq!(BYTES.load(Ordering::Relaxed), 4);
/// ```
#[derive(Clone, Copy)]
pub enum Receiver<'r> {
    /// Called from [`Rpmsg::dispatch_one`] for each message; the buffer is given back on return.
    Callback(&'r (dyn Fn(Inbound<'_>) + Sync)),
    /// Messages wait for [`Rpmsg::try_recv`] and friends.
    Mailbox,
}

impl core::fmt::Debug for Receiver<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Receiver::Callback(_) => f.write_str("Callback"),
            Receiver::Mailbox => f.write_str("Mailbox"),
        }
    }
}

/// A local endpoint: a handle naming its address.
///
/// ```
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # use esp_amp::queue::QueueSpec;
/// # use esp_amp::rpmsg::{Receiver, Rpmsg};
/// # use esp_amp::{MainCore, SubCore};
/// # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
/// # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
/// let ept = sub.create_endpoint(0x20, Receiver::Mailbox).unwrap();
/// assert_eq!(ept.addr(), 0x20);
/// assert_eq!(sub.endpoint(0x20), Some(ept)); // looked up again by address
/// assert!(sub.create_endpoint(0x20, Receiver::Mailbox).is_err()); // taken
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    addr: u16,
}

impl Endpoint {
    /// The endpoint's address.
    pub fn addr(&self) -> u16 {
        self.addr
    }
}

/// Counters of one device.
///
/// ```
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # use esp_amp::queue::QueueSpec;
/// # use esp_amp::rpmsg::{Receiver, Rpmsg};
/// # use esp_amp::{MainCore, SubCore};
/// # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
/// # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
/// let me = main.create_endpoint(1, Receiver::Mailbox).unwrap();
/// main.send(me, 0x99, b"nobody").unwrap(); // no endpoint 0x99 on the subcore
/// sub.dispatch();
/// assert_eq!((main.stats().sent, sub.stats().dropped_unknown), (1, 1));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RpmsgStats {
    /// Messages sent.
    pub sent: u32,
    /// Messages handed to a callback or a mailbox.
    pub delivered: u32,
    /// Messages for an address with no endpoint: given back, dropped.
    pub dropped_unknown: u32,
    /// Messages whose `data_len` exceeds the buffer (or shorter than a header): dropped.
    pub dropped_bad_len: u32,
    /// Messages still waiting in a mailbox when its endpoint was deleted.
    pub dropped_deleted: u32,
    /// Descriptor garbage skipped by the two queues (see [`crate::queue::PeerFault`]).
    pub queue_faults: u32,
}

/// What one poll did.
enum Polled {
    /// The ring was empty.
    Empty,
    /// A slot was consumed and nothing is left to do: it held garbage (skipped and counted
    /// by the queue), or its message was queued in a mailbox.
    Consumed,
    /// A message was delivered to a callback or dropped: the caller gives back buffer
    /// `idx`.
    Done(u16),
}

/// A routed mailbox message, as three words so that queueing and dequeueing it are plain
/// word copies (smaller subcore code than six halfwords).
#[derive(Clone, Copy, Default)]
struct Pending {
    /// The buffer: `idx | len << 16` ([`RxBuf::into_raw`]).
    buf: u32,
    /// Header word 0: `src | dst << 16`.
    addrs: u32,
    /// Header word 1: `data_len | flags << 16` (`data_len` checked against the buffer).
    sizes: u32,
}

impl Pending {
    /// A message in buffer `raw` ([`RxBuf::into_raw`]) with header words `addrs`, `sizes`.
    fn new((idx, len): (u16, u16), addrs: u32, sizes: u32) -> Self {
        Pending { buf: u32::from(idx) | u32::from(len) << 16, addrs, sizes }
    }

    /// The buffer, for [`RxBuf::from_raw`].
    fn raw(&self) -> (u16, u16) {
        (self.buf as u16, (self.buf >> 16) as u16)
    }

    fn dst(&self) -> u16 {
        (self.addrs >> 16) as u16
    }
}

/// One RPMsg device: a TX producer, an RX consumer, up to `E` endpoints; queues of up to
/// `CAP` buffers.
///
/// Not `Sync`: it belongs to one execution context. For interrupt-driven dispatch on bare
/// metal, put it in a [`critical_section::Mutex`] and register that as the handler of
/// [`SwIntrId::RPMSG`]: the handler then drains the ring like C's interrupt mode. With
/// threads or an executor, register an [`IrqSignal`] instead and receive in the task.
pub struct Rpmsg<'r, R: Role, const CAP: usize = 32, const E: usize = 8> {
    tx: Producer<'r, CAP>,
    rx: Consumer<'r, CAP>,
    endpoints: [Cell<Option<(u16, Receiver<'r>)>>; E],
    /// Messages waiting in mailboxes, oldest first: the first `pending_len` entries.
    pending: [Cell<Pending>; CAP],
    pending_len: Cell<usize>,
    stats: Cell<RpmsgStats>,
    _role: PhantomData<R>,
}

/// Checks the queue pair at the start of `block` (queue 0's descriptors may be in `rtc`):
/// both configurations, no two of their six areas (configuration, descriptors, buffers)
/// overlapping, room for the header.
pub(crate) fn attach_pair<'r>(
    block: Shm<'r>,
    rtc: Option<Shm<'r>>,
    cap: usize,
) -> Result<[Attached<'r>; 2], RpmsgError> {
    let q0 = attach_queue_unchecked(block, block.device_base(), rtc, cap)?;
    let q1 = attach_queue_unchecked(block, block.device_base() + CONF_SIZE, rtc, cap)?;
    let ([a, b, c], [d, e, f]) = (q0.spans(), q1.spans());
    if !Span::disjoint(&[a, b, c, d, e, f]) {
        return Err(QueueError::BadConf(crate::queue::ConfFault::Overlap).into());
    }
    for q in [&q0, &q1] {
        if usize::from(q.geo.s) <= HEADER_SIZE {
            return Err(RpmsgError::ItemTooSmall(q.geo.s));
        }
    }
    Ok([q0, q1])
}

/// Block sizes and offsets of a device's queues (docs/protocol.md §6.2).
struct PairLayout {
    hp: u16,
    rtc: u16,
}

fn pair_layout(spec: QueueSpec, placement: Placement) -> Result<PairLayout, RpmsgError> {
    let n = u32::from(spec.capacity());
    let s = u32::from(spec.item_size());
    let (hp, rtc) = match placement {
        Placement::Normal => (2 * (CONF_SIZE + DESC_SIZE * n + s * n), 0),
        Placement::DescriptorsInRtc => (2 * (CONF_SIZE + s * n) + DESC_SIZE * n, DESC_SIZE * n),
    };
    let fit =
        |b: u32| u16::try_from(b).map_err(|_| RpmsgError::Queue(QueueError::BlockTooLarge { bytes: b }));
    Ok(PairLayout { hp: fit(hp)?, rtc: fit(rtc)? })
}

impl<'r, R: Role, const CAP: usize, const E: usize> Rpmsg<'r, R, CAP, E> {
    /// Maincore: allocates and initialises the default device (id 0xFF03, normal
    /// placement). The subcore attaches with [`Rpmsg::attach`].
    pub fn create(sys: &mut SysInfoAllocator<'r>, spec: QueueSpec) -> Result<Self, RpmsgError> {
        Self::create_with_id(sys, SysInfoId::VQUEUE, spec, Placement::Normal)
    }

    /// Maincore: allocates and initialises a device under `id`; with
    /// [`Placement::DescriptorsInRtc`] the maincore → subcore descriptors go to the RTC
    /// pool (the light-sleep layout).
    pub fn create_with_id(
        sys: &mut SysInfoAllocator<'r>,
        id: SysInfoId,
        spec: QueueSpec,
        placement: Placement,
    ) -> Result<Self, RpmsgError> {
        if spec.item_size() as usize <= HEADER_SIZE {
            return Err(RpmsgError::ItemTooSmall(spec.item_size()));
        }
        if usize::from(spec.capacity()) > CAP {
            return Err(QueueError::TooLong { len: spec.capacity(), capacity: CAP }.into());
        }
        let sizes = pair_layout(spec, placement)?;
        let block = sys.alloc(id, usize::from(sizes.hp), Pool::Hp).map_err(QueueError::from)?;
        let (n, s) = (u32::from(spec.capacity()), u32::from(spec.item_size()));
        let b = block.addr();
        let shm = block.shm();
        let err = |e| RpmsgError::Queue(QueueError::BadConf(crate::queue::ConfFault::Unreadable(e)));
        match placement {
            Placement::Normal => {
                let d0 = b + 2 * CONF_SIZE;
                let d1 = d0 + DESC_SIZE * n;
                let b0 = d1 + DESC_SIZE * n;
                write_queue(shm, b, shm, d0, b0, spec).map_err(err)?;
                write_queue(shm, b + CONF_SIZE, shm, d1, b0 + s * n, spec).map_err(err)?;
            }
            Placement::DescriptorsInRtc => {
                let rtc = sys.alloc(id, usize::from(sizes.rtc), Pool::Rtc).map_err(QueueError::from)?;
                let d1 = b + 2 * CONF_SIZE;
                let b0 = d1 + DESC_SIZE * n;
                write_queue(shm, b, rtc.shm(), rtc.addr(), b0, spec).map_err(err)?;
                write_queue(shm, b + CONF_SIZE, shm, d1, b0 + s * n, spec).map_err(err)?;
            }
        }
        Self::attach_with_id(&sys.info(), id)
    }

    /// Finds the default device (id 0xFF03) and checks both queue configurations.
    pub fn attach(info: &SysInfo<'r>) -> Result<Self, RpmsgError> {
        Self::attach_with_id(info, SysInfoId::VQUEUE)
    }

    /// Finds device `id` and checks both queue configurations: sizes, every area inside
    /// the block, nothing overlapping.
    pub fn attach_with_id(info: &SysInfo<'r>, id: SysInfoId) -> Result<Self, RpmsgError> {
        let block = info.get(id, Pool::Hp).map_err(QueueError::from)?.shm();
        let rtc = info.get(id, Pool::Rtc).ok().map(|b| b.shm());
        let [q0, q1] = attach_pair(block, rtc, CAP)?;
        let (tx, rx) = if R::IS_MAIN { (q0, q1) } else { (q1, q0) };
        Ok(Rpmsg {
            tx: Producer::from_attached(tx),
            rx: Consumer::from_attached(rx),
            endpoints: [const { Cell::new(None) }; E],
            pending: core::array::from_fn(|_| Cell::new(Pending::default())),
            pending_len: Cell::new(0),
            stats: Cell::new(RpmsgStats::default()),
            _role: PhantomData,
        })
    }

    /// Interrupt-driven mode on the peer: raise [`SwIntrId::RPMSG`] after every send (C's
    /// `notify = true`).
    pub fn notify_with(&mut self, trigger: &'r (dyn Trigger + Sync)) {
        self.tx.notify_with(trigger, SwIntrId::RPMSG);
    }

    /// Buffers per direction (the queues' capacity).
    pub fn queue_capacity(&self) -> usize {
        self.rx.capacity()
    }

    /// Largest payload: item size − 8.
    pub fn max_payload(&self) -> usize {
        self.tx.item_size() - HEADER_SIZE
    }

    /// [`QueueError::TooLarge`] unless `len` bytes fit one message's payload.
    #[inline]
    fn check_fits(&self, len: usize) -> Result<(), RpmsgError> {
        let max = self.max_payload();
        if len > max {
            return Err(QueueError::TooLarge { len, max }.into());
        }
        Ok(())
    }

    /// The counters, with the queues' fault counts.
    pub fn stats(&self) -> RpmsgStats {
        let mut s = self.stats.get();
        s.queue_faults = self.tx.faults().wrapping_add(self.rx.faults());
        s
    }

    fn count(&self, f: impl FnOnce(&mut RpmsgStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    // ---- endpoints ----------------------------------------------------------------

    /// Creates endpoint `addr` (any `u16`).
    pub fn create_endpoint(&self, addr: u16, rx: Receiver<'r>) -> Result<Endpoint, RpmsgError> {
        if self.slot_of(addr).is_some() {
            return Err(RpmsgError::AddressInUse(addr));
        }
        let free = self.endpoints.iter().find(|e| e.get().is_none()).ok_or(RpmsgError::TableFull)?;
        free.set(Some((addr, rx)));
        Ok(Endpoint { addr })
    }

    /// Deletes an endpoint; messages still waiting in its mailbox are given back and
    /// counted as `dropped_deleted`. Returns how many.
    pub fn delete_endpoint(&self, ept: Endpoint) -> Result<usize, RpmsgError> {
        let slot = self.slot_of(ept.addr).ok_or(RpmsgError::NoEndpoint(ept.addr))?;
        slot.set(None);
        let mut dropped = 0;
        while let Some(p) = self.take_pending(ept.addr) {
            RxBuf::free_raw(&self.rx, p.raw().0);
            dropped += 1;
        }
        self.count(|s| s.dropped_deleted = s.dropped_deleted.wrapping_add(dropped as u32));
        Ok(dropped)
    }

    /// Replaces how an endpoint receives. Messages already in its mailbox stay there.
    pub fn rebind(&self, ept: Endpoint, rx: Receiver<'r>) -> Result<(), RpmsgError> {
        let slot = self.slot_of(ept.addr).ok_or(RpmsgError::NoEndpoint(ept.addr))?;
        slot.set(Some((ept.addr, rx)));
        Ok(())
    }

    /// Looks an endpoint up by address.
    pub fn endpoint(&self, addr: u16) -> Option<Endpoint> {
        self.slot_of(addr).map(|_| Endpoint { addr })
    }

    fn slot_of(&self, addr: u16) -> Option<&Cell<Option<(u16, Receiver<'r>)>>> {
        self.endpoints.iter().find(|e| matches!(e.get(), Some((a, _)) if a == addr))
    }

    // ---- receiving ----------------------------------------------------------------

    /// Takes one message from the ring and routes it (see the module docs). Returns
    /// `false` when the ring was empty, `true` when a slot was consumed (delivered,
    /// dropped, or skipped as garbage).
    pub fn dispatch_one(&self) -> bool {
        self.poll_freeing()
    }

    /// [`Rpmsg::poll_one`], giving a handled buffer back at once. `false` when the ring
    /// was empty.
    fn poll_freeing(&self) -> bool {
        match self.poll_one() {
            Polled::Empty => false,
            Polled::Consumed => true,
            Polled::Done(idx) => {
                RxBuf::free_raw(&self.rx, idx);
                true
            }
        }
    }

    /// One slot from the ring, routed.
    fn poll_one(&self) -> Polled {
        let buf = match self.rx.try_recv() {
            Ok(b) => b,
            Err(QueueError::Empty) => return Polled::Empty,
            Err(_) => return Polled::Consumed, // garbage descriptor: counted by the queue
        };
        // Both words exist: the item size is above the header size (checked at attach).
        let [addrs, sizes] = buf.head_words().unwrap_or_default();
        let (src, dst, data_len, flags) =
            (addrs as u16, (addrs >> 16) as u16, sizes as u16, (sizes >> 16) as u16);
        let full = buf.full();
        if buf.len() < HEADER_SIZE || usize::from(data_len) > full.len() - HEADER_SIZE {
            self.count(|s| s.dropped_bad_len = s.dropped_bad_len.wrapping_add(1));
        } else {
            let Some((_, rx)) = self.slot_of(dst).and_then(|s| s.get()) else {
                self.count(|s| s.dropped_unknown = s.dropped_unknown.wrapping_add(1));
                return Polled::Done(buf.into_raw().0);
            };
            self.count(|s| s.delivered = s.delivered.wrapping_add(1));
            match rx {
                Receiver::Callback(cb) => {
                    // `data_len <= item_size − 8`: checked above.
                    cb(Inbound { src, dst, flags, data: payload(full, usize::from(data_len)) });
                }
                Receiver::Mailbox => {
                    self.push_pending(Pending::new(buf.into_raw(), addrs, sizes));
                    return Polled::Consumed;
                }
            }
        }
        // Until here a panicking callback drops `buf`, which gives it back.
        Polled::Done(buf.into_raw().0)
    }

    /// Polls the ring until it is empty, but at most one ring's worth of slots
    /// ([`Rpmsg::queue_capacity`]); returns how many slots were consumed.
    ///
    /// The bound keeps a peer that refills the ring as fast as it is read from holding
    /// the caller (an interrupt handler, a poll loop) for ever. Nothing is lost by it:
    /// every message in the ring when the call began is routed (there are at most
    /// `queue_capacity` of them, in order), and what is left arrived during the call, with its
    /// own notification. [`Rpmsg::has_input`] tells whether anything is left.
    pub fn dispatch(&self) -> usize {
        let mut n = 0;
        for _ in 0..self.rx.capacity() {
            if !self.poll_freeing() {
                break;
            }
            n += 1;
        }
        n
    }

    /// `true` if the ring holds a message not yet routed (nothing is taken).
    pub fn has_input(&self) -> bool {
        self.rx.has_data()
    }

    /// Writes back the slots of received buffers already given back (see
    /// [`Consumer::flush_frees`]).
    #[cfg(feature = "batch-free")]
    pub(crate) fn flush_frees(&self) {
        self.rx.flush_frees();
    }

    /// The waiting messages, oldest first.
    fn pending(&self) -> &[Cell<Pending>] {
        // `pending_len <= CAP` always (at most `n <= CAP` buffers are held).
        &self.pending[..self.pending_len.get().min(CAP)]
    }

    fn push_pending(&self, p: Pending) {
        // At most `n <= CAP` buffers can be held, so there is always room.
        let len = self.pending_len.get();
        if let Some(slot) = self.pending.get(len) {
            slot.set(p);
            self.pending_len.set(len + 1);
        }
    }

    fn take_pending(&self, dst: u16) -> Option<Pending> {
        let at = self.pending().iter().position(|p| p.get().dst() == dst)?;
        self.remove_pending(at)
    }

    /// Removes waiting message `at` and returns it (`None`: no message `at`).
    fn remove_pending(&self, at: usize) -> Option<Pending> {
        // A short copy down (few messages wait), cheaper in code than a ring.
        let pending = self.pending();
        let rest = pending.get(at..)?;
        let p = rest.first()?.get();
        for w in rest.windows(2) {
            w[0].set(w[1].get());
        }
        self.pending_len.set(pending.len() - 1);
        Some(p)
    }

    /// Takes the oldest message waiting for `ept` (a mailbox): one already routed there,
    /// else the ring is polled (routing what it finds) until a message for `ept` turns up,
    /// the ring is empty, or one ring's worth of slots ([`Rpmsg::queue_capacity`]) was routed.
    ///
    /// So a message for `ept` that was in the ring when the call began is found (at most
    /// `queue_capacity` messages are in the ring, in order), and a peer that keeps sending to
    /// other endpoints cannot hold the call. `None` with [`Rpmsg::has_input`] `true`
    /// means "not yet, more to route": what is left arrived during the call, and its
    /// sender's notification came after an interrupt epoch read before the call, so a
    /// wait that read the epoch first ([`Platform::irq_epoch`]) does not sleep through it.
    pub fn try_recv(&self, ept: Endpoint) -> Option<Message<'_, 'r, CAP>> {
        // One loop for both steps: the LP core's code budget counts every byte.
        let mut budget = self.rx.capacity();
        loop {
            if let Some(p) = self.take_pending(ept.addr) {
                return Some(Message::from_pending(&self.rx, p));
            }
            if budget == 0 || !self.poll_freeing() {
                return None;
            }
            budget -= 1;
        }
    }

    /// Takes the oldest message already routed to mailbox `ept`, without polling the ring.
    pub(crate) fn take_routed(&self, ept: Endpoint) -> Option<Message<'_, 'r, CAP>> {
        self.take_pending(ept.addr).map(|p| Message::from_pending(&self.rx, p))
    }

    /// `true` if a message waits for mailbox `ept`, after polling the ring (routing what it
    /// finds, at most one ring's worth of slots); nothing is taken.
    pub(crate) fn has_message(&self, ept: Endpoint) -> bool {
        self.poll_ring();
        self.pending().iter().any(|p| p.get().dst() == ept.addr)
    }

    /// Routes what the ring holds, at most one ring's worth of slots.
    pub(crate) fn poll_ring(&self) {
        for _ in 0..self.rx.capacity() {
            if !self.poll_freeing() {
                break;
            }
        }
    }

    /// Polls the ring (routing what it finds, at most one ring's worth of slots), then
    /// walks `ept`'s mailbox oldest first and lets `pick` decide about each message: take
    /// it (returned, the walk stops), keep it waiting, or give it back (dropped). For
    /// protocols on top of RPMsg that match replies out of order (RPC).
    pub fn try_recv_where(
        &self,
        ept: Endpoint,
        mut pick: impl FnMut(&Message<'_, 'r, CAP>) -> Pick,
    ) -> Option<Message<'_, 'r, CAP>> {
        self.poll_ring();
        let mut i = 0;
        while let Some(p) = self.pending().get(i).map(Cell::get) {
            if p.dst() != ept.addr {
                i += 1;
                continue;
            }
            let msg = Message::from_pending(&self.rx, p);
            match pick(&msg) {
                Pick::Keep => {
                    let _ = msg.buf.into_raw();
                    i += 1;
                }
                Pick::Take => {
                    self.remove_pending(i);
                    return Some(msg);
                }
                Pick::Drop => {
                    self.remove_pending(i);
                    drop(msg);
                }
            }
        }
        None
    }

    /// Blocks until a message for `ept` arrives or `timeout_ms` (`None` = forever)
    /// passes, sleeping until the next interrupt between attempts (the peer must notify).
    ///
    /// Returns within `timeout_ms` plus one attempt, whatever the peer sends: an attempt
    /// is one [`Rpmsg::try_recv`] (at most one ring's worth of messages routed, and the
    /// receive callbacks of those addressed to callback endpoints), and the clock is read
    /// after each. Messages left by an attempt's bound came with a notification after the
    /// interrupt epoch the attempt began with, so the wait does not sleep on them.
    pub fn recv_timeout<P: Platform>(
        &self,
        ept: Endpoint,
        platform: &P,
        timeout_ms: Option<u32>,
    ) -> Result<Message<'_, 'r, CAP>, RpmsgError> {
        crate::port::wait_until::<_, _, RpmsgError>(platform, timeout_ms, None, || self.try_recv(ept).map(Ok))
    }

    /// Waits asynchronously for a message for `ept`; `signal` must be registered as the
    /// handler of [`SwIntrId::RPMSG`].
    ///
    /// Each poll of the future does one [`Rpmsg::try_recv`]; when that stopped at its
    /// bound with messages left, the future wakes itself and yields (without waiting for
    /// the peer's notification), so other tasks of the executor run while a peer floods
    /// other endpoints.
    pub async fn recv<const W: usize>(&self, ept: Endpoint, signal: &IrqSignal<W>) -> Message<'_, 'r, CAP> {
        poll_fn(|cx| {
            signal.register(cx.waker());
            match self.try_recv(ept) {
                Some(m) => Poll::Ready(m),
                None => {
                    if self.has_input() {
                        cx.waker().wake_by_ref();
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }

    // ---- sending ------------------------------------------------------------------

    /// A buffer to build a message in place (`max_payload` bytes):
    /// [`QueueError::Full`] when every buffer is with the peer.
    pub fn alloc(&self) -> Result<TxMessage<'_, 'r, CAP>, RpmsgError> {
        Ok(TxMessage { buf: self.tx.alloc()?, stats: &self.stats })
    }

    /// Copies `data` into a message from `src` to `dst` and sends it.
    pub fn send(&self, src: Endpoint, dst: u16, data: &[u8]) -> Result<(), RpmsgError> {
        self.check_fits(data.len())?;
        let mut msg = self.alloc()?;
        // `data.len() <= max`, the payload's length: the copy takes all of `data`.
        msg.bytes_mut().copy_from(data);
        msg.commit(src, dst, data.len());
        Ok(())
    }

    /// Sends a copy of bytes that are themselves in shared memory (a received
    /// [`Message::bytes`], an [`Inbound`]'s data) from `src` to `dst`: the echo and bridge
    /// case, copied view to view, so no `&[u8]` over the peer's bytes is needed.
    /// [`QueueError::TooLarge`] if they exceed [`Rpmsg::max_payload`].
    ///
    /// ```
    /// # use esp_amp::shm::Shm;
    /// # use esp_amp::sys_info::SysInfoAllocator;
    /// # let mut mem = [0u32; 256];
    /// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
    /// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
    /// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
    /// # use esp_amp::queue::QueueSpec;
    /// # use esp_amp::rpmsg::{Receiver, Rpmsg};
    /// # use esp_amp::{MainCore, SubCore};
    /// # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
    /// # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
    /// let me = main.create_endpoint(1, Receiver::Mailbox).unwrap();
    /// let echo = sub.create_endpoint(0x20, Receiver::Mailbox).unwrap();
    /// main.send(me, 0x20, b"ping").unwrap();
    /// // The subcore echoes what it got, without copying it out first.
    /// let msg = sub.try_recv(echo).unwrap();
    /// sub.forward(echo, msg.src(), msg.bytes()).unwrap();
    /// assert_eq!(main.try_recv(me).unwrap().bytes(), b"ping");
    /// ```
    pub fn forward(&self, src: Endpoint, dst: u16, data: PeerBytes<'_>) -> Result<(), RpmsgError> {
        self.check_fits(data.len())?;
        let mut msg = self.alloc()?;
        // `data.len() <= max`, the payload's length: the copy takes all of `data`.
        msg.bytes_mut().copy_from_peer(data);
        msg.commit(src, dst, data.len());
        Ok(())
    }

    /// Waits asynchronously for a free buffer ([`Rpmsg::alloc`]). Frees raise no interrupt
    /// in the ESP-AMP protocol, so between attempts it waits for the next interrupt on
    /// `signal` (the handler of [`SwIntrId::RPMSG`]) or for `repoll()`, the application's
    /// timer, whichever comes first: with embassy, `|| Timer::after_millis(1)`. The poll
    /// interval is the timer's. Dropping the future gives nothing up: no buffer is taken
    /// until it completes.
    pub async fn alloc_async<const W: usize, F: Future<Output = ()>>(
        &self,
        signal: &IrqSignal<W>,
        mut repoll: impl FnMut() -> F,
    ) -> Result<TxMessage<'_, 'r, CAP>, RpmsgError> {
        loop {
            match self.alloc() {
                Err(RpmsgError::Queue(QueueError::Full)) => {}
                other => return other,
            }
            crate::signal::interrupt_or(signal, repoll()).await;
        }
    }

    /// [`Rpmsg::send`] that waits for a free buffer as [`Rpmsg::alloc_async`] does. Errors
    /// other than a full queue (a payload too large, a faulty peer) return at once.
    ///
    /// ```
    /// # use esp_amp::rpmsg::{Endpoint, Rpmsg, RpmsgError};
    /// # use esp_amp::signal::IrqSignal;
    /// # use esp_amp::MainCore;
    /// # async fn f(dev: &Rpmsg<'_, MainCore>, me: Endpoint, signal: &IrqSignal) -> Result<(), RpmsgError> {
    /// // Re-poll every millisecond (here a no-op future; embassy: `Timer::after_millis(1)`).
    /// dev.send_async(me, 0x20, b"ping", signal, || async {}).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_async<const W: usize, F: Future<Output = ()>>(
        &self,
        src: Endpoint,
        dst: u16,
        data: &[u8],
        signal: &IrqSignal<W>,
        repoll: impl FnMut() -> F,
    ) -> Result<(), RpmsgError> {
        self.check_fits(data.len())?;
        let mut msg = self.alloc_async(signal, repoll).await?;
        msg.bytes_mut().copy_from(data);
        msg.commit(src, dst, data.len());
        Ok(())
    }

    /// Like [`Rpmsg::send`], but waits up to `timeout_ms` (`None` = forever) for a free
    /// buffer. Frees are not signalled (as in C), so it re-checks at least every
    /// millisecond.
    pub fn send_timeout<P: Platform>(
        &self,
        src: Endpoint,
        dst: u16,
        data: &[u8],
        platform: &P,
        timeout_ms: Option<u32>,
    ) -> Result<(), RpmsgError> {
        crate::port::wait_until(platform, timeout_ms, Some(1), || match self.send(src, dst, data) {
            Err(RpmsgError::Queue(QueueError::Full)) => None,
            other => Some(other),
        })
    }
}

/// A received message waiting in a mailbox, in place; given back when dropped.
///
/// ```
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # use esp_amp::queue::QueueSpec;
/// # use esp_amp::rpmsg::{Receiver, Rpmsg};
/// # use esp_amp::{MainCore, SubCore};
/// # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
/// # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
/// let me = main.create_endpoint(1, Receiver::Mailbox).unwrap();
/// let inbox = sub.create_endpoint(2, Receiver::Mailbox).unwrap();
/// main.send(me, 2, b"hello").unwrap();
/// let msg = sub.try_recv(inbox).unwrap();
/// assert_eq!((msg.src(), msg.dst()), (1, 2));
/// assert_eq!(msg.bytes(), b"hello");
/// drop(msg); // the buffer goes back to the maincore
/// ```
pub struct Message<'d, 'r, const CAP: usize = 32> {
    buf: RxBuf<'d, 'r, CAP>,
    /// The header words as routed ([`Pending`]).
    addrs: u32,
    sizes: u32,
}

impl<'d, 'r, const CAP: usize> Message<'d, 'r, CAP> {
    fn from_pending(rx: &'d Consumer<'r, CAP>, p: Pending) -> Self {
        Message { buf: RxBuf::from_raw(rx, p.raw()), addrs: p.addrs, sizes: p.sizes }
    }

    /// Sender's endpoint address.
    pub fn src(&self) -> u16 {
        self.addrs as u16
    }
    /// Our endpoint address.
    pub fn dst(&self) -> u16 {
        (self.addrs >> 16) as u16
    }
    /// `data_flags` of the header.
    pub fn flags(&self) -> u16 {
        (self.sizes >> 16) as u16
    }

    /// Payload length (`data_len` of the header, checked against the buffer when the
    /// message was routed).
    pub fn len(&self) -> usize {
        usize::from(self.sizes as u16)
    }

    /// `true` if the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload, read in place (volatile views: see [`crate::payload`]).
    pub fn bytes(&self) -> PeerBytes<'_> {
        // `data_len <= item_size − 8` was checked when the message was routed.
        payload(self.buf.full(), self.len())
    }
}

impl<const CAP: usize> core::fmt::Debug for Message<'_, '_, CAP> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Message")
            .field("src", &self.src())
            .field("dst", &self.dst())
            .field("len", &self.len())
            .finish()
    }
}

/// A message being built in place. Dropped unsent, its buffer is kept for the next alloc.
///
/// ```
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # use esp_amp::queue::QueueSpec;
/// # use esp_amp::rpmsg::{Receiver, Rpmsg};
/// # use esp_amp::{MainCore, SubCore};
/// # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
/// # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
/// let me = main.create_endpoint(1, Receiver::Mailbox).unwrap();
/// let inbox = sub.create_endpoint(2, Receiver::Mailbox).unwrap();
/// // Build the payload in place (zero-copy), then send its length.
/// let mut msg = main.alloc().unwrap();
/// msg.bytes_mut().write(0, b"abc").unwrap();
/// msg.send(me, 2, 3).unwrap();
/// assert_eq!(sub.try_recv(inbox).unwrap().bytes(), b"abc");
/// ```
pub struct TxMessage<'d, 'r, const CAP: usize = 32> {
    buf: TxBuf<'d, 'r, CAP>,
    stats: &'d Cell<RpmsgStats>,
}

impl<const CAP: usize> TxMessage<'_, '_, CAP> {
    /// Sends with the 8-byte header `{src, dst, data_len, flags}` exactly as given, not
    /// checked against the buffer: for bridges that forward headers, and for tests that
    /// play a faulty peer (the receiver drops and counts what does not fit). The payload
    /// is whatever was written into the buffer. Cannot fail: the whole buffer is sent.
    pub fn send_raw(mut self, header: [u8; HEADER_SIZE]) {
        self.buf.bytes_mut().copy_from(&header);
        self.buf.send_full();
        let mut s = self.stats.get();
        s.sent = s.sent.wrapping_add(1);
        self.stats.set(s);
    }

    /// Sends the first `len` payload bytes from `src` to `dst`. `len` above the max
    /// payload fails with [`QueueError::TooLarge`] (the buffer is kept).
    pub fn send(self, src: Endpoint, dst: u16, len: usize) -> Result<(), RpmsgError> {
        let max = self.buf.len() - HEADER_SIZE;
        if len > max {
            return Err(QueueError::TooLarge { len, max }.into());
        }
        self.commit(src, dst, len);
        Ok(())
    }

    /// [`TxMessage::send`] with `len` checked by the caller.
    pub(crate) fn commit(mut self, src: Endpoint, dst: u16, len: usize) {
        // `{src, dst}`, `{data_len, flags = 0}`.
        self.buf.set_head_words(u32::from(src.addr) | u32::from(dst) << 16, len as u32);
        // C sends the whole item size, not the message length.
        self.buf.send_full();
        let mut s = self.stats.get();
        s.sent = s.sent.wrapping_add(1);
        self.stats.set(s);
    }
}

impl<const CAP: usize> TxMessage<'_, '_, CAP> {
    /// Room for the payload: the item size less the 8-byte header.
    pub fn len(&self) -> usize {
        self.buf.len().saturating_sub(HEADER_SIZE)
    }

    /// `true` if there is no room for a payload (never for a device that attached).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload area, to write the message into (volatile views: see
    /// [`crate::payload`]).
    pub fn bytes_mut(&mut self) -> PeerBytesMut<'_> {
        // The item size is above the header size (checked at attach).
        self.buf.bytes_mut().into_slice(HEADER_SIZE..).unwrap_or(PeerBytesMut::empty())
    }
}

/// Interrupt-mode dispatch (C's `poll = false`): registered as the handler of
/// [`SwIntrId::RPMSG`], it drains the ring inside a critical section.
impl<R: Role, const CAP: usize, const E: usize> SwIntrHandler
    for critical_section::Mutex<Rpmsg<'_, R, CAP, E>>
{
    fn on_sw_intr(&self, _id: SwIntrId) {
        // At most one ring's worth per interrupt (`dispatch`): what a flooding peer sends
        // meanwhile raises the line again.
        critical_section::with(|cs| {
            self.borrow(cs).dispatch();
        });
    }
}
