//! The read-only views against the C golden images (what `espamp shm dump` shows), against
//! live traffic, and against corrupted descriptors and headers.

mod common;

use common::*;
use esp_amp::inspect::{Direction, MessageFault, QueueView, RpmsgView, SlotFault, SlotState};
use esp_amp::queue::{Consumer, Placement, Producer, QueueSpec};
use esp_amp::shm::Shm;
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoId};

fn messages(view: &RpmsgView<'_>, d: Direction) -> Vec<(u16, u16, Vec<u8>)> {
    view.messages(d)
        .map(|m| {
            assert_eq!(m.fault, None);
            let mut buf = vec![0u8; usize::from(m.data_len)];
            assert_eq!(view.read_payload(d, &m, &mut buf), buf.len());
            (m.src, m.dst, buf)
        })
        .collect()
}

fn rpmsg_view(shm: Shm<'_>) -> RpmsgView<'_> {
    RpmsgView::attach(&SysInfo::attach(pool(shm), None), SysInfoId::VQUEUE).unwrap()
}

#[test]
fn golden_rpmsg_chain_shows_the_messages_in_flight() {
    let hello = (2, 1, b"hello".to_vec());
    let digits = (2, 3, b"0123456789".to_vec());
    let pong = (1, 2, b"pong!".to_vec());
    let cases: [(&str, Vec<_>, Vec<_>); 5] = [
        ("rpmsg_init.bin", vec![], vec![]),
        ("rpmsg_main_sent.bin", vec![hello.clone(), digits.clone()], vec![]),
        // 'hello' was freed; the 10-byte message is kept by the subcore, so still in flight.
        ("rpmsg_sub_recv.bin", vec![digits.clone()], vec![]),
        ("rpmsg_sub_sent.bin", vec![digits.clone()], vec![pong.clone()]),
        ("rpmsg_main_recv.bin", vec![digits.clone()], vec![]),
    ];
    for (name, to_sub, to_main) in cases {
        let region = Region::from_bytes(&golden(name));
        let view = rpmsg_view(region.shm());
        for d in [Direction::MainToSub, Direction::SubToMain] {
            let q = view.queue(d);
            assert_eq!((q.capacity(), q.item_size()), (4, 32), "{name}");
            assert!(q.slots().all(|s| s.fault.is_none()), "{name}");
            assert_eq!(view.max_payload(d), 24);
        }
        assert_eq!(messages(&view, Direction::MainToSub), to_sub, "{name}");
        assert_eq!(messages(&view, Direction::SubToMain), to_main, "{name}");
        assert_eq!(view.queue(Direction::MainToSub).filled(), to_sub.len(), "{name}");
    }
}

#[test]
fn golden_queue_chain_counts_filled_slots_in_send_order() {
    // (image, filled count, first byte of each in-flight item, oldest first)
    let cases: [(&str, usize, Vec<u8>); 4] = [
        ("queue_init.bin", 0, vec![]),
        ("queue_sent3.bin", 3, vec![0, 1, 2]),
        ("queue_recv2.bin", 1, vec![2]),
        // Items 3..=9 refill the ring after the two frees: the ring is full, and the oldest
        // (item 2, slot 2) is found where the producer's lap changes.
        ("queue_wrapped.bin", 8, (2..10).collect()),
    ];
    for (name, filled, firsts) in cases {
        let region = Region::from_bytes(&golden(name));
        let info = SysInfo::attach(pool(region.shm()), None);
        let block = info.get(SysInfoId(0x0100), Pool::Hp).unwrap();
        let q = QueueView::attach(block.shm(), block.addr(), None).unwrap();
        assert_eq!((q.capacity(), q.item_size()), (8, 16));
        assert_eq!(q.filled(), filled, "{name}");
        assert_eq!(q.free(), 8 - filled, "{name}");
        let got: Vec<u8> = q
            .in_flight()
            .map(|s| {
                assert_eq!(s.fault, None, "{name}");
                let i = s.len as u32 - 5;
                assert!(i < 8, "{name}: length {}", s.len);
                let mut b = [0u8; 1];
                q.read_buffer(s.addr, &mut b).unwrap();
                b[0]
            })
            .collect();
        assert_eq!(got, firsts, "{name}");
    }
}

#[test]
fn live_queue_view_follows_sends_and_frees() {
    let region = Region::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let id = SysInfoId(0x0200);
    let tx = Producer::<8>::create(&mut sys, id, QueueSpec::new(8, 16).unwrap(), Placement::Normal).unwrap();
    let rx = Consumer::<8>::attach(&sys.info(), id).unwrap();
    let block = sys.info().get(id, Pool::Hp).unwrap();
    let view = QueueView::attach(block.shm(), block.addr(), None).unwrap();
    // Several laps, so both flag polarities are seen.
    for lap in 0..3u8 {
        for i in 0..6u8 {
            tx.send(&[lap, i]).unwrap();
        }
        assert_eq!(view.filled(), 6);
        for _ in 0..4 {
            drop(rx.try_recv().unwrap());
        }
        let held = rx.try_recv().unwrap();
        // One received and still held, one waiting.
        assert_eq!(view.filled(), 2);
        let order: Vec<u8> = view
            .in_flight()
            .map(|s| {
                let mut b = [0u8; 2];
                view.read_buffer(s.addr, &mut b).unwrap();
                b[1]
            })
            .collect();
        assert_eq!(order, [4, 5], "lap {lap}");
        drop(held);
        drop(rx.try_recv().unwrap());
        assert_eq!(view.filled(), 0);
        assert!(view.slots().all(|s| s.state == SlotState::Free && s.fault.is_none()));
    }
}

#[test]
fn corrupted_descriptors_and_headers_are_reported() {
    let region = Region::from_bytes(&golden("rpmsg_main_sent.bin"));
    let shm = region.shm();
    let view = rpmsg_view(shm);
    let q0 = *view.queue(Direction::MainToSub);
    let desc = |i: u32| q0.desc_addr() + 8 * i;
    // Slot 0: data_len beyond the 24-byte payload.
    let first = q0.slot(0).unwrap();
    shm.write_u16(first.addr + 4, 25).unwrap();
    // Slot 1: an address in the middle of a buffer.
    shm.write_u32(desc(1), q0.buf_addr() + 4).unwrap();
    // Slot 2 (free): garbage flags.
    shm.write_u16(desc(2) + 6, 0x0101).unwrap();
    // Slot 3 (free): an address outside the block.
    shm.write_u32(desc(3), 0x1000_0000).unwrap();

    let view = rpmsg_view(shm);
    let faults: Vec<_> = view.messages(Direction::MainToSub).map(|m| m.fault).collect();
    assert_eq!(
        faults,
        [
            Some(MessageFault::DataLenTooLarge(25)),
            Some(MessageFault::Slot(SlotFault::BadAddress(q0.buf_addr() + 4)))
        ]
    );
    let q0 = view.queue(Direction::MainToSub);
    assert_eq!(q0.slot(2).unwrap().fault, Some(SlotFault::BadFlags(0x0101)));
    assert_eq!(q0.slot(3).unwrap().fault, Some(SlotFault::BadAddress(0x1000_0000)));
    let mut out = [0u8; 8];
    assert_eq!(q0.read_buffer(0x1000_0000, &mut out), None);
    for m in view.messages(Direction::MainToSub) {
        assert_eq!(view.read_payload(Direction::MainToSub, &m, &mut out), 0);
    }

    // A length beyond the item size on a filled plain-queue slot.
    shm.write_u32(desc(1), q0.buf_addr() + 32).unwrap();
    shm.write_u16(desc(1) + 4, 33).unwrap();
    let q0 = *rpmsg_view(shm).queue(Direction::MainToSub);
    assert_eq!(q0.slot(1).unwrap().fault, Some(SlotFault::BadLength(33)));
}

#[test]
fn a_bad_configuration_is_refused_not_shown() {
    let region = Region::from_bytes(&golden("rpmsg_init.bin"));
    let shm = region.shm();
    let block = SysInfo::attach(pool(shm), None).get(SysInfoId::VQUEUE, Pool::Hp).unwrap();
    // Queue 1's descriptors pointed at queue 0's: overlap.
    let d0 = shm.read_u32(block.addr() + 8).unwrap();
    shm.write_u32(block.addr() + 12 + 8, d0).unwrap();
    assert!(RpmsgView::attach_block(block.shm(), None).is_err());
    // A length that is not a power of two.
    shm.write_u16(block.addr(), 3).unwrap();
    assert!(QueueView::attach(block.shm(), block.addr(), None).is_err());
}
