//! A peer that only follows the protocol fast: for every message we route it sends
//! another, to an endpoint of ours other than the one we wait on. Every receive path must
//! do bounded work per call and every timeout must fire (docs/reliability.md, "Bounded
//! work per call").
//!
//! The interleaving is deterministic: the peer sends from inside our receive callback,
//! that is, exactly once per message we route, on this thread. Without the bounds these
//! calls never return; the peer gives up after `LIMIT` messages and panics, so such a
//! regression fails instead of hanging.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use common::*;
use esp_amp::queue::{QueueError, QueueSpec};
use esp_amp::rpc::{RpcClient, RpcError, RpcServer};
use esp_amp::rpmsg::{Endpoint, Inbound, Receiver, Rpmsg, RpmsgError};
use esp_amp::signal::IrqSignal;
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::{MainCore, SubCore};

/// Queue length: at most this many messages are routed per call.
const N: u32 = 4;
const FLOOD: u16 = 7;
const WANTED: u16 = 8;
const LIMIT: u32 = 100_000;

/// The peer's side, driven from our callback. `Rpmsg` is not `Sync` (it is one core's
/// handle), which a callback must be.
struct Peer<'a> {
    dev: &'a Rpmsg<'a, MainCore>,
    from: Endpoint,
    /// Messages the callback saw.
    routed: AtomicU32,
    /// After this many, the peer sends one message to `WANTED` and stops flooding.
    stop_after: Option<u32>,
}

// SAFETY: every test here runs on one thread: the callback that uses `dev` runs inside
// our receive calls on the test's thread, and nothing else touches `dev` meanwhile.
unsafe impl Sync for Peer<'_> {}

impl Peer<'_> {
    fn on_flood(&self, _: Inbound<'_>) {
        let n = self.routed.fetch_add(1, Ordering::Relaxed) + 1;
        assert!(n < LIMIT, "the receive call routed {LIMIT} messages without returning");
        match self.stop_after {
            Some(stop) if n == stop => self.dev.send(self.from, WANTED, b"wanted").unwrap(),
            Some(stop) if n > stop => {}
            // The slot being routed is given back after the callback; one buffer of the
            // four is always free here, since the flood keeps three in flight.
            _ => self.dev.send(self.from, FLOOD, b"flood").unwrap(),
        }
    }

    fn routed(&self) -> u32 {
        self.routed.load(Ordering::Relaxed)
    }
}

fn pair(region: &Region) -> (Rpmsg<'_, MainCore>, Rpmsg<'_, SubCore>) {
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let main = Rpmsg::create(&mut sys, QueueSpec::new(N, 64).unwrap()).unwrap();
    let sub = Rpmsg::attach(&sys.info()).unwrap();
    (main, sub)
}

fn peer<'a>(main: &'a Rpmsg<'a, MainCore>, stop_after: Option<u32>) -> Peer<'a> {
    let from = main.create_endpoint(1, Receiver::Mailbox).unwrap();
    Peer { dev: main, from, routed: AtomicU32::new(0), stop_after }
}

/// Starts the flood: three messages in flight, each routed one brings the next.
fn start(peer: &Peer<'_>) {
    for _ in 0..N - 1 {
        peer.dev.send(peer.from, FLOOD, b"flood").unwrap();
    }
}

#[test]
fn try_recv_routes_at_most_one_ring_worth() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let peer = peer(&main, None);
    let cb = |m: Inbound<'_>| peer.on_flood(m);
    sub.create_endpoint(FLOOD, Receiver::Callback(&cb)).unwrap();
    let wanted = sub.create_endpoint(WANTED, Receiver::Mailbox).unwrap();
    start(&peer);
    for call in 1..=10 {
        assert!(sub.try_recv(wanted).is_none());
        assert_eq!(peer.routed(), call * N, "call {call}");
        assert!(sub.has_input(), "the flood goes on");
    }
    assert_eq!(sub.dispatch(), N as usize);
    assert_eq!(peer.routed(), 11 * N);
}

#[test]
fn a_message_in_the_ring_when_the_call_began_is_found() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let from = main.create_endpoint(1, Receiver::Mailbox).unwrap();
    let seen = AtomicU32::new(0);
    let cb = |_: Inbound<'_>| {
        seen.fetch_add(1, Ordering::Relaxed);
    };
    sub.create_endpoint(FLOOD, Receiver::Callback(&cb)).unwrap();
    let wanted = sub.create_endpoint(WANTED, Receiver::Mailbox).unwrap();
    // The wanted message is the last of a full ring.
    for _ in 0..N - 1 {
        main.send(from, FLOOD, b"flood").unwrap();
    }
    main.send(from, WANTED, b"last").unwrap();
    assert_eq!(sub.try_recv(wanted).unwrap().bytes(), b"last");
    assert_eq!(seen.load(Ordering::Relaxed), N - 1);
}

#[test]
fn recv_timeout_fires_while_the_peer_floods_another_endpoint() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let peer = peer(&main, None);
    let cb = |m: Inbound<'_>| peer.on_flood(m);
    sub.create_endpoint(FLOOD, Receiver::Callback(&cb)).unwrap();
    let wanted = sub.create_endpoint(WANTED, Receiver::Mailbox).unwrap();
    start(&peer);
    let clock = TickingClock::default();
    let r = sub.recv_timeout(wanted, &clock, Some(100));
    assert_eq!(r.err(), Some(RpmsgError::Queue(QueueError::Timeout)));
    // One clock read to start, one after each attempt: 101 attempts saw 100 ms pass
    // (C's `now − start > timeout`), each routing one ring's worth.
    let attempts = clock.0.get() - 1;
    assert_eq!(attempts, 101);
    assert_eq!(peer.routed(), attempts * N);
}

#[test]
fn a_wanted_message_behind_a_flood_arrives_through_recv_timeout() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let peer = peer(&main, Some(50));
    let cb = |m: Inbound<'_>| peer.on_flood(m);
    sub.create_endpoint(FLOOD, Receiver::Callback(&cb)).unwrap();
    let wanted = sub.create_endpoint(WANTED, Receiver::Mailbox).unwrap();
    start(&peer);
    let clock = TickingClock::default();
    let m = sub.recv_timeout(wanted, &clock, Some(1000)).unwrap();
    assert_eq!(m.bytes(), b"wanted");
    // Sent as the 50th flood message was routed; the three before it in the ring are
    // routed first.
    assert_eq!(peer.routed(), 52);
}

#[test]
fn serve_timeout_and_call_wait_fire_while_the_peer_floods() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let peer = peer(&main, None);
    let cb = |m: Inbound<'_>| peer.on_flood(m);
    sub.create_endpoint(FLOOD, Receiver::Callback(&cb)).unwrap();
    // Our server, which the peer never calls.
    let mut rq = [0u8; 64];
    let mut server: RpcServer = RpcServer::new(&sub, WANTED, &mut rq).unwrap();
    start(&peer);
    let clock = TickingClock::default();
    assert_eq!(server.serve_timeout(&sub, &clock, Some(100)), Err(RpcError::Timeout));
    let attempts = clock.0.get() - 1;
    assert_eq!(attempts, 101);
    assert_eq!(peer.routed(), attempts * N);

    // Our client, calling a server on the peer's side that never answers (the request
    // waits in the peer's mailbox).
    let _silent = main.create_endpoint(0x20, Receiver::Mailbox).unwrap();
    let client: RpcClient = RpcClient::new(&sub, 0x21, 0x20).unwrap();
    let call = client.call(&sub, 0x10, b"?").unwrap();
    let before = peer.routed();
    let clock = TickingClock::default();
    assert_eq!(call.response_timeout(&sub, &clock, Some(100)).err(), Some(RpcError::Timeout));
    let attempts = clock.0.get() - 1;
    assert_eq!(attempts, 101);
    assert_eq!(peer.routed() - before, attempts * N);
}

#[test]
fn server_poll_is_bounded_and_serves_what_was_routed() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let peer = peer(&main, None);
    let cb = |m: Inbound<'_>| peer.on_flood(m);
    sub.create_endpoint(FLOOD, Receiver::Callback(&cb)).unwrap();
    let mut rq = [0u8; 64];
    let mut server: RpcServer = RpcServer::new(&sub, WANTED, &mut rq).unwrap();
    start(&peer);
    for call in 1..=5 {
        assert_eq!(server.try_serve(&sub), 0);
        assert_eq!(peer.routed(), call * N);
    }
}

struct Flag(AtomicBool);
impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn async_receive_yields_while_flooded_and_gets_the_message_after() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let peer = peer(&main, Some(30));
    let cb = |m: Inbound<'_>| peer.on_flood(m);
    sub.create_endpoint(FLOOD, Receiver::Callback(&cb)).unwrap();
    let wanted = sub.create_endpoint(WANTED, Receiver::Mailbox).unwrap();
    let signal: IrqSignal = IrqSignal::new();
    start(&peer);
    let flag = Arc::new(Flag(false.into()));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(sub.recv(wanted, &signal));
    let mut polls = 0;
    let got = loop {
        flag.0.store(false, Ordering::SeqCst);
        polls += 1;
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(m) => break m,
            Poll::Pending => {
                // Each poll routes one ring's worth and, with input left, wakes itself:
                // no interrupt is needed to go on, and the executor runs others between.
                assert_eq!(peer.routed(), polls * N);
                assert!(flag.0.load(Ordering::SeqCst), "poll {polls}: not woken with input left");
            }
        }
    };
    assert_eq!(got.bytes(), b"wanted");
    assert_eq!(peer.routed(), 32);
    // Eight polls route the 32 flood messages (four each), the ninth the wanted one.
    assert_eq!(polls, 9);
    drop(got);
    // With the ring empty it waits for the interrupt instead.
    let mut fut = pin!(sub.recv(wanted, &signal));
    flag.0.store(false, Ordering::SeqCst);
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert!(!flag.0.load(Ordering::SeqCst));
}

#[test]
fn the_supplicant_takes_at_most_its_queue_per_poll() {
    use esp_amp::system::service::{self, Supplicant, QUEUE_LEN, SERVICE_PRINT};
    let region = Region::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let supplicant = Supplicant::create(&mut sys).unwrap();
    let tx = service::attach(&sys.info()).unwrap();
    // The subcore prints a new line for every line we take, keeping all but one of the
    // buffers in flight.
    for _ in 0..QUEUE_LEN - 1 {
        service::send_request(&tx, SERVICE_PRINT, b"spam").unwrap();
    }
    // (With esp-amp's `batch-free`, frees reach the subcore a few at a time: what it could
    // not send yet it sends with the next line.)
    let (mut lines, mut owed) = (0u32, 0u32);
    for _ in 0..5 {
        let before = lines;
        let taken = supplicant.dispatch(|_| {
            lines += 1;
            owed += 1;
            assert!(lines < LIMIT, "the supplicant never returned");
            while owed > 0 && service::send_request(&tx, SERVICE_PRINT, b"spam").is_ok() {
                owed -= 1;
            }
        });
        assert!(taken > 0 && taken <= QUEUE_LEN as usize, "{taken}");
        assert_eq!(lines - before, taken as u32);
        assert!(supplicant.has_data(), "the flood goes on");
    }
}

#[test]
fn async_serve_and_response_yield_while_the_peer_floods() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let peer = peer(&main, None);
    let cb = |m: Inbound<'_>| peer.on_flood(m);
    sub.create_endpoint(FLOOD, Receiver::Callback(&cb)).unwrap();
    let signal: IrqSignal = IrqSignal::new();
    let flag = Arc::new(Flag(false.into()));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    start(&peer);

    let mut rq = [0u8; 64];
    let mut server: RpcServer = RpcServer::new(&sub, WANTED, &mut rq).unwrap();
    {
        let mut serve = pin!(server.serve(&sub, &signal));
        for poll in 1..=5 {
            flag.0.store(false, Ordering::SeqCst);
            assert!(serve.as_mut().poll(&mut cx).is_pending());
            assert_eq!(peer.routed(), poll * N);
            assert!(flag.0.load(Ordering::SeqCst), "serve: not woken with input left");
        }
    }

    let _silent = main.create_endpoint(0x20, Receiver::Mailbox).unwrap();
    let client: RpcClient = RpcClient::new(&sub, 0x21, 0x20).unwrap();
    let call = client.call(&sub, 0x10, b"?").unwrap();
    let before = peer.routed();
    let mut response = pin!(call.response(&sub, &signal));
    for poll in 1..=5 {
        flag.0.store(false, Ordering::SeqCst);
        assert!(response.as_mut().poll(&mut cx).is_pending());
        assert_eq!(peer.routed() - before, poll * N);
        assert!(flag.0.load(Ordering::SeqCst), "response: not woken with input left");
    }
}

/// An event word whose peer flips an unrelated bit just before each of our exchanges, so
/// every exchange fails.
struct ChurnedWord {
    word: AtomicU32,
    exchanges: AtomicU32,
}

impl esp_amp::word::AtomicWord for ChurnedWord {
    fn load(&self, order: Ordering) -> u32 {
        self.word.load(order)
    }
    fn swap(&self, v: u32, order: Ordering) -> u32 {
        self.word.swap(v, order)
    }
    fn fetch_or(&self, v: u32, order: Ordering) -> u32 {
        self.word.fetch_or(v, order)
    }
    fn fetch_and(&self, v: u32, order: Ordering) -> u32 {
        self.word.fetch_and(v, order)
    }
    fn compare_exchange(&self, current: u32, new: u32, ok: Ordering, fail: Ordering) -> Result<u32, u32> {
        let n = self.exchanges.fetch_add(1, Ordering::Relaxed) + 1;
        assert!(n < LIMIT, "the event wait never returned");
        self.word.fetch_xor(1 << 31, Ordering::Relaxed); // the peer
        self.word.compare_exchange(current, new, ok, fail)
    }
}

#[test]
fn an_event_wait_attempt_is_bounded_while_the_peer_churns_the_word() {
    use esp_amp::event::{try_wait_word, WaitFor, CAS_ROUNDS};
    let word = ChurnedWord { word: AtomicU32::new(0b11), exchanges: AtomicU32::new(0) };
    // The bits are there, but every exchange loses the race: "not yet", after a bound.
    assert!(try_wait_word(&word, 0b11, WaitFor::All, true).is_err());
    assert_eq!(word.exchanges.load(Ordering::Relaxed), CAS_ROUNDS);
    // Once the peer is quiet, the next attempt takes them.
    let quiet = AtomicU32::new(word.word.load(Ordering::Relaxed));
    assert!(matches!(try_wait_word(&quiet, 0b11, WaitFor::All, true), Ok(v) if v & 0b11 == 0b11));
    assert_eq!(quiet.load(Ordering::Relaxed) & 0b11, 0);
}
