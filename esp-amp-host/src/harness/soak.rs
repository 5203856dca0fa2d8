//! The soak run: both cores use every service at once, in both directions, for a set time,
//! then every message is accounted for.
//!
//! The maincore ([`run_maincore`], this process) and the subcore ([`run_subcore`], a
//! child process) run the same loop, each as originator and as answerer:
//! - **RPMsg**: a self-checking stream ([`crate::harness::traffic`]) from each side's stream
//!   endpoint to the other's, as fast as the queues allow;
//! - **RPC**: each side's client keeps [`RPC_SLOTS`] calls in flight to the other side's
//!   server; the request and the response are self-checking messages, and every 64th call
//!   names a command the server does not have (it must come back `INVALID_CMD`);
//! - **events**: each side pings the other with one bit at a time of its outgoing event
//!   word (maincore the low 16 bits, subcore the high 16) and answers the other's pings
//!   with the same bit;
//! - **print routing**: the subcore prints a numbered line every millisecond with
//!   `esp_amp::println!`; the maincore drains the supplicant and checks every line.
//!
//! Stopping: at the deadline the maincore asks the subcore to stop (through a control
//! block in SysInfo); each side stops originating, waits for its own calls and pings to be
//! answered, publishes its counters, then keeps answering until it has received everything
//! the other side says it sent (or a drain timeout runs out), and publishes again. The
//! report ([`SoakReport`]) compares the two sides: every message sent must be received
//! once, intact and in order, or be counted as a loss with its reason.

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use esp_amp::event::{DefaultEvents, Event, Events, WaitFor};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::payload::PeerBytesMut;
use esp_amp::port::Platform;
use esp_amp::queue::{QueueError, QueueSpec};
use esp_amp::rpc::{Completed, OnResponse, Reply, Request, RpcClient, RpcError, RpcServer, Status};
use esp_amp::rpmsg::{Endpoint, Receiver, Rpmsg, RpmsgError};
use esp_amp::shm::Shm;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoId};
use esp_amp::system::lifecycle::SubcoreHandle;
use esp_amp::system::panic::{PanicDump, PanicMonitor, PanicSink};
use esp_amp::system::print::{global_stats, set_global, Printer};
use esp_amp::system::service::{self, Supplicant};
use esp_amp::{MainCore, Role, SubCore};

use crate::harness::traffic::{copy_out, fill, fill_view, verify, TrafficError};
use crate::subcore::{install_panic_hook, HostFirmware, ProcessPort};
use crate::{HostCore, HostRegion, Side as CoreSide};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Calls each client keeps in flight.
pub const RPC_SLOTS: usize = 4;
/// The queues of the soak's RPMsg device: 32 buffers of 128 bytes each way.
pub const QUEUE: (u32, u32) = (32, 128);
/// Longest RPC request and response body.
const RPC_MAX: usize = 96;
/// Every this many calls, one names a command the server does not have.
const UNKNOWN_EVERY: u64 = 64;
const XFORM: u16 = 0x0051;
/// How long a print line start waits for a buffer. A host process can be descheduled for
/// more than C's 10 ms, which is no lost line; the soak counts drops as errors.
const PRINT_WAIT_MS: u32 = 250;
const UNKNOWN: u16 = 0x0BAD;
/// The control block: the two states, then each side's counters.
const CTRL_ID: SysInfoId = SysInfoId(0x0500);
const CTRL_SIZE: usize = 8 + 2 * 8 * K::COUNT;
/// No progress at all for this long while running is a stall (the run ends).
const STALL: Duration = Duration::from_secs(10);
/// How long a side waits, after both stopped, for what the other says it sent.
const DRAIN: Duration = Duration::from_secs(10);

/// Where a side is; written by that side only, read by the other.
mod state {
    /// Set up, endpoints created: the other side may send.
    pub const RUNNING: u32 = 1;
    /// Maincore only: the deadline passed, stop originating.
    pub const STOP: u32 = 2;
    /// Originates nothing more; its own calls and pings are answered; counters published.
    pub const QUIET: u32 = 3;
    /// Received what the other side sent (or gave up waiting); final counters published.
    pub const DONE: u32 = 4;
}

/// Which core a loop runs on; fixes its endpoints, streams and event bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// The maincore loop.
    Main,
    /// The subcore loop.
    Sub,
}

impl Who {
    fn peer(self) -> Who {
        match self {
            Who::Main => Who::Sub,
            Who::Sub => Who::Main,
        }
    }
    fn base(self) -> u16 {
        match self {
            Who::Main => 0x100,
            Who::Sub => 0x200,
        }
    }
    fn stream_ept(self) -> u16 {
        self.base() + 0x10
    }
    fn client_ept(self) -> u16 {
        self.base() + 0x20
    }
    fn server_ept(self) -> u16 {
        self.base() + 0x21
    }
    /// Stream ids for [`crate::harness::traffic`]: this side's RPMsg stream, its RPC requests, the
    /// responses to them.
    fn stream(self) -> u32 {
        self.base().into()
    }
    fn requests(self) -> u32 {
        self.stream() + 1
    }
    fn responses(self) -> u32 {
        self.stream() + 2
    }
    /// The first bit of this side's pings.
    fn ping_shift(self) -> u32 {
        match self {
            Who::Main => 0,
            Who::Sub => 16,
        }
    }
    /// Word offset of this side's counters in the control block.
    fn area(self) -> u32 {
        8 + match self {
            Who::Main => 0,
            Who::Sub => 8 * K::COUNT as u32,
        }
    }
    fn state_word(self) -> u32 {
        match self {
            Who::Main => 0,
            Who::Sub => 4,
        }
    }
    /// The side in reports: `maincore` or `subcore`.
    pub fn name(self) -> &'static str {
        match self {
            Who::Main => "maincore",
            Who::Sub => "subcore",
        }
    }
}

/// What a counter means for the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Traffic done.
    Traffic,
    /// Must stay 0.
    Error,
    /// A full queue or a busy peer made us wait: not a loss.
    Backpressure,
    /// Peaks and sizes.
    HighWater,
}

macro_rules! counters {
    ($($name:ident: $class:ident, $text:literal;)*) => {
        /// One counter of a side.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum K { $(#[doc = $text] $name),* }

        impl K {
            /// Every counter, in report order.
            pub const ALL: [K; [$($text),*].len()] = [$(K::$name),*];
            /// How many counters there are.
            pub const COUNT: usize = K::ALL.len();
            /// What the counter counts, for the report.
            pub fn text(self) -> &'static str {
                match self { $(K::$name => $text),* }
            }
            /// What the counter means for the verdict.
            pub fn class(self) -> Class {
                match self { $(K::$name => Class::$class),* }
            }
        }
    };
}

counters! {
    StreamSent: Traffic, "rpmsg stream: sent";
    StreamReceived: Traffic, "rpmsg stream: received intact";
    RpcCalls: Traffic, "rpc: calls made";
    RpcUnknownCalls: Traffic, "rpc: calls to an unknown command (part of calls made)";
    RpcCompleted: Traffic, "rpc: responses checked";
    Served: Traffic, "rpc server: requests taken";
    ServedInvalid: Traffic, "rpc server: answered INVALID_CMD";
    PingsSent: Traffic, "events: pings sent";
    PongsReceived: Traffic, "events: answers received";
    PingsAnswered: Traffic, "events: peer pings answered";
    LinesPrinted: Traffic, "print: lines printed";
    LinesReceived: Traffic, "print: lines received and checked";
    IrqRaised: Traffic, "interrupt line raised (to the peer)";
    IrqHandled: Traffic, "interrupts handled";
    StreamOutOfOrder: Error, "rpmsg stream: lost, duplicated or reordered";
    StreamBadLength: Error, "rpmsg stream: wrong length";
    StreamCorrupt: Error, "rpmsg stream: corrupt";
    SendErrors: Error, "rpmsg: send failed (other than full)";
    RpcBadResponse: Error, "rpc: response corrupt or out of order";
    RpcBadStatus: Error, "rpc: unexpected status";
    RpcCallErrors: Error, "rpc: call failed (other than no buffer)";
    ClientCancelled: Error, "rpc client: calls cancelled";
    ClientLate: Error, "rpc client: responses for no call";
    ClientWrongCmd: Error, "rpc client: responses with the wrong command";
    ClientForeign: Error, "rpc client: messages from another endpoint";
    ClientMalformed: Error, "rpc client: malformed responses";
    ServerBadRequest: Error, "rpc server: request corrupt or out of order";
    ServerMalformed: Error, "rpc server: malformed requests";
    ServerOversize: Error, "rpc server: oversized requests";
    ServerBadReplyLen: Error, "rpc server: bad reply lengths";
    EventWrongBit: Error, "events: unexpected bits";
    DroppedUnknown: Error, "rpmsg: dropped, unknown endpoint";
    DroppedBadLen: Error, "rpmsg: dropped, bad data_len";
    DroppedDeleted: Error, "rpmsg: dropped, endpoint deleted";
    QueueFaults: Error, "queues: descriptor faults";
    LineGap: Error, "print: lines missing, repeated or reordered";
    LineCorrupt: Error, "print: lines corrupt";
    PrintDroppedBytes: Error, "print: bytes dropped (no buffer within the print wait)";
    PrintFallbackBytes: Error, "print: bytes to the fallback";
    SupplicantUnknown: Error, "supplicant: unknown service requests";
    SupplicantMalformed: Error, "supplicant: malformed requests";
    SupplicantFaults: Error, "supplicant: queue faults";
    Stalls: Error, "no progress for 10 s";
    DrainTimeouts: Error, "gave up waiting for the peer's last messages";
    SendFull: Backpressure, "rpmsg stream: send found the queue full";
    CallFull: Backpressure, "rpc: call found no slot or buffer";
    ReplyWaited: Backpressure, "rpc server: no buffer for a response, request left waiting";
    Sleeps: Backpressure, "loop slept waiting for an interrupt";
    HwInFlight: HighWater, "rpc: most calls in flight";
    HwBatch: HighWater, "rpmsg stream: most waiting in one pass (of 32)";
    HwLinesPerPoll: HighWater, "print: most lines taken in one poll";
    RssStartKib: HighWater, "resident memory after 1 s (KiB)";
    RssEndKib: HighWater, "resident memory at the end (KiB)";
    RssPeakKib: HighWater, "resident memory peak, VmHWM (KiB)";
}

/// One side's counters, shared with its callbacks and handlers (which must be `Sync`).
pub struct Counters([AtomicU64; K::COUNT]);

impl Default for Counters {
    fn default() -> Self {
        Counters(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl Counters {
    fn add(&self, k: K, n: u64) {
        self.0[k as usize].fetch_add(n, Ordering::Relaxed);
    }
    fn inc(&self, k: K) {
        self.add(k, 1);
    }
    fn set(&self, k: K, v: u64) {
        self.0[k as usize].store(v, Ordering::Relaxed);
    }
    fn max(&self, k: K, v: u64) {
        self.0[k as usize].fetch_max(v, Ordering::Relaxed);
    }
    /// The current value of counter `k`.
    pub fn get(&self, k: K) -> u64 {
        self.0[k as usize].load(Ordering::Relaxed)
    }
    /// Every counter, in [`K::ALL`] order.
    pub fn values(&self) -> [u64; K::COUNT] {
        std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed))
    }
}

/// The control block in shared memory.
#[derive(Clone, Copy)]
struct Ctrl<'r> {
    shm: Shm<'r>,
    addr: u32,
}

impl<'r> Ctrl<'r> {
    fn word(&self, off: u32) -> &'r AtomicU32 {
        // The block was checked to be CTRL_SIZE bytes when allocated or looked up.
        self.shm.atomic_u32(self.addr + off).expect("control block word inside its block")
    }
    fn state(&self, who: Who) -> u32 {
        // Acquire: pairs with `publish`'s Release, so the counters written before the
        // state are seen by whoever sees the state.
        self.word(who.state_word()).load(Ordering::Acquire)
    }
    fn set_state(&self, who: Who, s: u32) {
        self.word(who.state_word()).store(s, Ordering::Release);
    }
    /// Writes `c` into `who`'s area, then the state.
    fn publish(&self, who: Who, c: &Counters, s: Option<u32>) {
        for (i, v) in c.values().into_iter().enumerate() {
            let off = who.area() + 8 * i as u32;
            self.word(off).store(v as u32, Ordering::Relaxed);
            self.word(off + 4).store((v >> 32) as u32, Ordering::Relaxed);
        }
        if let Some(s) = s {
            self.set_state(who, s);
        }
    }
    /// `who`'s counters as last published (read after [`Ctrl::state`] for a consistent
    /// set; live values may mix two publications).
    fn read(&self, who: Who) -> [u64; K::COUNT] {
        std::array::from_fn(|i| {
            let off = who.area() + 8 * i as u32;
            let lo = self.word(off).load(Ordering::Relaxed);
            let hi = self.word(off + 4).load(Ordering::Relaxed);
            u64::from(lo) | (u64::from(hi) << 32)
        })
    }
}

/// Current and peak resident memory of this process, in KiB (Linux `/proc`).
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The print line number `seq` of the run (without the newline): its number, a check
/// value and a tail whose length varies with the number.
pub fn line(seq: u64) -> String {
    let tail_len = (seq.wrapping_mul(2_654_435_761) % 61) as usize;
    let tail: String = (0..tail_len).map(|i| char::from(b'a' + ((seq as usize + i) % 26) as u8)).collect();
    let check = (seq ^ 0x5EED_5EED).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    format!("soak {seq} {check:06x} {tail}")
}

/// Index `n` of a client's calls → `Some(xseq)` for the n-th call's position among the
/// `XFORM` calls, `None` for a call to the unknown command.
fn xseq(n: u64) -> Option<u32> {
    (n % UNKNOWN_EVERY != UNKNOWN_EVERY - 1).then(|| (n - n / UNKNOWN_EVERY) as u32)
}

fn count_traffic_error(c: &Counters, e: &TrafficError) {
    c.inc(match e {
        TrafficError::OutOfOrder { .. } => K::StreamOutOfOrder,
        TrafficError::BadLength { .. } => K::StreamBadLength,
        _ => K::StreamCorrupt,
    });
}

/// The sequence number a damaged message claims, to resynchronise on.
fn claimed_seq(data: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(..4)?.try_into().ok()?))
}

/// One core's part of the soak.
struct Side<'a, 'r, R: Role> {
    who: Who,
    dev: &'a Rpmsg<'r, R>,
    core: &'a HostCore<'r>,
    events: &'a Events<'a, &'a HostCore<'r>>,
    /// The event word we notify, and the one we read.
    ev_out: Event<'r>,
    ev_in: Event<'r>,
    /// Maincore: the supplicant to drain and check.
    supplicant: Option<&'a Supplicant<'r>>,
    /// Maincore: when to stop. Subcore: `None` (it stops when told).
    deadline: Option<Instant>,
    counters: &'a Counters,
}

/// What the soak loop carries from one pass to the next.
struct Pass {
    started: Instant,
    /// The peer has started its loop.
    peer_running: bool,
    /// This side still starts traffic (it stops at the deadline, or when told).
    originating: bool,
    /// The next stream message due from the peer.
    stream_rx: u32,
    /// The event bit of our ping not yet answered.
    ping_pending: Option<u32>,
    /// The next print line due (maincore).
    line_seq: u64,
    /// When this side became quiet, and whether it is done.
    quiet_at: Option<Instant>,
    done: bool,
    last_progress: Instant,
    last_tick: Instant,
    last_print_ms: u32,
    rss_start_taken: bool,
    /// Passes without progress since the last one with.
    spins: u32,
}

impl Pass {
    fn new(now_ms: u32) -> Pass {
        let now = Instant::now();
        Pass {
            started: now,
            peer_running: false,
            originating: true,
            stream_rx: 0,
            ping_pending: None,
            line_seq: 0,
            quiet_at: None,
            done: false,
            last_progress: now,
            last_tick: now,
            last_print_ms: now_ms,
            rss_start_taken: false,
            spins: 0,
        }
    }
}

impl<R: Role> Side<'_, '_, R> {
    /// Runs until both sides are done; `tick` is called about every 100 ms with the
    /// peer's live counters.
    fn run(&self, ctrl: Ctrl<'_>, tick: &mut dyn FnMut(&[u64; K::COUNT])) -> Result<()> {
        let (me, peer, c) = (self.who, self.who.peer(), self.counters);
        let dev = self.dev;
        let max = dev.max_payload();
        let stream = dev.create_endpoint(me.stream_ept(), Receiver::Mailbox)?;

        // RPC server: checks each request of the peer's request stream, in order.
        let next_request = AtomicU64::new(0);
        let xform = |req: &Request<'_>, resp: PeerBytesMut<'_>| -> Reply {
            let x = next_request.load(Ordering::Relaxed) as u32;
            match verify(peer.requests(), x, RPC_MAX, req.data()) {
                Ok(()) => {
                    next_request.store(u64::from(x) + 1, Ordering::Relaxed);
                    Reply::ok(fill_view(peer.responses(), x, RPC_MAX, &mut [0u8; RPC_MAX], resp))
                }
                Err(_) => {
                    c.inc(K::ServerBadRequest);
                    if let Some(s) = claimed_seq(req.data()) {
                        next_request.store(u64::from(s) + 1, Ordering::Relaxed);
                    }
                    Reply::new(Status::EXEC_FAILED, 1)
                }
            }
        };
        let mut req_buf = [0u8; 128];
        let mut server: RpcServer<'_, 2> = RpcServer::new(dev, me.server_ept(), &mut req_buf)?;
        server.add_service(XFORM, &xform)?;

        // RPC client: responses come back in call order.
        let next_response = Cell::new(0u64);
        let on_done = |r: Completed<'_>| {
            let n = next_response.get();
            next_response.set(n + 1);
            c.inc(K::RpcCompleted);
            match xseq(n) {
                None => {
                    if r.status != Status::INVALID_CMD || r.cmd_id != UNKNOWN {
                        c.inc(K::RpcBadStatus);
                    }
                }
                Some(x) => {
                    if r.status != Status::OK || r.cmd_id != XFORM {
                        c.inc(K::RpcBadStatus);
                    } else if verify(me.responses(), x, RPC_MAX, copy_out(r.data, &mut Vec::new())).is_err() {
                        c.inc(K::RpcBadResponse);
                    }
                }
            }
        };
        let client: RpcClient<'_, RPC_SLOTS> = RpcClient::new(dev, me.client_ept(), peer.server_ept())?;

        ctrl.set_state(me, state::RUNNING);
        let mut st = Pass::new(self.core.now_ms());
        let mut req = [0u8; RPC_MAX];
        let (mut scratch, mut received) = (vec![0u8; max], Vec::with_capacity(max));
        loop {
            let epoch = self.core.irq_epoch();
            st.peer_running |= ctrl.state(peer) >= state::RUNNING;
            self.stop_when_due(ctrl, &mut st);
            let send = st.originating && st.peer_running;
            let mut progress = false;
            if send {
                progress |= self.send_stream(stream, max, &mut scratch);
            }
            progress |= self.receive_stream(stream, max, &mut st, &mut received);
            if send {
                progress |= self.start_calls(&client, &on_done, &mut req);
            }
            c.max(K::HwInFlight, client.in_flight() as u64);
            progress |= client.dispatch(dev) > 0;
            progress |= server.try_serve(dev) > 0;
            progress |= self.exchange_pings(&mut st, send);
            progress |= self.route_prints(&mut st, send);
            if self.finish(ctrl, &mut st, &client, &server)? {
                break;
            }
            self.housekeeping(ctrl, &mut st, &client, &server, tick);
            if progress {
                st.last_progress = Instant::now();
                st.spins = 0;
                continue;
            }
            if st.originating && st.peer_running && st.last_progress.elapsed() > STALL {
                c.inc(K::Stalls);
                return Err(format!("{}: no progress for {} s", me.name(), STALL.as_secs()).into());
            }
            // Frees raise no interrupt (as in C): spin a little before sleeping.
            st.spins += 1;
            if st.spins < 64 {
                std::thread::yield_now();
                continue;
            }
            c.inc(K::Sleeps);
            self.core.wait_irq(epoch, Some(1));
        }
        self.snapshot(dev, &client, &server);
        Ok(())
    }

    /// Stopping: the maincore at its deadline, the subcore when told.
    fn stop_when_due(&self, ctrl: Ctrl<'_>, st: &mut Pass) {
        if !st.originating {
            return;
        }
        let stop = match self.deadline {
            Some(d) => Instant::now() >= d,
            None => ctrl.state(Who::Main) >= state::STOP,
        };
        if stop {
            st.originating = false;
            if self.who == Who::Main {
                ctrl.set_state(self.who, state::STOP);
            }
        }
    }

    /// The RPMsg stream out: the next message, if a buffer is free.
    fn send_stream(&self, stream: Endpoint, max: usize, scratch: &mut [u8]) -> bool {
        let (me, c) = (self.who, self.counters);
        match self.dev.alloc() {
            Ok(mut msg) => {
                let seq = c.get(K::StreamSent) as u32;
                let len = fill_view(me.stream(), seq, max, scratch, msg.bytes_mut());
                match msg.send(stream, me.peer().stream_ept(), len) {
                    Ok(()) => {
                        c.inc(K::StreamSent);
                        return true;
                    }
                    Err(_) => c.inc(K::SendErrors),
                }
            }
            Err(RpmsgError::Queue(QueueError::Full)) => c.inc(K::SendFull),
            Err(_) => c.inc(K::SendErrors),
        }
        false
    }

    /// The RPMsg stream in: at most a queue's worth per pass, so the peak says how full
    /// the queue got. Each message is copied out, then checked.
    fn receive_stream(&self, stream: Endpoint, max: usize, st: &mut Pass, received: &mut Vec<u8>) -> bool {
        let (peer, c) = (self.who.peer(), self.counters);
        let mut batch = 0;
        while batch < self.dev.queue_capacity() as u64 {
            let Some(msg) = self.dev.try_recv(stream) else { break };
            let data = copy_out(msg.bytes(), received);
            match verify(peer.stream(), st.stream_rx, max, data) {
                Ok(()) => {
                    c.inc(K::StreamReceived);
                    st.stream_rx += 1;
                }
                Err(e) => {
                    count_traffic_error(c, &e);
                    st.stream_rx = claimed_seq(data).map_or(st.stream_rx + 1, |s| s.wrapping_add(1));
                }
            }
            batch += 1;
        }
        c.max(K::HwBatch, batch);
        batch > 0
    }

    /// RPC: keeps the client's slots busy (every [`UNKNOWN_EVERY`]th call names a command
    /// the server does not have).
    fn start_calls<'h>(
        &self,
        client: &RpcClient<'h, RPC_SLOTS>,
        on_done: OnResponse<'h>,
        req: &mut [u8],
    ) -> bool {
        let (me, c) = (self.who, self.counters);
        let mut progress = false;
        while client.in_flight() < RPC_SLOTS {
            let n = c.get(K::RpcCalls);
            let (cmd, len) = match xseq(n) {
                Some(x) => (XFORM, fill(me.requests(), x, RPC_MAX, req)),
                None => (UNKNOWN, 0),
            };
            match client.call_with(self.dev, cmd, &req[..len], on_done) {
                Ok(_) => {
                    c.inc(K::RpcCalls);
                    if cmd == UNKNOWN {
                        c.inc(K::RpcUnknownCalls);
                    }
                    progress = true;
                }
                Err(RpcError::NoMem) => {
                    c.inc(K::CallFull);
                    break;
                }
                Err(_) => {
                    c.inc(K::RpcCallErrors);
                    break;
                }
            }
        }
        progress
    }

    /// Events: our ping (one bit of our half) and its answer; the peer's pings.
    fn exchange_pings(&self, st: &mut Pass, send: bool) -> bool {
        let (me, peer, c) = (self.who, self.who.peer(), self.counters);
        let mut progress = false;
        if let Some(bit) = st.ping_pending {
            if self.ev_in.try_wait(bit, WaitFor::All, true).is_ok() {
                c.inc(K::PongsReceived);
                st.ping_pending = None;
                progress = true;
            }
        } else if send {
            let bit = 1 << (me.ping_shift() + (c.get(K::PingsSent) % 16) as u32);
            self.events.notify(&self.ev_out, bit);
            c.inc(K::PingsSent);
            st.ping_pending = Some(bit);
            progress = true;
        }
        let peer_half = 0xFFFF << peer.ping_shift();
        let seen = self.ev_in.bits() & peer_half;
        if seen != 0 {
            self.ev_in.clear(seen);
            let expected = 1 << (peer.ping_shift() + (c.get(K::PingsAnswered) % 16) as u32);
            if seen != expected {
                c.inc(K::EventWrongBit);
            }
            self.events.notify(&self.ev_out, seen);
            c.inc(K::PingsAnswered);
            progress = true;
        }
        progress
    }

    /// Print routing: the subcore prints a line a millisecond, the maincore checks each
    /// line it receives against the one due.
    fn route_prints(&self, st: &mut Pass, send: bool) -> bool {
        let c = self.counters;
        let mut progress = false;
        if self.who == Who::Sub && send && self.core.now_ms() != st.last_print_ms {
            st.last_print_ms = self.core.now_ms();
            esp_amp::println!("{}", line(c.get(K::LinesPrinted)));
            c.inc(K::LinesPrinted);
            progress = true;
        }
        if let Some(sup) = self.supplicant {
            let mut lines = 0;
            sup.dispatch(|text| {
                lines += 1;
                let expected = line(st.line_seq);
                if text == expected.as_bytes() {
                    c.inc(K::LinesReceived);
                    st.line_seq += 1;
                    return;
                }
                let claimed = std::str::from_utf8(text)
                    .ok()
                    .and_then(|t| t.strip_prefix("soak ")?.split(' ').next()?.parse::<u64>().ok());
                match claimed {
                    Some(s) if s != st.line_seq && text == line(s).as_bytes() => {
                        c.inc(K::LineGap);
                        c.inc(K::LinesReceived);
                        st.line_seq = s + 1;
                    }
                    _ => {
                        c.inc(K::LineCorrupt);
                        st.line_seq += 1;
                    }
                }
            });
            c.max(K::HwLinesPerPoll, lines);
            progress |= lines > 0;
        }
        progress
    }

    /// Finishing: once this side stopped originating and nothing of its own is in flight
    /// it is quiet; once everything the peer sent has arrived (or [`DRAIN`] passed) it is
    /// done. `Ok(true)` when the loop may end.
    fn finish<const S: usize, const V: usize>(
        &self,
        ctrl: Ctrl<'_>,
        st: &mut Pass,
        client: &RpcClient<'_, S>,
        server: &RpcServer<'_, V>,
    ) -> Result<bool> {
        let (me, peer, c) = (self.who, self.who.peer(), self.counters);
        if !st.originating && st.quiet_at.is_none() && client.in_flight() == 0 && st.ping_pending.is_none() {
            self.snapshot(self.dev, client, server);
            ctrl.publish(me, c, Some(state::QUIET));
            st.quiet_at = Some(Instant::now());
        }
        if let (Some(at), false) = (st.quiet_at, st.done) {
            let all_in = ctrl.state(peer) >= state::QUIET && {
                let p = ctrl.read(peer);
                c.get(K::StreamReceived) + self.stream_errors() >= p[K::StreamSent as usize]
                    && u64::from(server.stats().requests) >= p[K::RpcCalls as usize]
                    && c.get(K::PingsAnswered) >= p[K::PingsSent as usize]
                    && (self.supplicant.is_none()
                        || c.get(K::LinesReceived) + c.get(K::LineCorrupt) >= p[K::LinesPrinted as usize])
            };
            if all_in || at.elapsed() > DRAIN {
                if !all_in {
                    c.inc(K::DrainTimeouts);
                }
                self.snapshot(self.dev, client, server);
                ctrl.publish(me, c, Some(state::DONE));
                st.done = true;
            }
        }
        if st.done {
            // The subcore has nothing the maincore still needs; the maincore waits for the
            // subcore's final counters.
            if me == Who::Sub || ctrl.state(peer) >= state::DONE {
                return Ok(true);
            }
            if st.quiet_at.is_some_and(|at| at.elapsed() > DRAIN * 2) {
                return Err(format!("{}: the {} never finished", me.name(), peer.name()).into());
            }
        }
        Ok(false)
    }

    /// Every 100 ms: the resident-set baseline (after the first second), our counters
    /// published, the caller's `tick` with the peer's.
    fn housekeeping<const S: usize, const V: usize>(
        &self,
        ctrl: Ctrl<'_>,
        st: &mut Pass,
        client: &RpcClient<'_, S>,
        server: &RpcServer<'_, V>,
        tick: &mut dyn FnMut(&[u64; K::COUNT]),
    ) {
        if st.last_tick.elapsed() < Duration::from_millis(100) {
            return;
        }
        st.last_tick = Instant::now();
        let c = self.counters;
        if !st.rss_start_taken && st.started.elapsed() >= Duration::from_secs(1) {
            st.rss_start_taken = true;
            c.set(K::RssStartKib, rss_kib().0);
        }
        if st.quiet_at.is_none() {
            self.snapshot(self.dev, client, server);
            if self.who == Who::Sub {
                ctrl.publish(self.who, c, None);
            }
        }
        tick(&ctrl.read(self.who.peer()));
    }

    fn stream_errors(&self) -> u64 {
        let c = self.counters;
        c.get(K::StreamOutOfOrder) + c.get(K::StreamBadLength) + c.get(K::StreamCorrupt)
    }

    /// Copies the library's own counters into ours.
    fn snapshot<const S: usize, const V: usize>(
        &self,
        dev: &Rpmsg<'_, R>,
        client: &RpcClient<'_, S>,
        server: &RpcServer<'_, V>,
    ) {
        let c = self.counters;
        let r = dev.stats();
        c.set(K::DroppedUnknown, r.dropped_unknown.into());
        c.set(K::DroppedBadLen, r.dropped_bad_len.into());
        c.set(K::DroppedDeleted, r.dropped_deleted.into());
        c.set(K::QueueFaults, r.queue_faults.into());
        let cs = client.stats();
        c.set(K::ClientCancelled, cs.cancelled.into());
        c.set(K::ClientLate, cs.late.into());
        c.set(K::ClientWrongCmd, cs.wrong_cmd.into());
        c.set(K::ClientForeign, cs.foreign.into());
        c.set(K::ClientMalformed, cs.malformed.into());
        let ss = server.stats();
        c.set(K::Served, ss.requests.into());
        c.set(K::ServedInvalid, ss.invalid_cmd.into());
        c.set(K::ServerMalformed, ss.malformed.into());
        c.set(K::ServerOversize, ss.oversize.into());
        c.set(K::ServerBadReplyLen, ss.bad_reply_len.into());
        c.set(K::ReplyWaited, ss.reply_waited.into());
        if let Some(sup) = self.supplicant {
            let s = sup.stats();
            c.set(K::SupplicantUnknown, s.unknown.into());
            c.set(K::SupplicantMalformed, s.malformed.into());
            c.set(K::SupplicantFaults, s.faults.into());
        }
        if let Some(p) = global_stats() {
            c.set(K::PrintDroppedBytes, p.dropped.into());
            c.set(K::PrintFallbackBytes, p.fallback.into());
        }
        c.set(K::IrqRaised, self.core.raised_count().into());
        c.set(K::IrqHandled, self.core.delivered_count().into());
        let (rss, peak) = rss_kib();
        c.set(K::RssEndKib, rss);
        c.set(K::RssPeakKib, peak);
    }
}

/// How long, and how often to report progress.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// How long the run lasts.
    pub duration: Duration,
    /// A progress line this often (`None`: silent).
    pub progress_every: Option<Duration>,
}

/// One delivery path of the run: what one side sent and the other received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathCheck {
    /// The path, for the report.
    pub what: &'static str,
    /// Messages (or calls) one side sent.
    pub sent: u64,
    /// How many of them the other side received.
    pub received: u64,
    /// Part of another path (the calls to an unknown command): not counted again in
    /// [`SoakReport::messages`].
    pub subset: bool,
}

impl PathCheck {
    /// Sent and never received.
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }
    /// Nothing lost and nothing extra.
    pub fn ok(&self) -> bool {
        self.sent == self.received
    }
}

/// The end of a soak run.
#[derive(Clone, Debug)]
pub struct SoakReport {
    /// How long the run took.
    pub seconds: f64,
    /// The maincore's counters.
    pub main: [u64; K::COUNT],
    /// The subcore's counters.
    pub sub: [u64; K::COUNT],
    /// Every delivery path, checked.
    pub paths: Vec<PathCheck>,
    /// Whatever ended the run early or went wrong outside the counters.
    pub problems: Vec<String>,
}

impl SoakReport {
    fn new(seconds: f64, main: [u64; K::COUNT], sub: [u64; K::COUNT], problems: Vec<String>) -> Self {
        let m = |k: K| main[k as usize];
        let s = |k: K| sub[k as usize];
        let path = |what, sent, received| PathCheck { what, sent, received, subset: false };
        let subset = |what, sent, received| PathCheck { what, sent, received, subset: true };
        let paths = vec![
            path("rpmsg stream main → sub", m(K::StreamSent), s(K::StreamReceived)),
            path("rpmsg stream sub → main", s(K::StreamSent), m(K::StreamReceived)),
            path("rpc calls main → sub (requests)", m(K::RpcCalls), s(K::Served)),
            path("rpc calls main → sub (responses)", m(K::RpcCalls), m(K::RpcCompleted)),
            subset("rpc unknown command main → sub", m(K::RpcUnknownCalls), s(K::ServedInvalid)),
            path("rpc calls sub → main (requests)", s(K::RpcCalls), m(K::Served)),
            path("rpc calls sub → main (responses)", s(K::RpcCalls), s(K::RpcCompleted)),
            subset("rpc unknown command sub → main", s(K::RpcUnknownCalls), m(K::ServedInvalid)),
            path("event pings main → sub", m(K::PingsSent), s(K::PingsAnswered)),
            path("event answers sub → main", s(K::PingsAnswered), m(K::PongsReceived)),
            path("event pings sub → main", s(K::PingsSent), m(K::PingsAnswered)),
            path("event answers main → sub", m(K::PingsAnswered), s(K::PongsReceived)),
            path("print lines sub → main", s(K::LinesPrinted), m(K::LinesReceived)),
        ];
        SoakReport { seconds, main, sub, paths, problems }
    }

    /// Errors of both sides, by kind (only the non-zero ones).
    pub fn errors(&self) -> Vec<(K, u64, u64)> {
        K::ALL
            .into_iter()
            .filter(|k| k.class() == Class::Error)
            .map(|k| (k, self.main[k as usize], self.sub[k as usize]))
            .filter(|&(_, m, s)| m.saturating_add(s) > 0)
            .collect()
    }

    /// Messages sent and not received, over all paths.
    pub fn lost(&self) -> u64 {
        self.paths.iter().fold(0u64, |t, p| t.saturating_add(p.lost()))
    }

    /// No problem, no error, every path balanced, and traffic on every path.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
            && self.errors().is_empty()
            && self.paths.iter().all(|p| p.ok() && p.sent > 0)
    }

    /// Messages moved in all: stream messages, requests and responses, pings and their
    /// answers, lines.
    pub fn messages(&self) -> u64 {
        self.paths.iter().filter(|p| !p.subset).fold(0u64, |t, p| t.saturating_add(p.sent))
    }
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "soak run: {:.0} s, {}", self.seconds, if self.passed() { "PASSED" } else { "FAILED" })?;
        writeln!(f, "\ndelivery (sent by one side, received by the other):")?;
        for p in &self.paths {
            writeln!(
                f,
                "  {:<36} {:>13} sent {:>13} received {:>6} lost{}",
                p.what,
                p.sent,
                p.received,
                p.lost(),
                if p.ok() { "" } else { "  <-- MISMATCH" }
            )?;
        }
        for (class, title) in [
            (Class::Traffic, "traffic"),
            (Class::Error, "errors by kind (all must be 0)"),
            (Class::Backpressure, "backpressure (waits, not losses)"),
            (Class::HighWater, "high-water marks"),
        ] {
            writeln!(f, "\n{title}:{:>w$}{:>14}", "maincore", "subcore", w = 71 - title.len())?;
            for k in K::ALL.into_iter().filter(|k| k.class() == class) {
                writeln!(f, "  {:<56}{:>14}{:>14}", k.text(), self.main[k as usize], self.sub[k as usize])?;
            }
        }
        let secs = self.seconds.max(1e-3);
        writeln!(
            f,
            "\n{} messages in all ({:.0}/s), {} lost, {} errors",
            self.messages(),
            self.messages() as f64 / secs,
            self.lost(),
            self.errors().iter().fold(0u64, |t, &(_, m, s)| t.saturating_add(m).saturating_add(s))
        )?;
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        Ok(())
    }
}

/// The maincore: sets the region up, starts `firmware` (which must call [`run_subcore`])
/// as the subcore, runs the soak for `cfg.duration`, and returns the report. `Err` only
/// when the run could not be set up; failures during the run are in the report.
pub fn run_maincore(cfg: &SoakConfig, firmware: &HostFirmware) -> Result<SoakReport> {
    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6))?;
    let region = HostRegion::create(&layout)?;
    let core = HostCore::new(&region, CoreSide::Main);
    let mut sub =
        SubcoreHandle::new(ProcessPort::new(&region)).with_panic_dump(PanicDump::new(region.panic_dump())?);

    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool())?;
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), &core)?;
    let ev = DefaultEvents::create(&mut sys)?;
    let block = sys.alloc(CTRL_ID, CTRL_SIZE, Pool::Hp)?;
    block.shm().fill(block.addr(), CTRL_SIZE as u32, 0)?;
    let ctrl = Ctrl { shm: block.shm(), addr: block.addr() };
    let mut dev: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(QUEUE.0, QUEUE.1)?)?;
    dev.notify_with(&sw);
    let supplicant = Supplicant::create(&mut sys)?;
    let monitor = PanicMonitor::new(&core);
    sw.add_handler(SwIntrId::PANIC, &monitor).map_err(|_| "handler table full")?;
    let events: Events<'_, _> = Events::new(&sw, &core);

    sub.load(firmware)?;
    sub.start()?;
    let counters = Counters::default();
    let start = Instant::now();
    let side = Side {
        who: Who::Main,
        dev: &dev,
        core: &core,
        events: &events,
        ev_out: ev.outgoing::<MainCore>(),
        ev_in: ev.incoming::<MainCore>(),
        supplicant: Some(&supplicant),
        deadline: Some(start + cfg.duration),
        counters: &counters,
    };
    let mut problems = Vec::new();
    let mut last_line = Instant::now();
    let mut tick = |peer: &[u64; K::COUNT]| {
        let Some(every) = cfg.progress_every else { return };
        if last_line.elapsed() < every {
            return;
        }
        last_line = Instant::now();
        let m = |k: K| counters.get(k);
        let errors: u64 = K::ALL
            .iter()
            .filter(|k| k.class() == Class::Error)
            .fold(0u64, |t, &k| t.saturating_add(m(k)).saturating_add(peer[k as usize]));
        eprintln!(
            "[{:>6.0} s] stream {}/{} rpc {}/{} events {}/{} lines {} | errors {errors} | rss {} KiB",
            start.elapsed().as_secs_f64(),
            m(K::StreamSent),
            m(K::StreamReceived),
            m(K::RpcCompleted),
            m(K::Served),
            m(K::PongsReceived),
            m(K::PingsAnswered),
            m(K::LinesReceived),
            rss_kib().0
        );
    };
    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        if let Err(e) = side.run(ctrl, &mut tick) {
            problems.push(e.to_string());
        }
    });
    if monitor.panicked() {
        sub.handle_panic(&monitor, |report| problems.push(format!("the subcore panicked:\n{report}")));
    }
    let seconds = start.elapsed().as_secs_f64();
    match sub.port_mut().wait_exit(Duration::from_secs(5)) {
        Ok(Some(st)) if st.success() => {}
        Ok(Some(st)) => problems.push(format!("the subcore exited with {st}")),
        Ok(None) => problems.push("the subcore did not exit".into()),
        Err(e) => problems.push(format!("waiting for the subcore: {e}")),
    }
    sub.stop();
    let sub_counters = if ctrl.state(Who::Sub) >= state::DONE {
        ctrl.read(Who::Sub)
    } else {
        problems.push("the subcore never published its final counters".into());
        ctrl.read(Who::Sub)
    };
    Ok(SoakReport::new(seconds, counters.values(), sub_counters, problems))
}

/// The subcore: opens the region named by the environment (see
/// [`HostRegion::open_from_env`]), routes its printing to the maincore, and runs its part
/// of the soak until the maincore stops it.
pub fn run_subcore() -> Result<()> {
    // The region and the port live as long as the process (like a chip's fixed addresses).
    let region: &'static HostRegion = Box::leak(Box::new(HostRegion::open_from_env()?));
    let core: &'static HostCore<'static> = Box::leak(Box::new(HostCore::new(region, CoreSide::Sub)));
    let sw: &'static SwIntr<'static, SubCore, &'static HostCore<'static>> =
        Box::leak(Box::new(SwIntr::attach(region.sw_intr_header(), core)?));
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    set_global(
        Printer::new(Some(service::attach(&info)?)).with_platform(core).with_reserve_timeout(PRINT_WAIT_MS),
    );
    let notify: &'static (dyn Fn() + Sync) = Box::leak(Box::new(move || sw.trigger(SwIntrId::PANIC)));
    install_panic_hook(PanicSink {
        dump: PanicDump::new(region.panic_dump())?,
        notify,
        frame_by_trap: false,
    });

    let ev = DefaultEvents::attach(&info)?;
    let block = info.get(CTRL_ID, Pool::Hp)?.expect_size(CTRL_SIZE as u16)?;
    let ctrl = Ctrl { shm: block.shm(), addr: block.addr() };
    let mut dev: Rpmsg<'_, SubCore> = Rpmsg::attach(&info)?;
    dev.notify_with(sw);
    let events: Events<'_, _> = Events::new(sw, core);
    let counters = Counters::default();
    let side = Side {
        who: Who::Sub,
        dev: &dev,
        core,
        events: &events,
        ev_out: ev.outgoing::<SubCore>(),
        ev_in: ev.incoming::<SubCore>(),
        supplicant: None,
        deadline: None,
        counters: &counters,
    };
    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        side.run(ctrl, &mut |_| {})
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_64th_call_is_unknown_and_xform_calls_count_on() {
        let seq: Vec<Option<u32>> = (0..130).map(xseq).collect();
        assert_eq!(seq[0], Some(0));
        assert_eq!(seq[62], Some(62));
        assert_eq!(seq[63], None);
        assert_eq!(seq[64], Some(63));
        assert_eq!(seq[127], None);
        assert_eq!(seq[128], Some(126));
        let xs: Vec<u32> = seq.into_iter().flatten().collect();
        assert!(xs.windows(2).all(|w| w[1] == w[0] + 1));
    }

    #[test]
    fn lines_fit_one_print_request_and_differ() {
        for seq in [0, 1, 63, 1 << 20, u64::from(u32::MAX) * 7] {
            let l = line(seq);
            assert!(l.len() < 123, "{l}");
            assert_ne!(l, line(seq + 1));
        }
    }

    /// Counters of a run where each side sent 100 of everything and received all.
    fn balanced() -> ([u64; K::COUNT], [u64; K::COUNT]) {
        let one_side = |lines_printed: u64, lines_received: u64| {
            let mut c = [0; K::COUNT];
            for k in [
                K::StreamSent,
                K::StreamReceived,
                K::RpcCalls,
                K::RpcCompleted,
                K::Served,
                K::RpcUnknownCalls,
                K::ServedInvalid,
                K::PingsSent,
                K::PongsReceived,
                K::PingsAnswered,
            ] {
                c[k as usize] = 100;
            }
            c[K::LinesPrinted as usize] = lines_printed;
            c[K::LinesReceived as usize] = lines_received;
            c
        };
        (one_side(0, 50), one_side(50, 0))
    }

    #[test]
    fn report_passes_only_when_every_path_balances_without_errors() {
        let (m, s) = balanced();
        let r = SoakReport::new(1.0, m, s, vec![]);
        assert!(r.passed(), "{r}");
        assert_eq!((r.lost(), r.messages()), (0, 10 * 100 + 50));

        let mut lossy = s;
        lossy[K::StreamReceived as usize] -= 1;
        let r = SoakReport::new(1.0, m, lossy, vec![]);
        assert!(!r.passed());
        assert_eq!(r.lost(), 1);
        assert!(r.to_string().contains("MISMATCH"));

        let mut err = m;
        err[K::QueueFaults as usize] = 2;
        let r = SoakReport::new(1.0, err, s, vec![]);
        assert!(!r.passed());
        assert_eq!(r.errors(), vec![(K::QueueFaults, 2, 0)]);

        assert!(!SoakReport::new(1.0, m, s, vec!["stalled".into()]).passed());
        assert!(!SoakReport::new(1.0, [0; K::COUNT], [0; K::COUNT], vec![]).passed(), "no traffic");
    }

    #[test]
    fn control_block_fits_the_counters() {
        assert_eq!(Who::Sub.area() as usize + 8 * K::COUNT, CTRL_SIZE);
    }
}
