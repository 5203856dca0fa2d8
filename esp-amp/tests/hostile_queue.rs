//! A hostile peer rewrites descriptors and RPMsg headers in shared memory: every case is
//! an error or a counted drop, never a panic or an access outside the region (these tests
//! also run under miri).

mod common;

use common::*;
use esp_amp::queue::{Consumer, PeerFault, Producer, QueueError, QueueSpec};
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::shm::Shm;
use esp_amp::sys_info::{Pool, SysInfoAllocator, SysInfoId};
use esp_amp::{MainCore, SubCore};

const ID: SysInfoId = SysInfoId(0x0100);

/// Device address of descriptor `slot` of the queue whose configuration is at `conf`.
fn desc(shm: Shm<'_>, conf: u32, slot: u32) -> u32 {
    shm.read_u32(conf + 8).unwrap() + 8 * slot
}

/// A 4 × 16-byte queue (maincore consumer, subcore producer) handed to `f` with the
/// region and the address of its configuration.
fn with_queue(f: impl FnOnce(Shm<'_>, &Consumer<'_>, &Producer<'_>, u32)) {
    let region = Region::zeroed();
    let shm = region.shm();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    let rx: Consumer<'_> = Consumer::create(&mut sys, ID, QueueSpec::new(4, 16).unwrap()).unwrap();
    let tx: Producer<'_> = Producer::attach(&sys.info(), ID).unwrap();
    let conf = sys.info().get(ID, Pool::Hp).unwrap().addr();
    f(shm, &rx, &tx, conf);
}

#[test]
fn consumer_survives_garbage_descriptors() {
    with_queue(|shm, rx, tx, conf| {
        let buf0 = shm.read_u32(conf + 4).unwrap();

        for i in 0..4u8 {
            tx.send(&[i; 8]).unwrap();
        }
        shm.write_u32(desc(shm, conf, 0), 0x1000_0000).unwrap(); // outside the region
        shm.write_u32(desc(shm, conf, 1), buf0 + 4).unwrap(); // not on an item boundary
        shm.write_u16(desc(shm, conf, 2) + 4, 17).unwrap(); // longer than an item
        shm.write_u16(desc(shm, conf, 3) + 6, 0x7FFF).unwrap(); // undefined bits set, still "filled"

        let fault = |r: Result<_, QueueError>| match r {
            Err(QueueError::Peer(f)) => f,
            other => panic!("expected a peer fault, got {:?}", other.map(|_| ())),
        };
        assert_eq!(fault(rx.try_recv()), PeerFault::BadAddress { slot: 0, addr: 0x1000_0000 });
        assert_eq!(fault(rx.try_recv()), PeerFault::BadAddress { slot: 1, addr: buf0 + 4 });
        assert_eq!(fault(rx.try_recv()), PeerFault::BadLength { slot: 2, len: 17 });
        assert_eq!(rx.try_recv().unwrap().bytes(), &[3; 8]);
        assert_eq!(rx.try_recv().err(), Some(QueueError::Empty));
        assert_eq!(rx.faults(), 3);

        // The garbage went back to the producer, which refuses it and carries on with the
        // buffers that are real.
        let mut sent = 0;
        let mut producer_faults = 0;
        for round in 0..100u8 {
            match tx.send(&[round; 4]) {
                Ok(()) => sent += 1,
                Err(QueueError::Peer(_)) => producer_faults += 1,
                Err(e) => panic!("{e}"),
            }
            while let Ok(buf) = rx.try_recv() {
                assert_eq!(buf.bytes().get(0), buf.bytes().get(3));
            }
        }
        assert_eq!(producer_faults, 2, "two bad addresses came back");
        assert_eq!(sent, 98);
        assert_eq!(tx.faults(), 2);
    });
}

#[test]
fn producer_refuses_a_buffer_it_holds() {
    with_queue(|shm, rx, tx, conf| {
        let held = tx.alloc().unwrap();
        // A "double free": the consumer puts the held buffer into the next free slot too.
        shm.write_u32(desc(shm, conf, 1), held.device_addr()).unwrap();
        assert_eq!(
            tx.alloc().err(),
            Some(QueueError::Peer(PeerFault::Duplicate { slot: 1, addr: held.device_addr() }))
        );
        held.send(1).unwrap();
        assert_eq!(rx.try_recv().unwrap().len(), 1);
        assert_eq!(tx.faults(), 1);
    });
}

#[test]
fn rewritten_flags_are_not_trusted() {
    with_queue(|shm, rx, tx, conf| {
        tx.send(b"abc").unwrap();
        let buf = rx.try_recv().unwrap();
        // The producer scribbles on the flags of the slot the consumer holds.
        let flags = desc(shm, conf, 0) + 6;
        shm.write_u16(flags, 0x7F7F).unwrap();
        drop(buf);
        // The free writes the canonical "freed in lap 1" value, not a toggle of garbage,
        // and the ring carries on.
        assert_eq!(shm.read_u16(flags), Ok(0x8080));
        for i in 0..8u8 {
            tx.send(&[i]).unwrap();
            assert_eq!(rx.try_recv().unwrap().bytes(), &[i]);
        }
        assert_eq!((rx.faults(), tx.faults()), (0, 0));
    });
}

#[test]
fn rpmsg_drops_and_counts_bad_messages() {
    let region = Region::zeroed();
    let shm = region.shm();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    let main: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
    let sub: Rpmsg<'_, SubCore> = Rpmsg::attach(&sys.info()).unwrap();
    let block = sys.info().get(SysInfoId::VQUEUE, Pool::Hp).unwrap().addr();
    let ep = main.create_endpoint(1, Receiver::Mailbox).unwrap();
    let sub_ep = sub.create_endpoint(7, Receiver::Mailbox).unwrap();

    // Unknown destination.
    main.send(ep, 99, b"nobody").unwrap();
    // data_len larger than the buffer allows (max payload 24).
    main.send(ep, 7, b"too long").unwrap();
    let d1 = desc(shm, block, 1);
    let buf1 = shm.read_u32(d1).unwrap();
    shm.write_u16(buf1 + 4, 25).unwrap();
    // A descriptor length shorter than the header.
    main.send(ep, 7, b"short").unwrap();
    shm.write_u16(desc(shm, block, 2) + 4, 4).unwrap();
    // And a good one behind them.
    main.send(ep, 7, b"fine").unwrap();

    let msg = sub.try_recv(sub_ep).unwrap();
    assert_eq!(msg.bytes(), b"fine");
    drop(msg);
    let stats = sub.stats();
    assert_eq!((stats.dropped_unknown, stats.dropped_bad_len, stats.delivered), (1, 2, 1));
    // Every dropped buffer went back: the sender can fill the whole queue again.
    let all: Vec<_> = (0..4).map(|_| main.alloc().unwrap()).collect();
    assert_eq!(all.len(), 4);
}

#[test]
fn rpmsg_attach_rejects_overlapping_queues() {
    let region = Region::zeroed();
    let shm = region.shm();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    Rpmsg::<'_, MainCore>::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
    let block = sys.info().get(SysInfoId::VQUEUE, Pool::Hp).unwrap().addr();
    // Q1's buffers moved onto Q0's.
    let q0_bufs = shm.read_u32(block + 4).unwrap();
    shm.write_u32(block + 12 + 4, q0_bufs).unwrap();
    let err = Rpmsg::<'_, SubCore>::attach(&sys.info()).err().unwrap();
    assert_eq!(
        err.to_string(),
        "bad shared queue configuration: configuration, descriptors and buffers overlap"
    );
}

#[test]
fn rpmsg_attach_rejects_a_queue_overlapping_itself() {
    // The pair check covers the areas within each queue too: Q1's buffers moved onto its
    // own descriptors, then Q0's descriptors onto its own configuration.
    for (field, target) in [(12 + 4, 12 + 8), (8, 0)] {
        let region = Region::zeroed();
        let shm = region.shm();
        let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
        Rpmsg::<'_, MainCore>::create(&mut sys, QueueSpec::new(4, 32).unwrap()).unwrap();
        let block = sys.info().get(SysInfoId::VQUEUE, Pool::Hp).unwrap().addr();
        // `target` names a field holding an address, or 0 for the configuration itself.
        let to = if target == 0 { block } else { shm.read_u32(block + target).unwrap() };
        shm.write_u32(block + field, to).unwrap();
        let err = Rpmsg::<'_, SubCore>::attach(&sys.info()).err().unwrap();
        assert_eq!(
            err.to_string(),
            "bad shared queue configuration: configuration, descriptors and buffers overlap",
            "field {field}"
        );
    }
}
