//! The system service queue (docs/protocol.md §8.4): subcore → maincore requests, such as print lines.
//!
//! One queue in SysInfo block 0xFF04, 16 buffers of 128 bytes, the **subcore produces**
//! and raises software interrupt 27 after each send. A request is
//! `{srv_id: u16, param_len: u16, param: [u8; 124]}`, sent with the descriptor length 128
//! (the whole buffer), as in C.
//!
//! On the maincore, [`Supplicant`] drains the queue: print requests become lines
//! (bounded by `param_len` and the buffer, unlike C's `puts`, which reads up to a NUL
//! wherever it is), unknown services are freed and counted.

use core::cell::Cell;

use crate::queue::{Consumer, Producer, QueueError, QueueSpec};
use crate::sw_intr::SwIntrId;
use crate::sys_info::{SysInfo, SysInfoAllocator, SysInfoId};

/// SysInfo id of the service queue.
pub const QUEUE_ID: SysInfoId = SysInfoId::SYSTEM;
/// Buffers in the service queue.
pub const QUEUE_LEN: u32 = 16;
/// Bytes per buffer.
pub const ITEM_SIZE: u32 = 128;
/// Software interrupt raised by the subcore after a send.
pub const SW_INTR: SwIntrId = SwIntrId::SYS_SVC;
/// Bytes before `param`.
pub const HEADER_SIZE: usize = 4;
/// Largest `param`.
pub const MAX_PARAM: usize = ITEM_SIZE as usize - HEADER_SIZE;
/// `srv_id` of a print line.
pub const SERVICE_PRINT: u16 = 1;
/// `srv_id` of a request still being filled (C's `create_request`).
pub const SERVICE_NONE: u16 = 0xFFFF;

/// The queue's shape.
pub fn spec() -> QueueSpec {
    // 16 × 128 is a valid spec; `new` cannot fail for it.
    QueueSpec::new(QUEUE_LEN, ITEM_SIZE).unwrap_or_else(|_| unreachable!())
}

/// The subcore's end of the service queue.
pub type ServiceProducer<'r> = Producer<'r, 16>;

/// Subcore: finds the service queue (`Err` when the maincore has no supplicant).
pub fn attach<'r>(info: &SysInfo<'r>) -> Result<ServiceProducer<'r>, QueueError> {
    Producer::attach(info, QUEUE_ID)
}

/// Subcore: sends one request (`param` at most [`MAX_PARAM`] bytes) as C's
/// `send_request` does; `Full` when no buffer is free.
pub fn send_request(tx: &ServiceProducer<'_>, srv_id: u16, param: &[u8]) -> Result<(), QueueError> {
    if param.len() > MAX_PARAM {
        return Err(QueueError::TooLarge { len: param.len(), max: MAX_PARAM });
    }
    let mut buf = tx.alloc()?;
    let mut bytes = buf.bytes_mut();
    // `param_len <= MAX_PARAM` (checked above): everything fits the item.
    let head = u32::from(srv_id) | (param.len() as u32) << 16;
    let fits = bytes.write(0, &head.to_le_bytes()).and_then(|()| bytes.write(HEADER_SIZE, param));
    if fits.is_err() {
        return Err(QueueError::TooLarge { len: param.len(), max: MAX_PARAM });
    }
    buf.send(ITEM_SIZE as usize)
}

/// What the supplicant dropped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SupplicantStats {
    /// Print lines delivered.
    pub lines: u32,
    /// Requests for services this side does not know (freed, as in C).
    pub unknown: u32,
    /// Requests shorter than their header or with `param_len` beyond the buffer.
    pub malformed: u32,
    /// Descriptors the peer garbled (counted by the queue too).
    pub faults: u32,
}

/// Maincore: the service queue's consumer and its dispatcher.
///
/// ```
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// use esp_amp::system::{print::Printer, service::{self, Supplicant}};
/// # let mut mem = [0u32; 1024];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 4096) };
/// let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// let supplicant = Supplicant::create(&mut sys).unwrap();
/// // Subcore side (normally another core):
/// let mut printer = Printer::new(Some(service::attach(&sys.info()).unwrap()));
/// core::fmt::Write::write_str(&mut printer, "hello\nworld\n").unwrap();
/// let mut lines = Vec::new();
/// supplicant.dispatch(|line| lines.push(String::from_utf8_lossy(line).into_owned()));
/// assert_eq!(lines, ["hello", "world"]);
/// ```
pub struct Supplicant<'r> {
    rx: Consumer<'r, 16>,
    stats: Cell<SupplicantStats>,
}

impl<'r> Supplicant<'r> {
    /// Maincore, before the subcore starts: creates the service queue.
    pub fn create(sys: &mut SysInfoAllocator<'r>) -> Result<Self, QueueError> {
        Ok(Supplicant {
            rx: Consumer::create(sys, QUEUE_ID, spec())?,
            stats: Cell::new(SupplicantStats::default()),
        })
    }

    /// Drains every waiting request; each print line (without its NUL and newline) goes to
    /// `on_line`. Returns how many requests were taken. Call it from the software
    /// interrupt 27 handler's task, a thread, or a poll loop.
    pub fn dispatch(&self, mut on_line: impl FnMut(&[u8])) -> usize {
        let mut s = self.stats.get();
        let mut taken = 0;
        // Bounded: at most `len` buffers can be filled at once.
        for _ in 0..QUEUE_LEN {
            let buf = match self.rx.try_recv() {
                Ok(b) => b,
                Err(QueueError::Empty) => break,
                Err(_) => {
                    s.faults += 1;
                    continue;
                }
            };
            taken += 1;
            // Copied out before it is parsed, so the peer cannot change what was checked.
            let mut local = [0u8; ITEM_SIZE as usize];
            let n = buf.bytes().copy_to(&mut local);
            drop(buf);
            match parse_request(local.get(..n).unwrap_or_default()) {
                Some((SERVICE_PRINT, param)) => {
                    let end = param.iter().position(|&b| b == 0).unwrap_or(param.len());
                    on_line(&param[..end]);
                    s.lines += 1;
                }
                Some(_) => s.unknown += 1,
                None => s.malformed += 1,
            }
        }
        self.stats.set(s);
        taken
    }

    /// `true` if a request is waiting.
    pub fn has_data(&self) -> bool {
        self.rx.has_data()
    }

    /// Counters.
    pub fn stats(&self) -> SupplicantStats {
        self.stats.get()
    }
}

/// Splits a received request into `srv_id` and its `param` (bounded by `param_len` and
/// by what was received); `None` if malformed.
pub fn parse_request(buf: &[u8]) -> Option<(u16, &[u8])> {
    let header = buf.get(..HEADER_SIZE)?;
    let srv_id = u16::from_le_bytes([header[0], header[1]]);
    let param_len = usize::from(u16::from_le_bytes([header[2], header[3]]));
    if param_len > MAX_PARAM {
        return None;
    }
    Some((srv_id, buf.get(HEADER_SIZE..HEADER_SIZE + param_len)?))
}
