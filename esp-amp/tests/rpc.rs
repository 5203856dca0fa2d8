//! RPC: wire bytes against hand-built packets, requests in flight, msg_id wrap-around,
//! unknown/oversize/one-way commands, timeouts with late responses, hostile packets.
//! Runs under miri too (the wrap-around test excepted: 65,536 round trips).

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use esp_amp::payload::PeerBytesMut;
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::{
    max_body, ClientStats, PacketError, PacketHeader, Reply, Request, RpcClient, RpcError, RpcServer,
    ServerStats, Status,
};
use esp_amp::rpmsg::{Endpoint, Receiver, Rpmsg};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::{MainCore, SubCore};

const CLIENT: u16 = 0x0000;
const SERVER: u16 = 0x0001;
const ITEM: u32 = 64;
const ADD: u16 = 0x10;
const ECHO: u16 = 0x11;
const LOG: u16 = 0x12;
const SILENT: u16 = 0x13;

fn pair(region: &Region) -> (Rpmsg<'_, MainCore>, Rpmsg<'_, SubCore>) {
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let main = Rpmsg::create(&mut sys, QueueSpec::new(16, ITEM).unwrap()).unwrap();
    let sub = Rpmsg::attach(&sys.info()).unwrap();
    (main, sub)
}

/// The request/response bytes as docs/protocol.md §7 describes them, built by hand.
fn packet(msg_id: u16, cmd_id: u16, status: u16, body: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    for v in [msg_id, cmd_id, status, body.len() as u16] {
        p.extend_from_slice(&v.to_le_bytes());
    }
    p.extend_from_slice(body);
    p
}

fn add(req: &Request<'_>, mut resp: PeerBytesMut<'_>) -> Reply {
    match *req.data() {
        [a0, a1, b0, b1] => {
            let sum = u16::from_le_bytes([a0, a1]).wrapping_add(u16::from_le_bytes([b0, b1]));
            resp.write(0, &sum.to_le_bytes()).unwrap();
            Reply::ok(2)
        }
        _ => Reply::new(Status::EXEC_FAILED, 1),
    }
}

fn echo(req: &Request<'_>, mut resp: PeerBytesMut<'_>) -> Reply {
    resp.write(0, req.data()).unwrap();
    Reply::ok(req.data().len())
}

static LOGGED: AtomicU32 = AtomicU32::new(0);
fn log(req: &Request<'_>, _: PeerBytesMut<'_>) -> Reply {
    LOGGED.fetch_add(req.data().len() as u32, Ordering::Relaxed);
    Reply::NONE
}

fn sum_req(a: u16, b: u16) -> [u8; 4] {
    let mut r = [0; 4];
    r[..2].copy_from_slice(&a.to_le_bytes());
    r[2..].copy_from_slice(&b.to_le_bytes());
    r
}

#[test]
fn request_bytes_match_the_spec() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    // A raw endpoint plays the server: it sees exactly what the client put on the wire.
    let raw = sub.create_endpoint(SERVER, Receiver::Mailbox).unwrap();
    let _call = client.call(&main, 0x0102, b"hello").unwrap();
    let msg = sub.try_recv(raw).unwrap();
    assert_eq!(msg.src(), CLIENT);
    // The first request has msg_id 1, status PENDING (0xFFFC).
    assert_eq!(msg.bytes(), &packet(1, 0x0102, 0xFFFC, b"hello")[..]);
    assert_eq!(msg.bytes().read_array::<8>(0), Some([1, 0, 2, 1, 0xFC, 0xFF, 5, 0]));
}

#[test]
fn response_bytes_match_the_spec() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 64];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ECHO, &echo).unwrap();
    // A raw endpoint plays the client.
    let raw = main.create_endpoint(CLIENT, Receiver::Mailbox).unwrap();
    main.send(raw, SERVER, &packet(0x1234, ECHO, 0xFFFC, b"abc")).unwrap();
    main.send(raw, SERVER, &packet(0x1235, 0x7777, 0xFFFC, b"x")).unwrap();
    assert_eq!(server.try_serve(&sub), 2);
    let r = main.try_recv(raw).unwrap();
    assert_eq!(r.src(), SERVER);
    assert_eq!(r.bytes(), &packet(0x1234, ECHO, 0x0000, b"abc")[..]);
    drop(r);
    // Unknown command: INVALID_CMD with one zero byte, as C answers.
    let r = main.try_recv(raw).unwrap();
    assert_eq!(r.bytes(), &packet(0x1235, 0x7777, 0xFFFE, &[0])[..]);
    assert_eq!(server.stats().invalid_cmd, 1);
}

#[test]
fn header_round_trip_and_parse_errors() {
    let h = PacketHeader { msg_id: 0xBEEF, cmd_id: 7, status: Status::PENDING, msg_len: 2 };
    let mut bytes = h.to_bytes().to_vec();
    assert_eq!(
        bytes,
        packet(0xBEEF, 7, 0xFFFC, &[]).iter().take(6).chain(&[2, 0]).copied().collect::<Vec<_>>()
    );
    bytes.extend_from_slice(&[9, 9, 9]);
    assert_eq!(PacketHeader::parse(&bytes), Ok((h, &[9u8, 9][..])));
    assert_eq!(PacketHeader::parse(&bytes[..5]), Err(PacketError::Truncated { len: 5 }));
    assert_eq!(PacketHeader::parse(&bytes[..9]), Err(PacketError::BodyTooLong { msg_len: 2, available: 1 }));
    assert_eq!(max_body(64), 48);
    assert_eq!(max_body(12), 0);
}

#[test]
fn ten_requests_in_flight_complete_in_any_order() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ADD, &add).unwrap();
    let client: RpcClient<10> = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let mut calls: Vec<_> = (0..10u16).map(|i| client.call(&main, ADD, &sum_req(i, 100)).unwrap()).collect();
    assert_eq!(client.in_flight(), 10);
    // An 11th does not fit: every slot is taken, nothing is sent.
    assert_eq!(client.call(&main, ADD, &sum_req(0, 0)).unwrap_err(), RpcError::NoMem);
    assert_eq!(client.stats().sent, 10);
    assert_eq!(server.try_serve(&sub), 10);
    // Taken newest first: each call finds its own response among the others.
    for (i, call) in calls.iter_mut().enumerate().rev() {
        let r = call.try_response(&main).unwrap();
        assert_eq!((r.status(), r.cmd_id(), r.msg_id()), (Status::OK, ADD, i as u16 + 1));
        assert_eq!(r.bytes(), &(i as u16 + 100).to_le_bytes());
        assert!(call.try_response(&main).is_none(), "a response is taken once");
    }
    drop(calls);
    assert_eq!(client.in_flight(), 0);
    let s = client.stats();
    assert_eq!((s.sent, s.completed, s.cancelled, s.late), (10, 10, 0, 0));
}

#[test]
fn callbacks_complete_requests_from_poll() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ADD, &add).unwrap();
    let got = std::sync::Mutex::new(Vec::new());
    let on_done = |c: esp_amp::rpc::Completed<'_>| {
        got.lock().unwrap().push((c.msg_id, c.status, c.data.iter().collect::<Vec<u8>>()))
    };
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let a = client.call_with(&main, ADD, &sum_req(1, 2), &on_done).unwrap();
    let b = client.call_with(&main, ADD, &sum_req(3, 4), &on_done).unwrap();
    let c = client.call_with(&main, ADD, &sum_req(5, 6), &on_done).unwrap();
    assert!(client.cancel(b));
    assert!(!client.cancel(b), "cancelled once");
    assert_eq!(server.try_serve(&sub), 3);
    assert_eq!(client.dispatch(&main), 2);
    assert_eq!(
        *got.lock().unwrap(),
        vec![(a, Status::OK, 3u16.to_le_bytes().to_vec()), (c, Status::OK, 11u16.to_le_bytes().to_vec())]
    );
    let s = client.stats();
    assert_eq!((s.completed, s.cancelled, s.late), (2, 1, 1), "b's response was late");
}

#[test]
#[cfg_attr(miri, ignore = "65,536 round trips")]
fn msg_id_wraps_past_65535() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ADD, &add).unwrap();
    let client: RpcClient<2> = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    // One request stays in flight across the wrap: its id must be skipped, not reused.
    let mut held = client.call(&main, ADD, &sum_req(7, 7)).unwrap();
    assert_eq!(held.msg_id(), 1);
    let mut ids = Vec::new();
    for i in 0..65_540u32 {
        let mut call = client.call(&main, ADD, &sum_req(i as u16, 1)).unwrap();
        ids.push(call.msg_id());
        assert_eq!(server.try_serve(&sub), if i == 0 { 2 } else { 1 });
        let r = call.try_response(&main).unwrap();
        assert_eq!(r.msg_id(), call.msg_id());
        assert_eq!(r.bytes(), (i as u16).wrapping_add(1).to_le_bytes());
    }
    assert_eq!(&ids[..2], &[2, 3]);
    let wrap = ids.iter().position(|&id| id == 0).unwrap();
    assert_eq!(&ids[wrap - 1..wrap + 3], &[65535, 0, 2, 3], "1 is still in flight");
    assert_eq!(held.try_response(&main).unwrap().bytes(), &14u16.to_le_bytes());
    assert_eq!(client.stats().late, 0);
}

#[test]
fn oversize_request_is_refused_before_sending() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let raw = sub.create_endpoint(SERVER, Receiver::Mailbox).unwrap();
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let big = [0u8; 49];
    assert_eq!(client.call(&main, ECHO, &big).unwrap_err(), RpcError::InvalidSize { len: 49, max: 48 });
    assert_eq!(client.send(&main, ECHO, &big).unwrap_err().code(), -3);
    assert_eq!((client.stats().sent, client.in_flight(), main.stats().sent), (0, 0, 0));
    assert!(sub.try_recv(raw).is_none());
    // The largest that fits goes.
    let _call = client.call(&main, ECHO, &big[..48]).unwrap();
    assert_eq!(sub.try_recv(raw).unwrap().len(), 56);
}

#[test]
fn one_way_command_gets_no_response() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(LOG, &log).unwrap();
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let before = LOGGED.load(Ordering::Relaxed);
    client.send(&main, LOG, b"twelve bytes").unwrap();
    assert_eq!(server.try_serve(&sub), 1);
    assert_eq!(LOGGED.load(Ordering::Relaxed) - before, 12);
    assert_eq!(main.dispatch(), 0, "nothing came back");
    let s = server.stats();
    assert_eq!((s.requests, s.one_way, s.responses), (1, 1, 0));
}

#[test]
fn server_that_never_answers_times_out_and_the_late_response_is_discarded() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ECHO, &echo).unwrap();
    let client: RpcClient<1> = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let clock = TickingClock::default();
    {
        // The caller's response buffer lives in this frame only (C's example writes to it
        // after the frame is gone).
        let call = client.call(&main, ECHO, b"late").unwrap();
        assert_eq!(call.response_timeout(&main, &clock, Some(5)).unwrap_err(), RpcError::Timeout);
    }
    assert_eq!((client.in_flight(), client.stats().cancelled), (0, 1));
    // The server wakes up and answers; the slot is reused meanwhile by a new request.
    let mut next = client.call(&main, ECHO, b"next").unwrap();
    assert_eq!(server.try_serve(&sub), 2);
    let r = next.try_response(&main).unwrap();
    assert_eq!(r.bytes(), b"next");
    drop(r);
    let s = client.stats();
    assert_eq!((s.late, s.completed), (1, 1), "the late one is given back, not delivered");
    // Every buffer came back: 16 requests fit again.
    for _ in 0..16 {
        main.send(main.endpoint(CLIENT).unwrap(), 0x99, b"").unwrap();
    }
}

#[test]
fn hostile_responses_are_dropped_and_counted() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let server = sub.create_endpoint(SERVER, Receiver::Mailbox).unwrap();
    let stranger = sub.create_endpoint(0x666, Receiver::Mailbox).unwrap();
    let mut call = client.call(&main, ECHO, b"q").unwrap();
    let id = call.msg_id();
    let send = |from: Endpoint, bytes: &[u8]| sub.send(from, CLIENT, bytes).unwrap();
    send(server, &packet(id.wrapping_add(5), ECHO, 0, b"x")); // wrong msg_id
    send(server, &packet(id, ECHO + 1, 0, b"x")); // wrong cmd_id
    let mut long = packet(id, ECHO, 0, b"xy");
    long[6] = 40; // msg_len beyond the payload
    send(server, &long);
    send(server, &[1, 0, 0x11]); // truncated header
    send(server, &[]); // no header at all
    send(stranger, &packet(id, ECHO, 0, b"spoof")); // right id, wrong source
    assert!(call.try_response(&main).is_none());
    assert_eq!(
        client.stats(),
        ClientStats { sent: 1, late: 1, wrong_cmd: 1, malformed: 3, foreign: 1, ..Default::default() }
    );
    send(server, &packet(id, ECHO, 0, b"real"));
    assert_eq!(call.try_response(&main).unwrap().bytes(), b"real");
    // Every buffer the hostile messages used is back with the subcore (a poll that finds
    // the ring empty writes back any frees the `batch-free` feature held).
    assert!(!main.dispatch_one());
    assert_eq!(main.stats().queue_faults, 0);
    for _ in 0..16 {
        sub.send(server, 0x99, b"").unwrap();
    }
}

#[test]
fn hostile_requests_are_dropped_or_refused() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 8];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ECHO, &echo).unwrap();
    let raw = main.create_endpoint(CLIENT, Receiver::Mailbox).unwrap();
    let mut long = packet(5, ECHO, 0xFFFC, b"ab");
    long[6] = 200;
    main.send(raw, SERVER, &long).unwrap(); // msg_len beyond the payload: dropped
    main.send(raw, SERVER, &[5, 0, 0x11]).unwrap(); // truncated: dropped
    main.send(raw, SERVER, &packet(6, ECHO, 0xFFFC, b"nine byte")).unwrap(); // > request buffer
    main.send(raw, SERVER, &packet(7, ECHO, 0xFFFC, b"ok")).unwrap();
    assert_eq!(server.try_serve(&sub), 4);
    assert_eq!(
        server.stats(),
        ServerStats { requests: 4, responses: 2, malformed: 2, oversize: 1, ..Default::default() }
    );
    assert_eq!(main.try_recv(raw).unwrap().bytes(), &packet(6, ECHO, 0xFFFD, &[])[..]);
    assert_eq!(main.try_recv(raw).unwrap().bytes(), &packet(7, ECHO, 0, b"ok")[..]);
}

#[test]
fn handler_claiming_too_long_a_reply_is_answered_exec_failed() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    let liar = |_: &Request<'_>, resp: PeerBytesMut<'_>| {
        assert_eq!(resp.len(), 48, "the handler sees only what fits one message");
        Reply::ok(49)
    };
    server.add_service(SILENT, &liar).unwrap();
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let mut call = client.call(&main, SILENT, b"").unwrap();
    server.try_serve(&sub);
    let r = call.try_response(&main).unwrap();
    assert_eq!((r.status(), r.len()), (Status::EXEC_FAILED, 0));
    assert_eq!(server.stats().bad_reply_len, 1);
}

#[test]
fn requests_wait_while_no_response_buffer_is_free() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ECHO, &echo).unwrap();
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    // The subcore's TX queue is full of unread messages to some other endpoint.
    let other = main.create_endpoint(0x50, Receiver::Mailbox).unwrap();
    let filler = sub.create_endpoint(0x51, Receiver::Mailbox).unwrap();
    for _ in 0..16 {
        sub.send(filler, 0x50, b"fill").unwrap();
    }
    let mut a = client.call(&main, ECHO, b"a").unwrap();
    let mut b = client.call(&main, ECHO, b"b").unwrap();
    assert_eq!(server.try_serve(&sub), 0, "no buffer for a response, so no request is taken");
    assert_eq!(server.stats().reply_waited, 1);
    assert_eq!(server.stats().requests, 0);
    assert!(a.try_response(&main).is_none());
    // The maincore reads its mail: buffers come back, both requests are answered.
    for _ in 0..16 {
        main.try_recv(other).unwrap();
    }
    assert_eq!(server.try_serve(&sub), 2);
    assert_eq!(a.try_response(&main).unwrap().bytes(), b"a");
    assert_eq!(b.try_response(&main).unwrap().bytes(), b"b");
    assert_eq!(server.stats().responses, 2);
}

#[test]
fn service_table_add_delete() {
    let region = Region::zeroed();
    let (_main, sub) = pair(&region);
    let mut rq = [0u8; 4];
    let mut server: RpcServer<2> = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(1, &echo).unwrap();
    assert_eq!(server.add_service(1, &add).unwrap_err(), RpcError::Exist(1));
    server.add_service(2, &add).unwrap();
    assert_eq!(server.add_service(3, &add).unwrap_err(), RpcError::NoMem);
    server.del_service(1).unwrap();
    assert_eq!(server.del_service(1).unwrap_err(), RpcError::NotFound(1));
    server.add_service(3, &add).unwrap();
    // Endpoint taken: the same address cannot serve twice.
    let mut rq2 = [0u8; 4];
    assert!(matches!(RpcServer::<1>::new(&sub, SERVER, &mut rq2), Err(RpcError::Rpmsg(_))));
    assert_eq!(RpcServer::<1>::new(&sub, 9, &mut []).err(), Some(RpcError::InvalidArg));
    assert_eq!(server.close(&sub), 0);
    assert!(sub.endpoint(SERVER).is_none());
}

#[test]
fn server_runs_in_the_rpmsg_interrupt_handler() {
    use esp_amp::sw_intr::{SwIntrHandler, SwIntrId};
    use std::cell::RefCell;
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ADD, &add).unwrap();
    // Bare-metal shape: device and server behind one critical-section mutex, served from
    // the handler of the RPMsg software interrupt (a `Fn(SwIntrId) + Sync`).
    let shared = critical_section::Mutex::new(RefCell::new((sub, server)));
    let isr = |_: SwIntrId| {
        critical_section::with(|cs| {
            let (dev, server) = &mut *shared.borrow_ref_mut(cs);
            server.try_serve(dev);
        })
    };
    let handler: &dyn SwIntrHandler = &isr;
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let mut call = client.call(&main, ADD, &sum_req(40, 2)).unwrap();
    handler.on_sw_intr(SwIntrId::RPMSG); // what the interrupt does when the client notifies
    assert_eq!(call.try_response(&main).unwrap().bytes(), &42u16.to_le_bytes());
}

/// A waker that records that it was woken.
struct Flag(std::sync::atomic::AtomicBool);

impl std::task::Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn async_serve_and_async_response_are_woken_by_the_interrupt() {
    use esp_amp::signal::IrqSignal;
    use esp_amp::sw_intr::{SwIntrHandler, SwIntrId};
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};

    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ECHO, &echo).unwrap();
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let (main_irq, sub_irq): (IrqSignal, IrqSignal) = (IrqSignal::new(), IrqSignal::new());
    let (main_flag, sub_flag) = (Arc::new(Flag(false.into())), Arc::new(Flag(false.into())));
    let (main_waker, sub_waker) = (Waker::from(main_flag.clone()), Waker::from(sub_flag.clone()));

    let mut serve = pin!(server.serve(&sub, &sub_irq));
    assert!(serve.as_mut().poll(&mut Context::from_waker(&sub_waker)).is_pending());
    let call = client.call(&main, ECHO, b"async").unwrap();
    let mut response = pin!(call.response(&main, &main_irq));
    assert!(response.as_mut().poll(&mut Context::from_waker(&main_waker)).is_pending());

    sub_irq.on_sw_intr(SwIntrId::RPMSG); // the client's notify
    assert!(sub_flag.0.load(Ordering::SeqCst), "server task not woken");
    assert_eq!(serve.as_mut().poll(&mut Context::from_waker(&sub_waker)), Poll::Ready(1));
    main_irq.on_sw_intr(SwIntrId::RPMSG); // the server's notify
    assert!(main_flag.0.load(Ordering::SeqCst), "client task not woken");
    let polled = response.as_mut().poll(&mut Context::from_waker(&main_waker));
    match polled {
        Poll::Ready(Ok(r)) => assert_eq!(r.bytes(), b"async"),
        other => panic!("no response: {other:?}"),
    };
}

#[test]
fn async_serve_polls_again_while_requests_wait_for_a_response_buffer() {
    use esp_amp::signal::IrqSignal;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};

    // Two buffers each way: the server's two responses take all of its buffers.
    let region = Region::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let main: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(2, ITEM).unwrap()).unwrap();
    let sub: Rpmsg<'_, SubCore> = Rpmsg::attach(&sys.info()).unwrap();
    let mut rq = [0u8; 48];
    let mut server: RpcServer = RpcServer::new(&sub, SERVER, &mut rq).unwrap();
    server.add_service(ECHO, &echo).unwrap();
    let client: RpcClient = RpcClient::new(&main, CLIENT, SERVER).unwrap();
    let sub_irq: IrqSignal = IrqSignal::new();
    let flag = Arc::new(Flag(false.into()));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);

    let mut first = [client.call(&main, ECHO, b"a").unwrap(), client.call(&main, ECHO, b"b").unwrap()];
    assert_eq!(pin!(server.serve(&sub, &sub_irq)).poll(&mut cx), Poll::Ready(2));
    // Two more requests (the server gave their buffers back); both responses are still
    // unread, so the server has no buffer to answer them in.
    let mut second = [client.call(&main, ECHO, b"c").unwrap(), client.call(&main, ECHO, b"d").unwrap()];
    flag.0.store(false, Ordering::SeqCst);
    {
        let mut serve = pin!(server.serve(&sub, &sub_irq));
        assert!(serve.as_mut().poll(&mut cx).is_pending());
        // The client reads the first two responses (freeing their buffers) and sends
        // nothing more: no interrupt reaches the server. Its task must have asked to be
        // polled again by itself.
        for (call, want) in first.iter_mut().zip([b"a", b"b"]) {
            assert_eq!(call.try_response(&main).unwrap().bytes(), want);
        }
        assert!(
            flag.0.load(Ordering::SeqCst),
            "the server task would wait for an interrupt that never comes"
        );
        assert_eq!(serve.as_mut().poll(&mut cx), Poll::Ready(2));
    }
    for (call, want) in second.iter_mut().zip([b"c", b"d"]) {
        assert_eq!(call.try_response(&main).unwrap().bytes(), want);
    }
    assert_eq!(server.stats().reply_waited, 1);
    // With nothing waiting, an idle server sleeps until the interrupt.
    flag.0.store(false, Ordering::SeqCst);
    assert!(pin!(server.serve(&sub, &sub_irq)).poll(&mut cx).is_pending());
    assert!(!flag.0.load(Ordering::SeqCst), "an idle server must not spin");
}
