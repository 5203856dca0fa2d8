//! RPC over RPMsg (docs/protocol.md §7): request/response commands, client and server on either core.
//!
//! Every request and response is one RPMsg message whose payload starts with an 8-byte
//! [`PacketHeader`] `{msg_id, cmd_id, status, msg_len}` (little-endian `u16`s, in that
//! order) followed by `msg_len` bytes. A request carries `status = PENDING`; the response
//! echoes `msg_id` and `cmd_id` and carries the handler's status. So the largest request or
//! response body is `item_size − 16` ([`max_body`]).
//!
//! - [`RpcServer`] owns its request buffer and a service table of fixed capacity; its
//!   handlers write their answers straight into the response message (zero-copy); an
//!   unknown command is answered with [`Status::INVALID_CMD`] and one zero byte, as in C;
//!   a handler that answers with length 0 sends nothing (one-way command).
//! - [`RpcClient`] has a fixed number of request slots, so several requests can be in
//!   flight; responses are matched by `msg_id` *and* the server's address *and* `cmd_id`
//!   (C matches only the last `msg_id`). A response stays zero-copy in its RPMsg buffer
//!   until taken; a request that timed out or was cancelled has no slot any more, so its
//!   late response is given back and counted, never written anywhere.
//!
//! With the `postcard` feature, `typed` binds command ids to request and response types.
//!
//! Neither holds the RPMsg device: each call takes it as an argument, so a server or client
//! can live in a `critical_section::Mutex` next to the device and run in an interrupt
//! handler on bare metal, or in a thread or task elsewhere.
//!
//! ```
//! use esp_amp::payload::PeerBytesMut;
//! use esp_amp::queue::QueueSpec;
//! use esp_amp::rpc::{Reply, Request, RpcClient, RpcServer, Status};
//! use esp_amp::rpmsg::Rpmsg;
//! use esp_amp::shm::Shm;
//! use esp_amp::sys_info::SysInfoAllocator;
//! use esp_amp::{MainCore, SubCore};
//! let mut mem = [0u32; 512];
//! // SAFETY: `mem` is aligned, valid and outlives `pool`.
//! let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 2048) };
//! let mut sys = SysInfoAllocator::init(pool, None).unwrap();
//! let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 64).unwrap()).unwrap();
//! let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
//!
//! // Subcore: a server at endpoint 1 with one service, 0x10 = add two u16s.
//! // `req.data()` is the server's private copy; `resp` a view of the response buffer.
//! let add = |req: &Request<'_>, mut resp: PeerBytesMut<'_>| match req.data() {
//!     &[a0, a1, b0, b1] => {
//!         let sum = u16::from_le_bytes([a0, a1]).wrapping_add(u16::from_le_bytes([b0, b1]));
//!         match resp.write(0, &sum.to_le_bytes()) {
//!             Ok(()) => Reply::ok(2),
//!             Err(_) => Reply::new(Status::EXEC_FAILED, 0),
//!         }
//!     }
//!     _ => Reply::new(Status::EXEC_FAILED, 1),
//! };
//! let mut req_buf = [0u8; 32];
//! let mut server: RpcServer<4> = RpcServer::new(&sub, 1, &mut req_buf).unwrap();
//! server.add_service(0x10, &add).unwrap();
//!
//! // Maincore: a client at endpoint 0 talking to server 1.
//! let client: RpcClient<4> = RpcClient::new(&main, 0, 1).unwrap();
//! let mut call = client.call(&main, 0x10, &[2, 0, 3, 0]).unwrap();
//! assert_eq!(server.try_serve(&sub), 1);
//! let resp = call.try_response(&main).unwrap();
//! assert_eq!(resp.status(), Status::OK);
//! assert_eq!(resp.bytes(), [5, 0]);
//! ```

mod client;
mod server;
#[cfg(feature = "postcard")]
#[cfg_attr(docsrs, doc(cfg(feature = "postcard")))]
pub mod typed;

pub use client::{Call, ClientStats, Completed, OnResponse, Response, RpcClient};
pub use server::{Handler, Reply, Request, RpcServer, ServerStats};

use crate::payload::PeerBytes;
use crate::queue::QueueError;
use crate::rpmsg::RpmsgError;

/// Size of the RPC packet header inside the RPMsg payload.
pub const HEADER_SIZE: usize = 8;

/// The largest request or response body for RPMsg buffers of `item_size` bytes: the RPMsg
/// header and the RPC header come off (0 when they do not fit).
pub const fn max_body(item_size: usize) -> usize {
    item_size.saturating_sub(crate::rpmsg::HEADER_SIZE + HEADER_SIZE)
}

/// [`max_body`] of `dev`'s buffers.
fn body_limit<R: crate::role::Role, const CAP: usize, const E: usize>(
    dev: &crate::rpmsg::Rpmsg<'_, R, CAP, E>,
) -> usize {
    dev.max_payload().saturating_sub(HEADER_SIZE)
}

/// A response status (docs/protocol.md §7). Handlers may use any value; these are the named ones.
///
/// ```
/// use esp_amp::rpc::Status;
/// // C's codes: 0 is success, the others are failures (a server may define its own).
/// assert_eq!(Status::OK, Status(0));
/// assert_ne!(Status::EXEC_FAILED, Status::OK);
/// assert_ne!(Status::INVALID_CMD, Status::EXEC_FAILED);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Status(pub u16);

impl Status {
    /// The command ran.
    pub const OK: Status = Status(0x0000);
    /// `ESP_AMP_RPC_STATUS_SERVER_BUSY` (C never sends it).
    pub const SERVER_BUSY: Status = Status(0xFFFF);
    /// No service for this command id.
    pub const INVALID_CMD: Status = Status(0xFFFE);
    /// The command failed (for handlers; this server also uses it for requests larger
    /// than its request buffer).
    pub const EXEC_FAILED: Status = Status(0xFFFD);
    /// Carried by every request.
    pub const PENDING: Status = Status(0xFFFC);
}

/// The 8-byte RPC packet header, in wire order.
///
/// ```
/// use esp_amp::rpc::{PacketError, PacketHeader, Status};
/// let head = PacketHeader { msg_id: 7, cmd_id: 0x10, status: Status::OK, msg_len: 2 };
/// let mut wire = head.to_bytes().to_vec();
/// wire.extend_from_slice(&[1, 2, 3]); // a body of 2 and one byte of slack
/// assert_eq!(PacketHeader::parse(&wire), Ok((head, &[1u8, 2][..])));
/// // `msg_len` is checked against what is there (C trusts it).
/// assert_eq!(PacketHeader::parse(&wire[..9]), Err(PacketError::BodyTooLong { msg_len: 2, available: 1 }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketHeader {
    /// Request sequence number; the response echoes it.
    pub msg_id: u16,
    /// Command id; the response echoes it.
    pub cmd_id: u16,
    /// [`Status::PENDING`] in a request; the handler's status in a response.
    pub status: Status,
    /// Bytes of body after the header.
    pub msg_len: u16,
}

/// A packet that cannot be an RPC packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PacketError {
    /// Fewer than 8 bytes.
    Truncated {
        /// The payload length.
        len: usize,
    },
    /// `msg_len` runs past the end of the RPMsg payload.
    BodyTooLong {
        /// The header's `msg_len`.
        msg_len: u16,
        /// Bytes after the header.
        available: usize,
    },
}

impl core::fmt::Display for PacketError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            PacketError::Truncated { len } => write!(f, "RPC packet of {len} bytes has no 8-byte header"),
            PacketError::BodyTooLong { msg_len, available } => {
                write!(f, "RPC msg_len {msg_len} exceeds the {available} bytes after the header")
            }
        }
    }
}

impl core::error::Error for PacketError {}

impl PacketHeader {
    /// The header's wire bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..2].copy_from_slice(&self.msg_id.to_le_bytes());
        b[2..4].copy_from_slice(&self.cmd_id.to_le_bytes());
        b[4..6].copy_from_slice(&self.status.0.to_le_bytes());
        b[6..8].copy_from_slice(&self.msg_len.to_le_bytes());
        b
    }

    /// The header from its wire bytes (any bytes are a header; `msg_len` is checked by
    /// the parsers).
    fn from_bytes(head: &[u8; HEADER_SIZE]) -> PacketHeader {
        let field = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
        PacketHeader { msg_id: field(0), cmd_id: field(2), status: Status(field(4)), msg_len: field(6) }
    }

    /// [`PacketHeader::parse`] for a payload still in shared memory: the header is read
    /// once (copied out), and the body stays a view, cut by that copy's `msg_len`.
    pub fn parse_peer(payload: PeerBytes<'_>) -> Result<(PacketHeader, PeerBytes<'_>), PacketError> {
        let head =
            payload.read_array::<HEADER_SIZE>(0).ok_or(PacketError::Truncated { len: payload.len() })?;
        let h = PacketHeader::from_bytes(&head);
        let available = payload.len() - HEADER_SIZE;
        let body = payload
            .slice(HEADER_SIZE..HEADER_SIZE + usize::from(h.msg_len))
            .ok_or(PacketError::BodyTooLong { msg_len: h.msg_len, available })?;
        Ok((h, body))
    }

    /// Splits an RPMsg payload into its header and body, checking `msg_len` against what
    /// is there (docs/protocol.md §11: C trusts it).
    pub fn parse(payload: &[u8]) -> Result<(PacketHeader, &[u8]), PacketError> {
        let (head, rest) = payload
            .split_first_chunk::<HEADER_SIZE>()
            .ok_or(PacketError::Truncated { len: payload.len() })?;
        let h = PacketHeader::from_bytes(head);
        let body = rest
            .get(..usize::from(h.msg_len))
            .ok_or(PacketError::BodyTooLong { msg_len: h.msg_len, available: rest.len() })?;
        Ok((h, body))
    }
}

/// Why an RPC call failed. [`RpcError::code`] gives C's return code.
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
/// use esp_amp::rpc::{RpcClient, RpcError};
/// let client: RpcClient<1> = RpcClient::new(&main, 1, 2).unwrap();
/// let _first = client.call(&main, 0x10, b"a").unwrap();
/// // One call slot, and it is taken.
/// assert_eq!(client.call(&main, 0x10, b"b").err(), Some(RpcError::NoMem));
/// // A body larger than one message is refused before anything is sent.
/// assert!(matches!(client.send(&main, 0x10, &[0; 100]), Err(RpcError::InvalidSize { .. })));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RpcError {
    /// A request body larger than the largest that fits one RPMsg buffer; nothing was
    /// sent.
    InvalidSize {
        /// The body length asked for.
        len: usize,
        /// The largest body that fits one buffer.
        max: usize,
    },
    /// No free RPMsg buffer (the peer holds them all), or every request slot is in use.
    NoMem,
    /// A service for this command id exists already.
    Exist(u16),
    /// No service for this command id.
    NotFound(u16),
    /// No response (or no free buffer) in time.
    Timeout,
    /// The call was already answered and its response taken.
    InvalidState,
    /// The server's buffers are empty (zero bytes).
    InvalidArg,
    /// An RPMsg error (endpoint creation, queue fault).
    Rpmsg(RpmsgError),
}

impl RpcError {
    /// The C return code (`ESP_AMP_RPC_*`): OK 0, FAIL −1, INVALID_ARG −2, INVALID_SIZE −3,
    /// NO_MEM −4, EXIST −5, NOT_FOUND −6, TIMEOUT −7, INVALID_STATE −8.
    pub fn code(&self) -> i32 {
        match self {
            RpcError::Rpmsg(_) => -1,
            RpcError::InvalidArg => -2,
            RpcError::InvalidSize { .. } => -3,
            RpcError::NoMem => -4,
            RpcError::Exist(_) => -5,
            RpcError::NotFound(_) => -6,
            RpcError::Timeout => -7,
            RpcError::InvalidState => -8,
        }
    }
}

impl core::fmt::Display for RpcError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            RpcError::InvalidSize { len, max } => {
                write!(f, "RPC body of {len} bytes exceeds the {max} that fit")
            }
            RpcError::NoMem => f.write_str("no free RPMsg buffer or request slot"),
            RpcError::Exist(c) => write!(f, "service {c:#06x} exists already"),
            RpcError::NotFound(c) => write!(f, "no service {c:#06x}"),
            RpcError::Timeout => f.write_str("RPC timed out"),
            RpcError::InvalidState => f.write_str("the call's response was already taken"),
            RpcError::InvalidArg => f.write_str("RPC server buffers must not be empty"),
            RpcError::Rpmsg(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for RpcError {}

impl From<RpmsgError> for RpcError {
    fn from(e: RpmsgError) -> Self {
        match e {
            RpmsgError::Queue(QueueError::Full) => RpcError::NoMem,
            RpmsgError::Queue(QueueError::Timeout) => RpcError::Timeout,
            e => RpcError::Rpmsg(e),
        }
    }
}

impl From<QueueError> for RpcError {
    fn from(e: QueueError) -> Self {
        RpmsgError::Queue(e).into()
    }
}
