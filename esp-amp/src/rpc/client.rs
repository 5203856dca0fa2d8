//! The RPC client: request slots, `msg_id` matching, responses in place.

use core::cell::Cell;
use core::future::poll_fn;
use core::task::Poll;

use super::{PacketHeader, RpcError, Status, HEADER_SIZE};
use crate::payload::{PeerBytes, PeerBytesMut};
use crate::port::Platform;
use crate::role::Role;
use crate::rpmsg::{Endpoint, Message, Pick, Receiver, Rpmsg};
use crate::signal::IrqSignal;

/// A response, read in place from its RPMsg buffer (given back when dropped); the body
/// through [`Response::bytes`].
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
/// use esp_amp::rpc::{Reply, Request, RpcClient, RpcServer, Status};
/// # let seven = |_: &Request<'_>, mut resp: PeerBytesMut<'_>| { resp.set(0, 7); Reply::ok(1) };
/// # let mut rq = [0u8; 16];
/// # let mut server: RpcServer<1> = RpcServer::new(&sub, 2, &mut rq).unwrap();
/// # server.add_service(0x10, &seven).unwrap();
/// let client: RpcClient<1> = RpcClient::new(&main, 1, 2).unwrap();
/// let mut call = client.call(&main, 0x10, b"").unwrap();
/// # server.try_serve(&sub);
/// let resp = call.try_response(&main).unwrap(); // the server answered 7
/// assert_eq!((resp.status(), resp.cmd_id(), resp.len()), (Status::OK, 0x10, 1));
/// assert_eq!(resp.bytes().get(0), Some(7)); // read in place; dropped: buffer given back
/// ```
pub struct Response<'d, 'r, const CAP: usize = 32> {
    msg: Message<'d, 'r, CAP>,
    head: PacketHeader,
}

impl<'d, 'r, const CAP: usize> Response<'d, 'r, CAP> {
    /// The server's status for the request.
    pub fn status(&self) -> Status {
        self.head.status
    }
    /// The command id (echoed by the server).
    pub fn cmd_id(&self) -> u16 {
        self.head.cmd_id
    }
    /// The request's sequence number (echoed by the server).
    pub fn msg_id(&self) -> u16 {
        self.head.msg_id
    }
}

impl<const CAP: usize> Response<'_, '_, CAP> {
    /// Body length (`msg_len` of our copy of the header).
    pub fn len(&self) -> usize {
        usize::from(self.head.msg_len)
    }

    /// `true` if the body is empty.
    pub fn is_empty(&self) -> bool {
        self.head.msg_len == 0
    }

    /// The body, read in place (volatile views: see [`crate::payload`]).
    pub fn bytes(&self) -> PeerBytes<'_> {
        // `msg_len` was checked against the message when the response was taken; the view
        // is cut from our copy of the header, so it stays inside the buffer.
        self.msg.bytes().slice(HEADER_SIZE..HEADER_SIZE + self.len()).unwrap_or(PeerBytes::empty())
    }
}

impl<const CAP: usize> core::fmt::Debug for Response<'_, '_, CAP> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Response").field("head", &self.head).field("len", &self.len()).finish()
    }
}

/// What a completion callback gets (see [`RpcClient::call_with`]): the response, in place
/// for the duration of the call.
#[derive(Debug)]
pub struct Completed<'a> {
    /// The call's message id.
    pub msg_id: u16,
    /// The command id.
    pub cmd_id: u16,
    /// The server's status.
    pub status: Status,
    /// The response body, in place.
    pub data: PeerBytes<'a>,
}

/// A completion callback, run by [`RpcClient::dispatch`].
pub type OnResponse<'h> = &'h dyn Fn(Completed<'_>);

#[derive(Clone, Copy)]
enum Slot<'h> {
    Free,
    Waiting { msg_id: u16, cmd_id: u16, on_done: Option<OnResponse<'h>> },
}

/// Client counters (wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClientStats {
    /// Requests sent (one-way ones included).
    pub sent: u32,
    /// Responses handed over (taken from a [`Call`] or given to a callback).
    pub completed: u32,
    /// Calls dropped or cancelled before their response was taken.
    pub cancelled: u32,
    /// Responses for no waiting request (late, duplicate, or to a one-way command): given
    /// back unread.
    pub late: u32,
    /// Responses whose `cmd_id` differs from their request's: given back.
    pub wrong_cmd: u32,
    /// Messages from an endpoint other than the server: given back (C accepts them).
    pub foreign: u32,
    /// Messages too short for the header, or whose `msg_len` overruns them: given back.
    pub malformed: u32,
}

/// How a message in the client's mailbox relates to its slots.
enum Verdict {
    /// The response for slot `i`.
    For(usize),
    /// Not a response we wait for: give it back (counted).
    Reject,
}

/// An RPC client on one RPMsg endpoint, talking to one server, with up to `SLOTS` requests
/// in flight.
///
/// Every method takes the device the client was created on. A response travels back in
/// an RPMsg message that waits in the client's mailbox until its [`Call`] takes it (or
/// [`RpcClient::dispatch`] gives it to its callback); messages that are not a response to a
/// waiting request are given back as soon as they are seen, and counted.
///
/// ```
/// use esp_amp::rpc::{Reply, Request, RpcClient, RpcServer, Status};
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
/// # let add = |_: &Request<'_>, mut resp: esp_amp::payload::PeerBytesMut<'_>| { resp.set(0, 5); Reply::ok(1) };
/// # let mut req_buf = [0u8; 48];
/// # let mut server: RpcServer = RpcServer::new(&sub, 1, &mut req_buf).unwrap();
/// # server.add_service(0x10, &add).unwrap();
/// // Maincore: a client at endpoint 0 for the server at endpoint 1, with up to 4 calls in
/// // flight (one slot each).
/// let client: RpcClient<4> = RpcClient::new(&main, 0, 1).unwrap();
/// let mut call = client.call(&main, 0x10, &[2, 3]).unwrap();
/// assert_eq!(client.in_flight(), 1);
/// # server.try_serve(&sub);
/// let resp = call.try_response(&main).unwrap();
/// assert_eq!(resp.status(), Status::OK);
/// assert_eq!(resp.bytes(), [5]);
/// ```
pub struct RpcClient<'h, const SLOTS: usize = 8> {
    ept: Endpoint,
    server: u16,
    last_id: Cell<u16>,
    slots: [Cell<Slot<'h>>; SLOTS],
    stats: Cell<ClientStats>,
}

impl<'h, const SLOTS: usize> RpcClient<'h, SLOTS> {
    /// Creates the client's endpoint `addr` (a mailbox) on `dev`, for the server at
    /// endpoint `server`.
    pub fn new<R: Role, const CAP: usize, const E: usize>(
        dev: &Rpmsg<'_, R, CAP, E>,
        addr: u16,
        server: u16,
    ) -> Result<Self, RpcError> {
        let ept = dev.create_endpoint(addr, Receiver::Mailbox)?;
        Ok(RpcClient {
            ept,
            server,
            last_id: Cell::new(0),
            slots: core::array::from_fn(|_| Cell::new(Slot::Free)),
            stats: Cell::new(ClientStats::default()),
        })
    }

    /// Deletes the endpoint; responses still waiting are given back.
    pub fn close<R: Role, const CAP: usize, const E: usize>(self, dev: &Rpmsg<'_, R, CAP, E>) {
        let _ = dev.delete_endpoint(self.ept);
    }

    /// The client's endpoint address.
    pub fn addr(&self) -> u16 {
        self.ept.addr()
    }

    /// The counters.
    pub fn stats(&self) -> ClientStats {
        self.stats.get()
    }

    /// Requests waiting for a response.
    pub fn in_flight(&self) -> usize {
        self.slots.iter().filter(|s| matches!(s.get(), Slot::Waiting { .. })).count()
    }

    fn count(&self, f: impl FnOnce(&mut ClientStats) -> &mut u32) {
        let mut s = self.stats.get();
        let c = f(&mut s);
        *c = c.wrapping_add(1);
        self.stats.set(s);
    }

    /// Sends request `cmd_id` with body `req`; the returned [`Call`] takes the response.
    /// Dropping the call cancels it: its response, should it come later, is given back.
    ///
    /// Errors, with nothing sent: [`RpcError::InvalidSize`] when `req` does not fit one
    /// message, [`RpcError::NoMem`] when all `SLOTS` are in flight or no RPMsg buffer is
    /// free.
    pub fn call<R: Role, const CAP: usize, const E: usize>(
        &self,
        dev: &Rpmsg<'_, R, CAP, E>,
        cmd_id: u16,
        req: &[u8],
    ) -> Result<Call<'_, 'h, SLOTS>, RpcError> {
        let (slot, msg_id) = self.start(dev, cmd_id, req, Some(None))?;
        Ok(Call { client: self, slot: slot.unwrap_or(0), msg_id, done: false })
    }

    /// [`RpcClient::call`] that waits while all `SLOTS` are in flight or no RPMsg buffer is
    /// free ([`RpcError::NoMem`]), as [`Rpmsg::alloc_async`] does: until the next interrupt
    /// on `signal` or `repoll()` (the application's timer), whichever first, then again.
    /// Then `.response(dev, signal).await` takes the answer.
    ///
    /// ```
    /// # use esp_amp::rpc::{RpcClient, RpcError};
    /// # use esp_amp::rpmsg::Rpmsg;
    /// # use esp_amp::signal::IrqSignal;
    /// # use esp_amp::MainCore;
    /// # async fn f(client: &RpcClient<'_, 4>, dev: &Rpmsg<'_, MainCore>, signal: &IrqSignal) -> Result<(), RpcError> {
    /// let call = client.call_async(dev, 0x10, &[1, 2], signal, || async {}).await?;
    /// // With embassy: `with_timeout(Duration::from_millis(100), call.response(dev, signal))`;
    /// // a call dropped on timeout frees its slot, and a late answer is given back.
    /// let answer = call.response(dev, signal).await?;
    /// let _status = answer.status();
    /// # Ok(()) }
    /// ```
    pub async fn call_async<R: Role, const CAP: usize, const E: usize, const W: usize, F>(
        &self,
        dev: &Rpmsg<'_, R, CAP, E>,
        cmd_id: u16,
        req: &[u8],
        signal: &IrqSignal<W>,
        mut repoll: impl FnMut() -> F,
    ) -> Result<Call<'_, 'h, SLOTS>, RpcError>
    where
        F: core::future::Future<Output = ()>,
    {
        loop {
            match self.call(dev, cmd_id, req) {
                Err(RpcError::NoMem) => crate::signal::interrupt_or(signal, repoll()).await,
                other => return other,
            }
        }
    }

    /// Sends request `cmd_id`; [`RpcClient::dispatch`] calls `on_done` with the response.
    /// Returns the request's `msg_id` (for [`RpcClient::cancel`]). Errors as for
    /// [`RpcClient::call`].
    pub fn call_with<R: Role, const CAP: usize, const E: usize>(
        &self,
        dev: &Rpmsg<'_, R, CAP, E>,
        cmd_id: u16,
        req: &[u8],
        on_done: OnResponse<'h>,
    ) -> Result<u16, RpcError> {
        self.start(dev, cmd_id, req, Some(Some(on_done))).map(|(_, id)| id)
    }

    /// Sends a one-way request (the server's handler answers with length 0); uses no slot.
    /// Returns its `msg_id`.
    pub fn send<R: Role, const CAP: usize, const E: usize>(
        &self,
        dev: &Rpmsg<'_, R, CAP, E>,
        cmd_id: u16,
        req: &[u8],
    ) -> Result<u16, RpcError> {
        self.start(dev, cmd_id, req, None).map(|(_, id)| id)
    }

    /// Forgets the request `msg_id` made with [`RpcClient::call_with`]: its callback will
    /// not run. `false` when no such request is in flight.
    pub fn cancel(&self, msg_id: u16) -> bool {
        // Only callback requests: a `Call` owns its slot until it is dropped.
        let slot =
            self.slot_of(msg_id).filter(|&i| matches!(self.slot(i), Slot::Waiting { on_done: Some(_), .. }));
        match slot {
            Some(i) => {
                self.release(i);
                self.count(|s| &mut s.cancelled);
                true
            }
            None => false,
        }
    }

    /// Gives every response that has arrived for a [`RpcClient::call_with`] request to its
    /// callback, and gives back whatever is not a response to a waiting request. Returns
    /// how many callbacks ran.
    pub fn dispatch<R: Role, const CAP: usize, const E: usize>(&self, dev: &Rpmsg<'_, R, CAP, E>) -> usize {
        let mut ran = 0;
        // Each round takes one message out of the mailbox, which holds at most a queue.
        for _ in 0..=dev.queue_capacity() {
            let mut target = None;
            let taken = dev.try_recv_where(self.ept, |m| match self.classify(m) {
                Verdict::For(i) => match self.slot(i) {
                    Slot::Waiting { on_done: Some(cb), .. } => {
                        target = Some((i, cb));
                        Pick::Take
                    }
                    _ => Pick::Keep,
                },
                Verdict::Reject => Pick::Drop,
            });
            let (Some(msg), Some((i, cb))) = (taken, target) else { break };
            let Some(resp) = self.accept(msg, i) else { continue };
            ran += 1;
            cb(Completed {
                msg_id: resp.msg_id(),
                cmd_id: resp.cmd_id(),
                status: resp.status(),
                data: resp.bytes(),
            });
        }
        ran
    }

    /// Reserves a slot (`slot = Some(callback)`) or none (one-way), then sends.
    fn start<R: Role, const CAP: usize, const E: usize>(
        &self,
        dev: &Rpmsg<'_, R, CAP, E>,
        cmd_id: u16,
        req: &[u8],
        slot: Option<Option<OnResponse<'h>>>,
    ) -> Result<(Option<usize>, u16), RpcError> {
        let max = super::body_limit(dev);
        if req.len() > max {
            return Err(RpcError::InvalidSize { len: req.len(), max });
        }
        let sent = self.start_with(dev, cmd_id, slot, |mut body| {
            body.copy_from(req);
            Some(req.len())
        })?;
        // `fill` above cannot refuse: the size was checked.
        sent.ok_or(RpcError::InvalidSize { len: req.len(), max })
    }

    /// Like `start`, with the body written in place by `fill` (given the whole body area;
    /// it returns the length used, or `None` to send nothing: `Ok(None)`).
    pub(super) fn start_with<R: Role, const CAP: usize, const E: usize>(
        &self,
        dev: &Rpmsg<'_, R, CAP, E>,
        cmd_id: u16,
        slot: Option<Option<OnResponse<'h>>>,
        fill: impl FnOnce(PeerBytesMut<'_>) -> Option<usize>,
    ) -> Result<Option<(Option<usize>, u16)>, RpcError> {
        let free = match slot {
            Some(_) => {
                Some(self.slots.iter().position(|s| matches!(s.get(), Slot::Free)).ok_or(RpcError::NoMem)?)
            }
            None => None,
        };
        let mut m = dev.alloc()?;
        let mut payload = m.bytes_mut();
        let Some(body) = payload.slice_mut(HEADER_SIZE..) else { return Ok(None) };
        let room = body.len();
        // Dropped unsent on refusal: the buffer is kept for the next alloc.
        let Some(len) = fill(body).filter(|&n| n <= room) else { return Ok(None) };
        let msg_id = self.next_id();
        // `len <= item_size < 65536`.
        let head = PacketHeader { msg_id, cmd_id, status: Status::PENDING, msg_len: len as u16 };
        payload.copy_from(&head.to_bytes());
        m.send(self.ept, self.server, HEADER_SIZE + len)?;
        if let (Some(i), Some(on_done)) = (free, slot) {
            self.set_slot(i, Slot::Waiting { msg_id, cmd_id, on_done });
        }
        self.count(|s| &mut s.sent);
        Ok(Some((free, msg_id)))
    }

    /// The next `msg_id`: one more than the last (the first is 1, as in C), wrapping,
    /// and skipping ids still in flight.
    fn next_id(&self) -> u16 {
        let mut id = self.last_id.get();
        loop {
            id = id.wrapping_add(1);
            if self.slot_of(id).is_none() {
                self.last_id.set(id);
                return id;
            }
        }
    }

    fn slot_of(&self, msg_id: u16) -> Option<usize> {
        self.slots.iter().position(|s| matches!(s.get(), Slot::Waiting { msg_id: m, .. } if m == msg_id))
    }

    fn release(&self, i: usize) {
        self.set_slot(i, Slot::Free);
    }

    /// Slot `i` (`Free` past the end: indexes come from `slot_of` or a free-slot search,
    /// so never; the form leaves no bounds-check panic, and its `core::fmt`, in a subcore).
    fn slot(&self, i: usize) -> Slot<'h> {
        self.slots.get(i).map_or(Slot::Free, Cell::get)
    }

    fn set_slot(&self, i: usize, slot: Slot<'h>) {
        if let Some(s) = self.slots.get(i) {
            s.set(slot);
        }
    }

    /// Checks a message in the mailbox; counts what is rejected.
    fn classify<const CAP: usize>(&self, m: &Message<'_, '_, CAP>) -> Verdict {
        if m.src() != self.server {
            self.count(|s| &mut s.foreign);
            return Verdict::Reject;
        }
        let Ok((head, _)) = PacketHeader::parse_peer(m.bytes()) else {
            self.count(|s| &mut s.malformed);
            return Verdict::Reject;
        };
        let Some(i) = self.slot_of(head.msg_id) else {
            self.count(|s| &mut s.late);
            return Verdict::Reject;
        };
        match self.slot(i) {
            Slot::Waiting { cmd_id, .. } if cmd_id == head.cmd_id => Verdict::For(i),
            _ => {
                self.count(|s| &mut s.wrong_cmd);
                Verdict::Reject
            }
        }
    }

    /// Turns the message taken for slot `i` into a response and frees the slot. The header
    /// is read again from the buffer, which the peer could have changed since
    /// [`classify`](Self::classify): a message that no longer checks out is dropped.
    fn accept<'d, 'r, const CAP: usize>(
        &self,
        msg: Message<'d, 'r, CAP>,
        i: usize,
    ) -> Option<Response<'d, 'r, CAP>> {
        let head = match (PacketHeader::parse_peer(msg.bytes()), self.slot(i)) {
            (Ok((h, _)), Slot::Waiting { msg_id, cmd_id, .. })
                if h.msg_id == msg_id && h.cmd_id == cmd_id =>
            {
                h
            }
            _ => {
                self.count(|s| &mut s.malformed);
                return None;
            }
        };
        self.release(i);
        self.count(|s| &mut s.completed);
        Some(Response { msg, head })
    }
}

/// A request in flight, from [`RpcClient::call`]. Dropping it before its response was
/// taken cancels it.
///
/// ```
/// use esp_amp::rpc::{RpcClient, RpcError};
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
/// # struct Clock(core::cell::Cell<u32>);
/// # impl esp_amp::port::Platform for Clock {
/// #     fn now_ms(&self) -> u32 { self.0.set(self.0.get() + 1); self.0.get() }
/// #     fn delay_us(&self, _: u32) {}
/// #     fn interrupts_enable(&self) {}
/// #     fn interrupts_disable(&self) {}
/// #     fn irq_epoch(&self) -> u32 { 0 }
/// #     fn wait_irq(&self, _: u32, _: Option<u32>) {}
/// # }
/// # let platform = Clock(core::cell::Cell::new(0));
/// let client: RpcClient = RpcClient::new(&main, 0, 1).unwrap();
/// let call = client.call(&main, 0x10, b"?").unwrap();
/// // Nobody serves endpoint 1 here: the wait times out and the call is cancelled, so a late
/// // response would be given back, never delivered.
/// assert_eq!(call.response_timeout(&main, &platform, Some(10)).err(), Some(RpcError::Timeout));
/// assert_eq!((client.in_flight(), client.stats().cancelled), (0, 1));
/// ```
pub struct Call<'c, 'h, const SLOTS: usize> {
    pub(super) client: &'c RpcClient<'h, SLOTS>,
    pub(super) slot: usize,
    pub(super) msg_id: u16,
    pub(super) done: bool,
}

impl<'c, 'h, const SLOTS: usize> Call<'c, 'h, SLOTS> {
    /// The request's `msg_id`.
    pub fn msg_id(&self) -> u16 {
        self.msg_id
    }

    /// The response, if it has arrived (polls the ring). After it was taken, always
    /// `None`.
    pub fn try_response<'d, 'r, R: Role, const CAP: usize, const E: usize>(
        &mut self,
        dev: &'d Rpmsg<'r, R, CAP, E>,
    ) -> Option<Response<'d, 'r, CAP>> {
        if self.done {
            return None;
        }
        let c = self.client;
        let msg = dev.try_recv_where(c.ept, |m| match c.classify(m) {
            Verdict::For(i) if i == self.slot => Pick::Take,
            Verdict::For(_) => Pick::Keep,
            Verdict::Reject => Pick::Drop,
        })?;
        let resp = c.accept(msg, self.slot)?;
        self.done = true;
        Some(resp)
    }

    /// Waits up to `timeout_ms` (`None` = forever) for the response, sleeping until the
    /// next interrupt in between (the server must notify). On timeout the call is
    /// cancelled.
    ///
    /// Returns within `timeout_ms` plus one attempt, whatever the peer sends: an attempt
    /// is one [`Call::try_response`] (at most one ring's worth of messages routed, then
    /// one walk of the client's mailbox), as for [`Rpmsg::recv_timeout`].
    pub fn response_timeout<'d, 'r, R: Role, P: Platform, const CAP: usize, const E: usize>(
        mut self,
        dev: &'d Rpmsg<'r, R, CAP, E>,
        platform: &P,
        timeout_ms: Option<u32>,
    ) -> Result<Response<'d, 'r, CAP>, RpcError> {
        if self.done {
            return Err(RpcError::InvalidState);
        }
        crate::port::wait_until::<_, _, RpcError>(platform, timeout_ms, None, || {
            self.try_response(dev).map(Ok)
        })
    }

    /// Waits for the response; `signal` must be the handler of
    /// [`SwIntrId::RPMSG`](crate::sw_intr::SwIntrId::RPMSG). Dropping the future cancels
    /// the call (combine with your executor's timeout).
    pub async fn response<'d, 'r, R: Role, const CAP: usize, const E: usize, const W: usize>(
        mut self,
        dev: &'d Rpmsg<'r, R, CAP, E>,
        signal: &IrqSignal<W>,
    ) -> Result<Response<'d, 'r, CAP>, RpcError> {
        if self.done {
            return Err(RpcError::InvalidState);
        }
        poll_fn(|cx| {
            signal.register(cx.waker());
            match self.try_response(dev) {
                Some(r) => Poll::Ready(Ok(r)),
                None => {
                    // Stopped at the routing bound with messages left: yield, then go on.
                    if dev.has_input() {
                        cx.waker().wake_by_ref();
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl<const SLOTS: usize> Drop for Call<'_, '_, SLOTS> {
    fn drop(&mut self) {
        if !self.done {
            self.client.release(self.slot);
            self.client.count(|s| &mut s.cancelled);
        }
    }
}

impl<const SLOTS: usize> core::fmt::Debug for Call<'_, '_, SLOTS> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Call").field("msg_id", &self.msg_id).field("done", &self.done).finish()
    }
}
