//! RPMsg endpoints, routing, mailboxes, timeouts and async receive.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use common::*;
use esp_amp::queue::{QueueError, QueueSpec};
use esp_amp::rpmsg::{Inbound, Receiver, Rpmsg, RpmsgError};
use esp_amp::signal::IrqSignal;
use esp_amp::sw_intr::{SwIntrHandler, SwIntrId};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::{MainCore, SubCore};

fn pair(region: &Region) -> (Rpmsg<'_, MainCore>, Rpmsg<'_, SubCore>) {
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let main = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
    let sub = Rpmsg::attach(&sys.info()).unwrap();
    (main, sub)
}

#[test]
fn messages_are_routed_per_endpoint_in_order() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let from = main.create_endpoint(9, Receiver::Mailbox).unwrap();
    let a = sub.create_endpoint(1, Receiver::Mailbox).unwrap();
    let b = sub.create_endpoint(2, Receiver::Mailbox).unwrap();
    let seen = Mutex::new(Vec::new());
    let cb = |m: Inbound<'_>| seen.lock().unwrap().push(m.data.iter().collect::<Vec<u8>>());
    sub.create_endpoint(3, Receiver::Callback(&cb)).unwrap();
    for (dst, text) in [(1, "a1"), (2, "b1"), (3, "c1"), (1, "a2")] {
        main.send(from, dst, text.as_bytes()).unwrap();
    }
    // b's message is behind a's in the ring: polling for it routes a1 to a's mailbox, and
    // taking b1 then removes from behind it. Polling stops there.
    assert_eq!(sub.try_recv(b).unwrap().bytes(), b"b1");
    assert!(seen.lock().unwrap().is_empty());
    let a1 = sub.try_recv(a).unwrap();
    let a2 = sub.try_recv(a).unwrap(); // polls c1 (callback) on the way
    assert_eq!(*seen.lock().unwrap(), [b"c1".to_vec()]);
    assert!(a1.bytes() == b"a1" && a2.bytes() == b"a2");
    assert_eq!((a1.src(), a1.dst()), (9, 1));
    assert!(sub.try_recv(a).is_none() && sub.try_recv(b).is_none());
    drop((a1, a2));
    // More than the queue length in total, so buffers must have come back.
    for i in 0..10u8 {
        main.send(from, 2, &[i]).unwrap();
        assert_eq!(sub.try_recv(b).unwrap().bytes(), &[i]);
    }
}

#[test]
fn endpoint_table_operations() {
    let region = Region::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let main: Rpmsg<'_, MainCore, 32, 2> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
    let sub: Rpmsg<'_, SubCore> = Rpmsg::attach(&sys.info()).unwrap();
    let e1 = main.create_endpoint(1, Receiver::Mailbox).unwrap();
    assert_eq!(main.create_endpoint(1, Receiver::Mailbox).err(), Some(RpmsgError::AddressInUse(1)));
    main.create_endpoint(0xFFFF, Receiver::Mailbox).unwrap();
    assert_eq!(main.create_endpoint(2, Receiver::Mailbox).err(), Some(RpmsgError::TableFull));
    assert_eq!(main.endpoint(1), Some(e1));
    assert_eq!(main.endpoint(2), None);

    // Deleting an endpoint gives its waiting messages back.
    let s = sub.create_endpoint(5, Receiver::Mailbox).unwrap();
    for _ in 0..3 {
        sub.send(s, 1, b"x").unwrap();
    }
    main.dispatch();
    assert_eq!(main.delete_endpoint(e1), Ok(3));
    assert_eq!(main.stats().dropped_deleted, 3);
    assert_eq!(main.delete_endpoint(e1), Err(RpmsgError::NoEndpoint(1)));
    let all: Vec<_> = (0..4).map(|_| sub.alloc().unwrap()).collect();
    drop(all);

    // Rebind a mailbox to a callback.
    let e1 = main.create_endpoint(1, Receiver::Mailbox).unwrap();
    let hits = std::sync::atomic::AtomicU32::new(0);
    let count = |_: Inbound<'_>| {
        hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    };
    main.rebind(e1, Receiver::Callback(&count)).unwrap();
    sub.send(s, 1, b"y").unwrap();
    assert!(main.dispatch_one());
    assert!(main.try_recv(e1).is_none());
    assert_eq!(main.stats().delivered, 4);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn sizes_guards_and_timeouts() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let e = main.create_endpoint(1, Receiver::Mailbox).unwrap();
    let s = sub.create_endpoint(2, Receiver::Mailbox).unwrap();
    assert_eq!(main.max_payload(), 24);
    assert_eq!(main.send(e, 2, &[0; 25]), Err(RpmsgError::Queue(QueueError::TooLarge { len: 25, max: 24 })));
    main.send(e, 2, &[]).unwrap();
    assert_eq!(sub.try_recv(s).unwrap().len(), 0);

    // A message dropped unsent keeps its buffer; one too long keeps it too.
    drop(main.alloc().unwrap());
    let m = main.alloc().unwrap();
    assert_eq!(m.send(e, 2, 25), Err(RpmsgError::Queue(QueueError::TooLarge { len: 25, max: 24 })));
    for i in 0..4u8 {
        main.send(e, 2, &[i]).unwrap();
    }
    let clock = TickingClock::default();
    assert_eq!(main.send_timeout(e, 2, b"z", &clock, Some(5)), Err(RpmsgError::Queue(QueueError::Timeout)));
    assert_eq!(main.alloc().err(), Some(RpmsgError::Queue(QueueError::Full)));
    for i in 0..4u8 {
        assert_eq!(sub.recv_timeout(s, &clock, Some(5)).unwrap().bytes(), &[i]);
    }
    assert_eq!(sub.recv_timeout(s, &clock, Some(5)).err(), Some(RpmsgError::Queue(QueueError::Timeout)));
    main.send_timeout(e, 2, b"z", &clock, Some(5)).unwrap();
}

#[test]
fn async_receive_is_woken_by_the_interrupt() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let e = main.create_endpoint(1, Receiver::Mailbox).unwrap();
    let s = sub.create_endpoint(2, Receiver::Mailbox).unwrap();
    let signal: IrqSignal = IrqSignal::new();

    struct Flag(std::sync::atomic::AtomicBool);
    impl std::task::Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let flag = std::sync::Arc::new(Flag(false.into()));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(sub.recv(s, &signal));
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    main.send(e, 2, b"async").unwrap();
    signal.on_sw_intr(SwIntrId::RPMSG); // what the software-interrupt handler does
    assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst), "not woken");
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(m) => assert!(m.bytes() == b"async" && m.src() == 1),
        Poll::Pending => panic!("message not received"),
    };
}

#[test]
fn interrupt_mode_dispatch_from_the_handler() {
    let region = Region::zeroed();
    let (main, sub) = pair(&region);
    let seen = Mutex::new(Vec::new());
    let cb = |m: Inbound<'_>| seen.lock().unwrap().push((m.src, m.data.iter().collect::<Vec<u8>>()));
    sub.create_endpoint(2, Receiver::Callback(&cb)).unwrap();
    let sub = critical_section::Mutex::new(sub);
    let e = main.create_endpoint(1, Receiver::Mailbox).unwrap();
    for i in 0..3u8 {
        main.send(e, 2, &[i]).unwrap();
    }
    let handler: &dyn SwIntrHandler = &sub;
    handler.on_sw_intr(SwIntrId::RPMSG);
    assert_eq!(*seen.lock().unwrap(), [(1, vec![0]), (1, vec![1]), (1, vec![2])]);
}

#[test]
fn rpmsg_block_size_limits() {
    let region = Region::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    // C computes 2·(12 + 8·32 + 1024·32) = 66072 and truncates it to u16 (docs/protocol.md §11 item 21).
    let big = Rpmsg::<'_, MainCore>::create(&mut sys, QueueSpec::new(32, 1024).unwrap());
    assert_eq!(big.err(), Some(RpmsgError::Queue(QueueError::BlockTooLarge { bytes: 66072 })));
    let tiny = Rpmsg::<'_, MainCore>::create(&mut sys, QueueSpec::new(4, 8).unwrap());
    assert_eq!(tiny.err(), Some(RpmsgError::ItemTooSmall(8)));
}
