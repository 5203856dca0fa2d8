//! The RPC server: a service table and the request → handler → response loop.

use core::future::poll_fn;
use core::task::Poll;

use super::{PacketHeader, RpcError, Status, HEADER_SIZE};
use crate::payload::PeerBytesMut;
use crate::port::Platform;
use crate::role::Role;
use crate::rpmsg::{Endpoint, Message, Receiver, Rpmsg, TxMessage};
use crate::signal::IrqSignal;

/// A request as the handler sees it: copied out of shared memory into the server's own
/// request buffer, so the peer cannot change it under the handler.
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
/// use esp_amp::payload::PeerBytesMut;
/// use esp_amp::rpc::{Reply, Request, RpcClient, RpcServer};
/// // A handler sees the request's addressing and a private copy of its body.
/// let echo = |req: &Request<'_>, mut resp: PeerBytesMut<'_>| {
///     assert_eq!((req.client(), req.cmd_id()), (1, 0x10));
///     Reply::ok(resp.copy_from(req.data()))
/// };
/// let mut rq = [0u8; 16];
/// let mut server: RpcServer<1> = RpcServer::new(&sub, 2, &mut rq).unwrap();
/// server.add_service(0x10, &echo).unwrap();
/// let client: RpcClient<1> = RpcClient::new(&main, 1, 2).unwrap();
/// let mut call = client.call(&main, 0x10, b"hi").unwrap();
/// server.try_serve(&sub);
/// assert_eq!(call.try_response(&main).unwrap().bytes(), b"hi");
/// ```
#[derive(Debug)]
pub struct Request<'a> {
    client: u16,
    msg_id: u16,
    cmd_id: u16,
    data: &'a [u8],
}

impl<'a> Request<'a> {
    /// The client's endpoint address (where the response goes).
    pub fn client(&self) -> u16 {
        self.client
    }
    /// The request's sequence number.
    pub fn msg_id(&self) -> u16 {
        self.msg_id
    }
    /// The command id.
    pub fn cmd_id(&self) -> u16 {
        self.cmd_id
    }
    /// The request body.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

/// What a handler answers: a status and how many bytes of the response buffer to send.
/// Length 0 sends no response at all (a one-way command, as in C).
///
/// ```
/// use esp_amp::payload::PeerBytesMut;
/// use esp_amp::rpc::{Reply, Request, Status};
/// // A handler's answer: a status and how many bytes of `resp` it wrote.
/// let parity = |req: &Request<'_>, mut resp: PeerBytesMut<'_>| match req.data() {
///     [b] => {
///         resp.set(0, b & 1);
///         Reply::ok(1)
///     }
///     _ => Reply::new(Status::EXEC_FAILED, 0),
/// };
/// # let _ = parity;
/// // `Reply::NONE` answers nothing: a one-way command.
/// assert_eq!(Reply::ok(0), Reply::NONE);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status to send.
    pub status: Status,
    /// Bytes of the response buffer to send (0: no response).
    pub len: usize,
}

impl Reply {
    /// No response (one-way command).
    pub const NONE: Reply = Reply { status: Status::OK, len: 0 };

    /// `status` with the first `len` bytes of the response buffer.
    pub const fn new(status: Status, len: usize) -> Reply {
        Reply { status, len }
    }

    /// [`Status::OK`] with the first `len` bytes of the response buffer.
    pub const fn ok(len: usize) -> Reply {
        Reply { status: Status::OK, len }
    }
}

/// A service: gets the request (a private copy) and a response buffer (the body of the
/// response message in shared memory, as large as fits one message; what it holds before
/// the handler writes is unspecified), writes its answer there and says how much of it to
/// send. The response is written in place (zero-copy) through a
/// [`PeerBytesMut`](crate::payload::PeerBytesMut) view.
///
/// Implemented for every `Fn(&Request, PeerBytesMut) -> Reply + Sync`. On bare metal it
/// may run in interrupt context: keep it short.
pub trait Handler: Sync {
    /// Answers `req`, writing the response body into `resp`.
    fn handle(&self, req: &Request<'_>, resp: PeerBytesMut<'_>) -> Reply;
}

impl<F: Fn(&Request<'_>, PeerBytesMut<'_>) -> Reply + Sync> Handler for F {
    fn handle(&self, req: &Request<'_>, resp: PeerBytesMut<'_>) -> Reply {
        self(req, resp)
    }
}

/// Server counters (wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServerStats {
    /// Requests taken (each is answered, or one-way, or counted below).
    pub requests: u32,
    /// Responses sent.
    pub responses: u32,
    /// Requests whose handler asked for no response.
    pub one_way: u32,
    /// Requests for a command without a service (answered [`Status::INVALID_CMD`]).
    pub invalid_cmd: u32,
    /// Messages too short for the header, or whose `msg_len` overruns them: dropped,
    /// unanswered (their `msg_id` cannot be trusted).
    pub malformed: u32,
    /// Requests larger than the request buffer: answered [`Status::EXEC_FAILED`] with no
    /// body, the handler not run (C silently truncates them).
    pub oversize: u32,
    /// Handlers that returned a length beyond their buffer: answered
    /// [`Status::EXEC_FAILED`] with no body.
    pub bad_reply_len: u32,
    /// Polls that found no free buffer for a response and so took no request (the
    /// requests wait in the ring for a later poll; C drops such a response).
    pub reply_waited: u32,
}

/// An RPC server on one RPMsg endpoint, with up to `SVC` services.
///
/// Requests are handled by [`RpcServer::try_serve`] (or [`serve_timeout`](RpcServer::serve_timeout),
/// or [`serve`](RpcServer::serve) in a task), each in turn: a free RPMsg buffer is taken for
/// the response first, the request is copied into the request buffer and its RPMsg buffer
/// given back, the handler writes its answer straight into the response buffer (zero-copy),
/// and the response goes to the request's source. While no buffer is free for a response,
/// the server takes no request: nothing is dropped, and the peer is slowed down instead.
///
/// Every method takes the device the server was created on.
///
/// ```
/// use esp_amp::rpc::{Reply, Request, RpcClient, RpcServer};
/// # use esp_amp::queue::QueueSpec;
/// # use esp_amp::rpmsg::Rpmsg;
/// # use esp_amp::shm::Shm;
/// # use esp_amp::sys_info::SysInfoAllocator;
/// # use esp_amp::{MainCore, SubCore};
/// # let mut mem = [0u32; 512];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 2048) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # let main: Rpmsg<MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 64).unwrap()).unwrap();
/// # let sub: Rpmsg<SubCore> = Rpmsg::attach(&sys.info()).unwrap();
/// // Subcore: endpoint 1 serves command 0x11, which echoes its request.
/// let echo = |req: &Request<'_>, mut resp: esp_amp::payload::PeerBytesMut<'_>| {
///     resp.copy_from(req.data());
///     Reply::ok(req.data().len())
/// };
/// let mut req_buf = [0u8; 48]; // each request is copied here before its handler runs
/// let mut server: RpcServer = RpcServer::new(&sub, 1, &mut req_buf).unwrap();
/// server.add_service(0x11, &echo).unwrap();
/// # let client: RpcClient = RpcClient::new(&main, 0, 1).unwrap();
/// # let mut call = client.call(&main, 0x11, b"hi").unwrap();
/// // In its loop or interrupt handler: answer what has arrived.
/// assert_eq!(server.try_serve(&sub), 1);
/// # assert_eq!(call.try_response(&main).unwrap().bytes(), b"hi");
/// ```
pub struct RpcServer<'h, const SVC: usize = 8> {
    ept: Endpoint,
    services: [Option<(u16, &'h dyn Handler)>; SVC],
    req: &'h mut [u8],
    stats: ServerStats,
}

impl<'h, const SVC: usize> RpcServer<'h, SVC> {
    /// Creates the server's endpoint `addr` (a mailbox) on `dev`. `req` is the request
    /// buffer; it may not be empty ([`RpcError::InvalidArg`]), and a request larger than it
    /// is refused ([`Status::EXEC_FAILED`]). A device whose messages cannot hold a one-byte
    /// response body is refused ([`RpcError::InvalidSize`]).
    pub fn new<R: Role, const CAP: usize, const E: usize>(
        dev: &Rpmsg<'_, R, CAP, E>,
        addr: u16,
        req: &'h mut [u8],
    ) -> Result<Self, RpcError> {
        if req.is_empty() {
            return Err(RpcError::InvalidArg);
        }
        // A response must hold the RPC header and one byte (an INVALID_CMD answer).
        let max = dev.max_payload();
        if max < HEADER_SIZE + 1 {
            return Err(RpcError::InvalidSize { len: HEADER_SIZE + 1, max });
        }
        let ept = dev.create_endpoint(addr, Receiver::Mailbox)?;
        Ok(RpcServer { ept, services: [None; SVC], req, stats: ServerStats::default() })
    }

    /// Deletes the endpoint; requests still waiting are given back unanswered. Returns how
    /// many.
    pub fn close<R: Role, const CAP: usize, const E: usize>(self, dev: &Rpmsg<'_, R, CAP, E>) -> usize {
        dev.delete_endpoint(self.ept).unwrap_or(0)
    }

    /// The server's endpoint address.
    pub fn addr(&self) -> u16 {
        self.ept.addr()
    }

    /// The counters.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// Registers `handler` for `cmd_id`: [`RpcError::Exist`] when one is registered
    /// already, [`RpcError::NoMem`] when all `SVC` entries are used.
    pub fn add_service(&mut self, cmd_id: u16, handler: &'h dyn Handler) -> Result<(), RpcError> {
        if self.handler(cmd_id).is_some() {
            return Err(RpcError::Exist(cmd_id));
        }
        let free = self.services.iter_mut().find(|s| s.is_none()).ok_or(RpcError::NoMem)?;
        *free = Some((cmd_id, handler));
        Ok(())
    }

    /// Removes the service for `cmd_id`: [`RpcError::NotFound`] when there is none.
    pub fn del_service(&mut self, cmd_id: u16) -> Result<(), RpcError> {
        let slot = self
            .services
            .iter_mut()
            .find(|s| matches!(s, Some((c, _)) if *c == cmd_id))
            .ok_or(RpcError::NotFound(cmd_id))?;
        *slot = None;
        Ok(())
    }

    fn handler(&self, cmd_id: u16) -> Option<&'h dyn Handler> {
        self.services.iter().flatten().find(|(c, _)| *c == cmd_id).map(|&(_, h)| h)
    }

    /// Handles the requests waiting now; returns how many. Takes a request only when a
    /// buffer is free for its response; returns 0 at once when none is.
    ///
    /// Bounded whatever the client sends: the ring is routed (at most one ring's worth of
    /// messages, [`Rpmsg::dispatch`]'s bound), at most one queue's worth of the requests
    /// routed to the server are handled. What arrives meanwhile waits for the next call
    /// ([`Rpmsg::has_input`]).
    pub fn try_serve<R: Role, const CAP: usize, const E: usize>(
        &mut self,
        dev: &Rpmsg<'_, R, CAP, E>,
    ) -> usize {
        let mut served = 0;
        dev.poll_ring();
        for _ in 0..dev.queue_capacity() {
            let Ok(out) = dev.alloc() else {
                bump(&mut self.stats.reply_waited);
                break;
            };
            // Without a request the buffer is dropped unsent: kept for the next alloc.
            let Some(msg) = dev.take_routed(self.ept) else { break };
            served += 1;
            self.handle(msg, out);
        }
        // With `batch-free`, frees are written when a receive finds the ring empty, which
        // this loop no longer reaches: give the handled requests' buffers back now.
        #[cfg(feature = "batch-free")]
        if served > 0 {
            dev.flush_frees();
        }
        served
    }

    /// Waits up to `timeout_ms` (`None` = forever) for at least one request and handles
    /// what is there; sleeps until the next interrupt in between (the client must notify).
    ///
    /// Returns within `timeout_ms` plus one [`RpcServer::try_serve`] (its bound), whatever the
    /// client sends.
    pub fn serve_timeout<R: Role, P: Platform, const CAP: usize, const E: usize>(
        &mut self,
        dev: &Rpmsg<'_, R, CAP, E>,
        platform: &P,
        timeout_ms: Option<u32>,
    ) -> Result<usize, RpcError> {
        // The 1 ms nap retries when no response buffer was free: frees raise no interrupt.
        crate::port::wait_until::<_, _, RpcError>(platform, timeout_ms, Some(1), || {
            let n = self.try_serve(dev);
            (n > 0).then_some(Ok(n))
        })
    }

    /// Waits for at least one request and handles what is there; `signal` must be the
    /// handler of [`SwIntrId::RPMSG`](crate::sw_intr::SwIntrId::RPMSG). No interrupt
    /// announces a freed buffer, so while requests wait for a free response buffer the task
    /// wakes itself and polls again, yielding to the executor in between (the client frees
    /// its responses as it reads them).
    pub async fn serve<R: Role, const CAP: usize, const E: usize, const W: usize>(
        &mut self,
        dev: &Rpmsg<'_, R, CAP, E>,
        signal: &IrqSignal<W>,
    ) -> usize {
        poll_fn(|cx| {
            signal.register(cx.waker());
            let waited = self.stats.reply_waited;
            match self.try_serve(dev) {
                0 => {
                    // Waiting for the signal alone could wait for ever: the client may
                    // have sent everything and now only reads (and frees) responses.
                    // And the routing bound may have left messages in the ring.
                    if (self.stats.reply_waited != waited && dev.has_message(self.ept)) || dev.has_input() {
                        cx.waker().wake_by_ref();
                    }
                    Poll::Pending
                }
                n => Poll::Ready(n),
            }
        })
        .await
    }

    fn handle<const CAP: usize>(&mut self, msg: Message<'_, '_, CAP>, mut out: TxMessage<'_, '_, CAP>) {
        bump(&mut self.stats.requests);
        let client = msg.src();
        // The header is copied out once; the body is copied below: nothing the peer
        // writes into its buffer meanwhile reaches a check twice.
        let (head, body) = match PacketHeader::parse_peer(msg.bytes()) {
            Ok(p) => p,
            Err(_) => {
                bump(&mut self.stats.malformed);
                return;
            }
        };
        let body_len = body.len();
        let handler = self.handler(head.cmd_id);
        let mut payload = out.bytes_mut();
        // The header and at least one byte fit (checked in `new`), unless `dev` is not the
        // device the server was created on: then the request goes unanswered.
        let payload_len = payload.len();
        if payload_len <= HEADER_SIZE {
            return;
        }
        // The request's buffer is given back before the handler runs, as in C: the client
        // can reuse it at once. (Dropped in each arm rather than once before the `match`:
        // measured, that one drop site made host calls 5–7 % slower.)
        let (status, len) = match self.req.get_mut(..body_len) {
            None => {
                drop(msg);
                bump(&mut self.stats.oversize);
                (Status::EXEC_FAILED, 0)
            }
            Some(req) => {
                body.copy_to(req);
                drop(msg);
                match handler {
                    None => {
                        bump(&mut self.stats.invalid_cmd);
                        payload.set(HEADER_SIZE, 0);
                        (Status::INVALID_CMD, 1)
                    }
                    Some(h) => {
                        let request = Request { client, msg_id: head.msg_id, cmd_id: head.cmd_id, data: req };
                        let resp = payload.slice_mut(HEADER_SIZE..).unwrap_or(PeerBytesMut::empty());
                        let r = h.handle(&request, resp);
                        if r.len > payload_len - HEADER_SIZE {
                            bump(&mut self.stats.bad_reply_len);
                            (Status::EXEC_FAILED, 0)
                        } else if r.len == 0 {
                            bump(&mut self.stats.one_way);
                            return;
                        } else {
                            (r.status, r.len)
                        }
                    }
                }
            }
        };
        // `len <= payload_len <= u16::MAX` (a body fits one buffer).
        let answer = PacketHeader { status, msg_len: len as u16, ..head };
        // Fits: `payload_len > HEADER_SIZE`.
        let _ = payload.write(0, &answer.to_bytes());
        out.commit(self.ept, client, HEADER_SIZE + len);
        bump(&mut self.stats.responses);
    }
}

fn bump(counter: &mut u32) {
    *counter = counter.wrapping_add(1);
}
