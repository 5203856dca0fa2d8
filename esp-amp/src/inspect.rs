//! Read-only views of a shared region, for tools and tests: what the queues and RPMsg
//! devices hold, decoded without taking part in the protocol (nothing is written, no
//! index moves).
//!
//! A snapshot carries no local state (indices, wrap counters), but the flags do not need
//! it: the producer toggles `AVAILABLE` once per send and the consumer toggles `USED` once
//! per free, so a descriptor whose two bits differ holds a message sent and not yet freed,
//! whatever the lap (docs/protocol.md §5.4). Everything read is checked as the live code checks it;
//! a bad descriptor or header is reported, never trusted.
//!
//! ```
//! use esp_amp::inspect::{QueueView, SlotState};
//! use esp_amp::queue::{Placement, Producer, QueueSpec};
//! use esp_amp::shm::Shm;
//! use esp_amp::sys_info::{Pool, SysInfoAllocator, SysInfoId};
//!
//! let mut backing = [0u32; 256];
//! // SAFETY: `backing` is valid, 4-byte aligned, outlives `shm` and is only used through it.
//! let shm = unsafe { Shm::from_raw(backing.as_mut_ptr().cast(), 0x4087_A580, 1024) };
//! let mut sys = SysInfoAllocator::init(shm, None).unwrap();
//! let id = SysInfoId(0x0100);
//! let tx = Producer::<8>::create(&mut sys, id, QueueSpec::new(4, 16).unwrap(), Placement::Normal).unwrap();
//! tx.send(b"hi").unwrap();
//!
//! let block = sys.info().get(id, Pool::Hp).unwrap();
//! let view = QueueView::attach(block.shm(), block.addr(), None).unwrap();
//! assert_eq!((view.filled(), view.free()), (1, 3));
//! let first = view.slot(0).unwrap();
//! assert_eq!((first.state, first.len), (SlotState::Filled, 2));
//! ```

use crate::queue::ring::{Geometry, AVAIL, USED};
use crate::queue::{attach_queue, desc_window, Attached, QueueError, DESC_SIZE, MAX_LEN};
use crate::rpmsg::{attach_pair, RpmsgError, HEADER_SIZE};
use crate::shm::Shm;
use crate::sys_info::{Pool, SysInfo, SysInfoId};

/// Where a descriptor stands, from its flags alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// `AVAILABLE == USED`: the buffer is back with the producer (free, or allocated and
    /// not yet sent).
    Free,
    /// `AVAILABLE != USED`: sent and not yet freed (waiting, or held by the consumer).
    Filled,
}

/// What is wrong with one descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlotFault {
    /// Bits other than `AVAILABLE` (0x0080) and `USED` (0x8000) are set.
    BadFlags(u16),
    /// The address is not one of this queue's buffers.
    BadAddress(u32),
    /// The length exceeds the item size.
    BadLength(u16),
}

impl core::fmt::Display for SlotFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            SlotFault::BadFlags(v) => write!(f, "flags 0x{v:04x} have bits other than AVAILABLE/USED"),
            SlotFault::BadAddress(a) => write!(f, "address 0x{a:08x} is not a buffer of this queue"),
            SlotFault::BadLength(l) => write!(f, "length {l} exceeds the item size"),
        }
    }
}

impl core::error::Error for SlotFault {}

/// One descriptor, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotView {
    /// Descriptor index.
    pub index: u16,
    /// The buffer address it carries.
    pub addr: u32,
    /// The length it carries (the send length when filled; the item size after a free).
    pub len: u16,
    /// Raw flags.
    pub flags: u16,
    /// Free or filled.
    pub state: SlotState,
    /// The first problem found, if any. Address and length are only checked where they
    /// matter: the address always (a free slot's buffer is the next one handed out), the
    /// length only on a filled slot.
    pub fault: Option<SlotFault>,
}

/// A validated, read-only view of one queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueView<'r> {
    block: Shm<'r>,
    descs: Shm<'r>,
    geo: Geometry,
    conf_addr: u32,
    desc_addr: u32,
}

impl<'r> QueueView<'r> {
    /// Reads and checks the configuration at `conf_addr` inside `block` (the queue's HP
    /// SysInfo block), with the descriptors either there or in `rtc` (the light-sleep
    /// placement). The checks are those of a live attach: power-of-two length, item size,
    /// descriptors and buffers inside the blocks, nothing overlapping.
    pub fn attach(block: Shm<'r>, conf_addr: u32, rtc: Option<Shm<'r>>) -> Result<Self, QueueError> {
        Ok(Self::from_attached(block, rtc, attach_queue(block, conf_addr, rtc, MAX_LEN as usize)?))
    }

    fn from_attached(block: Shm<'r>, rtc: Option<Shm<'r>>, a: Attached<'r>) -> Self {
        let desc_bytes = DESC_SIZE * u32::from(a.geo.n);
        // Found at attach; `block` again if not (it cannot be: the reads then fail safely).
        let descs = desc_window(block, rtc, a.desc_addr, desc_bytes).unwrap_or(block);
        QueueView { block, descs, geo: a.geo, conf_addr: a.conf_addr, desc_addr: a.desc_addr }
    }

    /// Number of descriptors.
    pub fn capacity(&self) -> u16 {
        self.geo.n
    }
    /// Buffer size in bytes.
    pub fn item_size(&self) -> u16 {
        self.geo.s
    }
    /// Device address of the configuration.
    pub fn conf_addr(&self) -> u32 {
        self.conf_addr
    }
    /// Device address of descriptor 0.
    pub fn desc_addr(&self) -> u32 {
        self.desc_addr
    }
    /// Device address of buffer 0.
    pub fn buf_addr(&self) -> u32 {
        self.geo.buf_base
    }
    /// `true` when the descriptors are in the RTC block (light-sleep placement).
    pub fn descriptors_in_rtc(&self) -> bool {
        !self.block.contains(self.desc_addr, DESC_SIZE * u32::from(self.geo.n))
    }

    /// Descriptor `index`, or `None` past the end.
    pub fn slot(&self, index: u16) -> Option<SlotView> {
        if index >= self.geo.n {
            return None;
        }
        let d = self.desc_addr + u32::from(index) * DESC_SIZE;
        // In bounds: the whole table was checked at attach.
        let addr = self.descs.read_u32(d).ok()?;
        let len = self.descs.read_u16(d + 4).ok()?;
        let flags = self.descs.read_u16(d + 6).ok()?;
        let state =
            if (flags & AVAIL != 0) == (flags & USED != 0) { SlotState::Free } else { SlotState::Filled };
        let fault = if flags & !(AVAIL | USED) != 0 {
            Some(SlotFault::BadFlags(flags))
        } else if self.geo.index_of(addr).is_none() {
            Some(SlotFault::BadAddress(addr))
        } else if state == SlotState::Filled && len > self.geo.s {
            Some(SlotFault::BadLength(len))
        } else {
            None
        };
        Some(SlotView { index, addr, len, flags, state, fault })
    }

    /// Every descriptor, in index order.
    pub fn slots(&self) -> impl Iterator<Item = SlotView> + '_ {
        (0..self.geo.n).filter_map(|i| self.slot(i))
    }

    /// Descriptors holding a sent, not yet freed buffer.
    pub fn filled(&self) -> usize {
        self.slots().filter(|s| s.state == SlotState::Filled).count()
    }
    /// Descriptors back with the producer.
    pub fn free(&self) -> usize {
        usize::from(self.geo.n) - self.filled()
    }

    /// Filled descriptors in the order they were sent. The filled slots of a consistent
    /// queue form one run (modulo the length) that starts after a free slot. When every
    /// slot is filled, the slots from 0 up were sent in the producer's newer lap and carry
    /// the other `AVAILABLE` value, so the run starts at the first slot above 0 where that
    /// value changes (at 0 if it never does).
    ///
    /// The buffers named by filled slots are those the producer sent. After out-of-order
    /// frees (the consumer frees into the next sequential slot, docs/protocol.md §5.5), a buffer that
    /// is still held can sit in a free slot and a filled slot can name a buffer already
    /// freed: the count is always right, the identity only when frees follow receives.
    pub fn in_flight(&self) -> impl Iterator<Item = SlotView> + '_ {
        let n = self.geo.n;
        let at = move |i: u16| self.slot(i & (n - 1));
        let filled = |s: Option<SlotView>| s.is_some_and(|s| s.state == SlotState::Filled);
        let avail = |s: Option<SlotView>| s.map(|s| s.flags & AVAIL);
        let after_free = (0..n).find(|&i| filled(at(i)) && !filled(at(i + n - 1)));
        let lap_change = || (1..n).find(|&i| avail(at(i)) != avail(at(i + n - 1)));
        let start = after_free.or_else(lap_change).unwrap_or(0);
        (0..n).filter_map(move |k| at(start + k)).filter(|s| s.state == SlotState::Filled)
    }

    /// Copies up to `out.len()` bytes of the buffer at `addr` (which must be one of this
    /// queue's buffers) into `out`; returns how many were copied.
    pub fn read_buffer(&self, addr: u32, out: &mut [u8]) -> Option<usize> {
        self.geo.index_of(addr)?;
        let n = out.len().min(usize::from(self.geo.s));
        self.block.read_bytes(addr, &mut out[..n]).ok()?;
        Some(n)
    }
}

/// What is wrong with an RPMsg header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MessageFault {
    /// The descriptor itself is bad (see [`SlotFault`]); the header was not read.
    Slot(SlotFault),
    /// `data_len` is larger than the buffer allows (item size − 8).
    DataLenTooLarge(u16),
}

impl core::fmt::Display for MessageFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            MessageFault::Slot(s) => write!(f, "{s}"),
            MessageFault::DataLenTooLarge(l) => write!(f, "data_len {l} exceeds the buffer"),
        }
    }
}

impl core::error::Error for MessageFault {}

/// One RPMsg message in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageView {
    /// The descriptor that carries it.
    pub slot: SlotView,
    /// Sender endpoint.
    pub src: u16,
    /// Destination endpoint.
    pub dst: u16,
    /// Payload length claimed by the header.
    pub data_len: u16,
    /// `data_flags` (not interpreted).
    pub flags: u16,
    /// Device address of the payload.
    pub payload_addr: u32,
    /// Why the message could not be delivered, if it could not.
    pub fault: Option<MessageFault>,
}

/// Direction of one queue of an RPMsg device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Queue 0 (configuration at +0): the maincore produces.
    MainToSub,
    /// Queue 1 (configuration at +12): the subcore produces.
    SubToMain,
}

/// A validated, read-only view of an RPMsg device (a queue pair in one SysInfo block).
#[derive(Debug, Clone, Copy)]
pub struct RpmsgView<'r> {
    queues: [QueueView<'r>; 2],
}

impl<'r> RpmsgView<'r> {
    /// Finds device `id` (0xFF03 by default) in `info` and checks it as a live attach does.
    pub fn attach(info: &SysInfo<'r>, id: SysInfoId) -> Result<Self, RpmsgError> {
        let block = info.get(id, Pool::Hp).map_err(QueueError::from)?;
        let rtc = info.get(id, Pool::Rtc).ok().map(|b| b.shm());
        Self::attach_block(block.shm(), rtc)
    }

    /// Checks the queue pair at the start of `block` (descriptors of queue 0 may be in
    /// `rtc`, the light-sleep placement).
    pub fn attach_block(block: Shm<'r>, rtc: Option<Shm<'r>>) -> Result<Self, RpmsgError> {
        let [q0, q1] = attach_pair(block, rtc, MAX_LEN as usize)?;
        Ok(RpmsgView {
            queues: [QueueView::from_attached(block, rtc, q0), QueueView::from_attached(block, rtc, q1)],
        })
    }

    /// The queue of one direction.
    pub fn queue(&self, d: Direction) -> &QueueView<'r> {
        match d {
            Direction::MainToSub => &self.queues[0],
            Direction::SubToMain => &self.queues[1],
        }
    }

    /// Largest payload per message.
    pub fn max_payload(&self, d: Direction) -> usize {
        usize::from(self.queue(d).item_size()) - HEADER_SIZE
    }

    /// Messages sent in direction `d` and not yet freed, oldest first, with their headers
    /// checked.
    pub fn messages(&self, d: Direction) -> impl Iterator<Item = MessageView> + '_ {
        let q = self.queue(d);
        q.in_flight().map(move |slot| {
            let mut h = [0u8; HEADER_SIZE];
            let read = slot.fault.is_none() && q.read_buffer(slot.addr, &mut h) == Some(HEADER_SIZE);
            let half = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
            let (src, dst, data_len, flags) = (half(0), half(2), half(4), half(6));
            let fault = match slot.fault {
                Some(f) => Some(MessageFault::Slot(f)),
                None if !read => Some(MessageFault::Slot(SlotFault::BadAddress(slot.addr))),
                None if usize::from(data_len) > usize::from(q.item_size()) - HEADER_SIZE => {
                    Some(MessageFault::DataLenTooLarge(data_len))
                }
                None => None,
            };
            MessageView {
                slot,
                src,
                dst,
                data_len,
                flags,
                payload_addr: slot.addr + HEADER_SIZE as u32,
                fault,
            }
        })
    }

    /// Copies a message's payload (at most `data_len` bytes, and only for a message without
    /// fault) into `out`; returns how many bytes were copied.
    pub fn read_payload(&self, d: Direction, m: &MessageView, out: &mut [u8]) -> usize {
        if m.fault.is_some() {
            return 0;
        }
        let n = out.len().min(usize::from(m.data_len));
        match self.queue(d).block.read_bytes(m.payload_addr, &mut out[..n]) {
            Ok(()) => n,
            Err(_) => 0,
        }
    }
}
