//! Byte compatibility with the golden images produced by ESP-AMP C
//! (`compat/esp-amp-c` at the repository root, copied from the steering repository: see
//! `compat/PROVENANCE.md`, and the images' README and manifest.json).

mod common;

use common::*;
use esp_amp::event::{DefaultEvents, Events};
use esp_amp::queue::{Consumer, Producer, QueueError, QueueSpec};
use esp_amp::rpmsg::{Inbound, Receiver, Rpmsg};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoError, SysInfoId};
use esp_amp::{MainCore, SubCore};

fn sysinfo_entries() -> [(u16, Vec<u8>); 3] {
    [(0x0001, (0xA0..=0xB3).collect()), (0x0002, vec![1, 2, 3]), (0x0010, (0..64).collect())]
}

#[test]
fn produce_sysinfo_bin() {
    let region = Region::zeroed();
    let shm = region.shm();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    for (id, payload) in sysinfo_entries() {
        let block = sys.alloc(SysInfoId(id), payload.len(), Pool::Hp).unwrap();
        block.shm().write_bytes(block.addr(), &payload).unwrap();
    }
    assert_eq!(sys.alloc(SysInfoId(2), 8, Pool::Hp).unwrap_err(), SysInfoError::DuplicateId(SysInfoId(2)));
    assert_same(&region.bytes(), &golden("sysinfo.bin"));
}

#[test]
fn consume_sysinfo_bin() {
    let region = Region::from_bytes(&golden("sysinfo.bin"));
    let shm = region.shm();
    let info = SysInfo::attach(pool(shm), None);
    let found: Vec<_> = info.entries(Pool::Hp).unwrap().map(|e| e.unwrap()).collect();
    let expected = sysinfo_entries();
    assert_eq!(found.len(), expected.len());
    for (block, (id, payload)) in found.iter().zip(&expected) {
        assert_eq!(block.id(), SysInfoId(*id));
        assert_eq!(block.size() as usize, payload.len());
        let mut got = vec![0; payload.len()];
        block.shm().read_bytes(block.addr(), &mut got).unwrap();
        assert_eq!(&got, payload);
        assert_eq!(info.get(SysInfoId(*id), Pool::Hp).unwrap().addr(), block.addr());
    }
}

#[test]
fn produce_event_swintr_bin() {
    let region = Region::zeroed();
    let shm = region.shm();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    let header = shm.slice(BASE, 0x20).unwrap();
    let main_sw: SwIntr<'_, MainCore, _> = SwIntr::init(header, Polling).unwrap();
    let events = DefaultEvents::create(&mut sys).unwrap();
    let sub_sw: SwIntr<'_, SubCore, _> = SwIntr::attach(header, Polling).unwrap();
    let main_ev: Events<'_, _> = Events::new(&main_sw, NoClock);
    let sub_ev: Events<'_, _> = Events::new(&sub_sw, NoClock);
    assert_eq!(main_ev.notify(&events.sub, 0x5), 0);
    assert_eq!(sub_ev.notify(&events.main, 0x8000_0001), 0);
    main_sw.trigger(SwIntrId::new(3).unwrap());
    sub_sw.trigger(SwIntrId::new(7).unwrap());
    assert_same(&region.bytes(), &golden("event_swintr.bin"));
}

#[test]
fn consume_event_swintr_bin() {
    let region = Region::from_bytes(&golden("event_swintr.bin"));
    let shm = region.shm();
    let info = SysInfo::attach(pool(shm), None);
    let entries: Vec<_> = info.entries(Pool::Hp).unwrap().map(|e| e.unwrap()).collect();
    let ids: Vec<_> = entries.iter().map(|b| (b.id(), b.size())).collect();
    assert_eq!(ids, [(SysInfoId::EVENT_MAIN, 4), (SysInfoId::EVENT_SUB, 4)]);
    let events = DefaultEvents::attach(&info).unwrap();
    assert_eq!(events.incoming::<SubCore>().bits(), 0x8000_0001);
    assert_eq!(events.incoming::<MainCore>().bits(), 0x5);

    let header = shm.slice(BASE, 0x20).unwrap();
    let sub_sw: SwIntr<'_, SubCore, _> = SwIntr::attach(header, Polling).unwrap();
    let main_sw: SwIntr<'_, MainCore, _> = SwIntr::attach(header, Polling).unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |id: SwIntrId| seen.lock().unwrap().push(id.get());
    for n in [3, 7, 30] {
        sub_sw.add_handler(SwIntrId::new(n).unwrap(), &record).unwrap();
    }
    assert_eq!(sub_sw.isr(), (1 << 30) | (1 << 3));
    assert_eq!(*seen.lock().unwrap(), [3, 30]);
    assert_eq!(main_sw.pending(), (1 << 30) | (1 << 7));
}

// ---- queue (docs/protocol.md §5) ----------------------------------------------------------------

const QUEUE_ID: SysInfoId = SysInfoId(0x0100);

/// Item `i` of the queue scenario: its length and its 16 bytes.
fn queue_item(i: usize) -> (usize, [u8; 16]) {
    let mut bytes = [0x11 * (i % 15 + 1) as u8; 16];
    bytes[0] = i as u8;
    (5 + i % 8, bytes)
}

fn send_item(tx: &Producer<'_>, i: usize) -> Result<(), QueueError> {
    let (len, bytes) = queue_item(i);
    let mut buf = tx.alloc()?;
    buf.bytes_mut().write(0, &bytes).unwrap();
    buf.send(len)
}

#[test]
fn produce_queue_images() {
    let region = Region::zeroed();
    let shm = region.shm();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    let rx: Consumer<'_> = Consumer::create(&mut sys, QUEUE_ID, QueueSpec::new(8, 16).unwrap()).unwrap();
    assert_same(&region.bytes(), &golden("queue_init.bin"));

    let tx: Producer<'_> = Producer::attach(&sys.info(), QUEUE_ID).unwrap();
    for i in 0..3 {
        send_item(&tx, i).unwrap();
    }
    assert_same(&region.bytes(), &golden("queue_sent3.bin"));

    for _ in 0..2 {
        drop(rx.try_recv().unwrap());
    }
    assert_same(&region.bytes(), &golden("queue_recv2.bin"));

    let mut i = 3;
    while send_item(&tx, i).is_ok() {
        i += 1;
    }
    assert_eq!(i, 10, "the ring takes 7 more items before it is full");
    assert_same(&region.bytes(), &golden("queue_wrapped.bin"));
    assert_eq!((tx.faults(), rx.faults()), (0, 0));
}

#[test]
fn consume_queue_sent3_bin() {
    let region = Region::from_bytes(&golden("queue_sent3.bin"));
    let shm = region.shm();
    let info = SysInfo::attach(pool(shm), None);
    let rx: Consumer<'_> = Consumer::attach(&info, QUEUE_ID).unwrap();
    assert_eq!((rx.capacity(), rx.item_size()), (8, 16));
    for i in 0..3 {
        let (len, bytes) = queue_item(i);
        let buf = rx.try_recv().unwrap();
        assert_eq!(buf.bytes(), &bytes[..len]);
    }
    assert_eq!(rx.try_recv().err(), Some(QueueError::Empty));
    assert_eq!(rx.faults(), 0);
}

// ---- RPMsg (docs/protocol.md §6) ----------------------------------------------------------------

#[test]
fn produce_rpmsg_images() {
    let region = Region::zeroed();
    let shm = region.shm();
    let header = shm.slice(BASE, 0x20).unwrap();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    let main_sw: SwIntr<'_, MainCore, _> = SwIntr::init(header, Polling).unwrap();
    DefaultEvents::create(&mut sys).unwrap();
    let mut main: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
    main.notify_with(&main_sw);
    assert_same(&region.bytes(), &golden("rpmsg_init.bin"));

    let ep2 = main.create_endpoint(2, Receiver::Mailbox).unwrap();
    main.send(ep2, 1, b"hello").unwrap();
    let mut msg = main.alloc().unwrap();
    msg.bytes_mut().write(0, b"0123456789").unwrap();
    msg.send(ep2, 3, 10).unwrap();
    assert_same(&region.bytes(), &golden("rpmsg_main_sent.bin"));

    let sub_sw: SwIntr<'_, SubCore, _> = SwIntr::attach(header, Polling).unwrap();
    let mut sub: Rpmsg<'_, SubCore> = Rpmsg::attach(&SysInfo::attach(pool(shm), None)).unwrap();
    sub.notify_with(&sub_sw);
    let seen = std::sync::Mutex::new(Vec::new());
    let on_ep1 =
        |m: Inbound<'_>| seen.lock().unwrap().push((m.src, m.dst, m.data.iter().collect::<Vec<u8>>()));
    let ep1 = sub.create_endpoint(1, Receiver::Callback(&on_ep1)).unwrap();
    let ep3 = sub.create_endpoint(3, Receiver::Mailbox).unwrap();
    let kept = sub.try_recv(ep3).unwrap();
    assert_eq!(kept.src(), 2);
    assert_eq!(kept.bytes(), b"0123456789");
    assert_eq!(*seen.lock().unwrap(), [(2, 1, b"hello".to_vec())]);
    assert_same(&region.bytes(), &golden("rpmsg_sub_recv.bin"));

    sub.send(ep1, 2, b"pong!").unwrap();
    assert_same(&region.bytes(), &golden("rpmsg_sub_sent.bin"));

    let pong = main.try_recv(ep2).unwrap();
    assert_eq!(pong.src(), 1);
    assert_eq!(pong.bytes(), b"pong!");
    drop(pong);
    assert_same(&region.bytes(), &golden("rpmsg_main_recv.bin"));
    drop(kept);
    assert_eq!(main.stats().queue_faults + sub.stats().queue_faults, 0);
}

#[test]
fn rust_subcore_consumes_rpmsg_main_sent_bin() {
    let region = Region::from_bytes(&golden("rpmsg_main_sent.bin"));
    let shm = region.shm();
    let sub: Rpmsg<'_, SubCore> = Rpmsg::attach(&SysInfo::attach(pool(shm), None)).unwrap();
    assert_eq!(sub.max_payload(), 24);
    let ep1 = sub.create_endpoint(1, Receiver::Mailbox).unwrap();
    let ep3 = sub.create_endpoint(3, Receiver::Mailbox).unwrap();
    let hello = sub.try_recv(ep1).unwrap();
    assert_eq!((hello.src(), hello.dst()), (2, 1));
    assert_eq!(hello.bytes(), b"hello");
    let digits = sub.try_recv(ep3).unwrap();
    assert_eq!((digits.src(), digits.len()), (2, 10));
    assert_eq!(digits.bytes(), b"0123456789");
    assert!(sub.try_recv(ep1).is_none());
    let stats = sub.stats();
    assert_eq!((stats.delivered, stats.dropped_unknown, stats.queue_faults), (2, 0, 0));
}

#[test]
fn rust_maincore_consumes_rpmsg_sub_sent_bin() {
    let region = Region::from_bytes(&golden("rpmsg_sub_sent.bin"));
    let shm = region.shm();
    let main: Rpmsg<'_, MainCore> = Rpmsg::attach(&SysInfo::attach(pool(shm), None)).unwrap();
    let ep2 = main.create_endpoint(2, Receiver::Mailbox).unwrap();
    let pong = main.try_recv(ep2).unwrap();
    assert_eq!(pong.src(), 1);
    assert_eq!(pong.bytes(), b"pong!");
    drop(pong);
    assert!(main.try_recv(ep2).is_none());
}
