//! Queue behaviour against a model (proptest), placements, and configuration checks.

mod common;

use std::collections::VecDeque;

use common::*;
use esp_amp::payload::PeerBytes;
use esp_amp::queue::{ConfFault, Consumer, Placement, Producer, QueueError, QueueSpec, RxBuf, TxBuf};
use esp_amp::shm::Shm;
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoId};
use proptest::prelude::*;

const ID: SysInfoId = SysInfoId(0x0100);

#[derive(Debug, Clone)]
enum Op {
    /// Allocate and keep the guard.
    Alloc,
    /// Fill the k-th held guard (mod count) and send it with `len`.
    Send(usize, usize),
    /// Drop the k-th held guard unsent.
    DropUnsent(usize),
    /// Receive and keep the buffer.
    Recv,
    /// Free the k-th received buffer (any order).
    Free(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Alloc),
        3 => (any::<usize>(), 0usize..=16).prop_map(|(k, l)| Op::Send(k, l)),
        1 => any::<usize>().prop_map(Op::DropUnsent),
        3 => Just(Op::Recv),
        3 => any::<usize>().prop_map(Op::Free),
    ]
}

/// The payload of message `seq`: its sequence number, then `len − 4` bytes derived from it.
fn fill(buf: &mut [u8], seq: u32, len: usize) {
    let bytes = seq.to_le_bytes();
    for (i, b) in buf[..len].iter_mut().enumerate() {
        *b = if i < 4 { bytes[i] } else { (seq as u8).wrapping_mul(31).wrapping_add(i as u8) };
    }
}

fn check(buf: PeerBytes<'_>, seq: u32, len: usize) {
    let mut expect = [0u8; 16];
    fill(&mut expect, seq, len);
    assert_eq!(buf, &expect[..len], "message {seq} corrupted");
}

fn run_model(len: u32, ops: &[Op]) {
    let region = Region::zeroed();
    let shm = region.shm();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    let rx: Consumer<'_, 8> = Consumer::create(&mut sys, ID, QueueSpec::new(len, 16).unwrap()).unwrap();
    let tx: Producer<'_, 8> = Producer::attach(&sys.info(), ID).unwrap();
    let n = rx.capacity();

    let mut held: Vec<TxBuf<'_, '_, 8>> = Vec::new();
    let mut received: Vec<(RxBuf<'_, '_, 8>, u32, usize)> = Vec::new();
    // Sent and not yet received: (seq, len), in order.
    let mut in_ring: VecDeque<(u32, usize)> = VecDeque::new();
    let mut next_seq = 0u32;
    let mut next_expected = 0u32;
    // Freed buffers whose slots the consumer has not written yet (feature `batch-free`:
    // written a quarter of the queue at a time, or when a receive finds the ring empty).
    let mut deferred = 0usize;
    let batch = if cfg!(feature = "batch-free") { (n / 4).clamp(1, 8) } else { 1 };

    for op in ops {
        match *op {
            Op::Alloc => {
                let busy = held.len() + in_ring.len() + received.len() + deferred;
                match tx.alloc() {
                    Ok(buf) => held.push(buf),
                    Err(e) => {
                        assert_eq!(e, QueueError::Full);
                        // Parked buffers (dropped unsent, or reserved after a send) are
                        // handed out first, so a failure means every buffer is in use.
                        assert_eq!(busy, n, "alloc failed with buffers left");
                    }
                }
            }
            Op::Send(k, len) if !held.is_empty() => {
                let mut buf = held.remove(k % held.len());
                let len = len.max(4);
                let mut local = [0u8; 16];
                fill(&mut local, next_seq, len);
                buf.bytes_mut().write(0, &local[..len]).unwrap();
                buf.send(len).unwrap();
                in_ring.push_back((next_seq, len));
                next_seq += 1;
            }
            Op::DropUnsent(k) if !held.is_empty() => {
                drop(held.remove(k % held.len()));
            }
            Op::Recv => match rx.try_recv() {
                Ok(buf) => {
                    let (seq, len) = in_ring.pop_front().expect("received a message nobody sent");
                    assert_eq!(seq, next_expected, "reordered");
                    next_expected += 1;
                    assert_eq!(buf.len(), len);
                    check(buf.bytes(), seq, len);
                    received.push((buf, seq, len));
                }
                Err(e) => {
                    assert_eq!(e, QueueError::Empty);
                    assert!(in_ring.is_empty(), "a sent message was not received");
                    deferred = 0;
                }
            },
            Op::Free(k) if !received.is_empty() => {
                let (buf, seq, len) = received.remove(k % received.len());
                check(buf.bytes(), seq, len); // nobody wrote into a buffer we hold
                drop(buf);
                deferred += 1;
                if deferred == batch {
                    deferred = 0;
                }
            }
            _ => {}
        }
        // Live guards, plus parked buffers: dropped unsent or reserved after a send.
        assert!(tx.outstanding() >= held.len());
        assert!(tx.outstanding() <= n - in_ring.len() - received.len() - deferred);
        assert_eq!(rx.outstanding(), received.len() + deferred);
    }
    // Drain: everything sent arrives, in order, exactly once.
    drop(received);
    while let Ok(buf) = rx.try_recv() {
        let (seq, len) = in_ring.pop_front().expect("duplicate");
        assert_eq!(seq, next_expected);
        next_expected += 1;
        check(buf.bytes(), seq, len);
    }
    assert!(in_ring.is_empty(), "lost {} messages", in_ring.len());
    assert_eq!(next_expected, next_seq);
    // And every buffer is usable again.
    drop(held);
    let all: Vec<_> = (0..n).map(|_| tx.alloc().unwrap()).collect();
    assert_eq!(tx.alloc().err(), Some(QueueError::Full));
    drop(all);
    assert_eq!((tx.faults(), rx.faults()), (0, 0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 1024 }))]

    #[test]
    fn queue_matches_model(len in prop_oneof![Just(1u32), Just(2), Just(4), Just(8)],
                           ops in proptest::collection::vec(op(), 0..if cfg!(miri) { 60 } else { 200 })) {
        run_model(len, &ops);
    }
}

#[test]
fn light_sleep_placement_puts_descriptors_in_rtc() {
    let hp = Region::zeroed();
    let mut rtc_mem = vec![0u32; 64];
    // SAFETY: `rtc_mem` is aligned, 256 bytes and outlives every handle made from it.
    let rtc = unsafe { Shm::from_raw(rtc_mem.as_mut_ptr().cast(), 0x5000_0000, 256) };
    let mut sys = SysInfoAllocator::init(pool(hp.shm()), Some(rtc)).unwrap();
    let spec = QueueSpec::new(4, 16).unwrap();
    assert_eq!(spec.block_sizes(Placement::DescriptorsInRtc), Ok((12 + 64, 32)));
    let tx: Producer<'_> = Producer::create(&mut sys, ID, spec, Placement::DescriptorsInRtc).unwrap();
    let info = sys.info();
    let hp_block = info.get(ID, Pool::Hp).unwrap();
    let rtc_block = info.get(ID, Pool::Rtc).unwrap();
    assert_eq!((hp_block.size(), rtc_block.size()), (76, 32));
    // conf.queue_desc points into the RTC block, conf.queue_buffer right after the conf.
    assert_eq!(hp_block.shm().read_u32(hp_block.addr() + 8), Ok(rtc_block.addr()));
    assert_eq!(hp_block.shm().read_u32(hp_block.addr() + 4), Ok(hp_block.addr() + 12));

    let rx: Consumer<'_> = Consumer::attach(&SysInfo::attach(pool(hp.shm()), Some(rtc)), ID).unwrap();
    for round in 0..10u8 {
        tx.send(&[round; 3]).unwrap();
        assert_eq!(rx.try_recv().unwrap().bytes(), &[round; 3]);
    }
    // The flags live in RTC RAM.
    assert_ne!(rtc_block.shm().read_u16(rtc_block.addr() + 6), Ok(0));
    drop(rtc_mem);
}

#[test]
fn rounding_and_size_limits() {
    assert_eq!(QueueSpec::new(1, 1).map(|s| (s.capacity(), s.item_size())), Ok((1, 4)));
    assert_eq!(QueueSpec::new(3, 10).map(|s| (s.capacity(), s.item_size())), Ok((4, 12)));
    assert!(QueueSpec::new(0, 16).is_err());
    assert!(QueueSpec::new(32769, 16).is_err());
    assert!(QueueSpec::new(4, 0).is_err());
    assert!(QueueSpec::new(4, 65533).is_err());
    // C truncates this block size to u16 and overflows the queue (docs/protocol.md §11 item 21).
    let big = QueueSpec::new(64, 1024).unwrap();
    assert_eq!(
        big.block_sizes(Placement::Normal),
        Err(QueueError::BlockTooLarge { bytes: 12 + 64 * 8 + 65536 })
    );

    let region = Region::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let too_long = Consumer::<'_, 4>::create(&mut sys, ID, QueueSpec::new(8, 16).unwrap());
    assert_eq!(too_long.err(), Some(QueueError::TooLong { len: 8, capacity: 4 }));
}

/// Builds a queue, then lets `corrupt` rewrite its configuration before a subcore attaches.
fn attach_after(corrupt: impl FnOnce(Shm<'_>, u32)) -> Result<(), QueueError> {
    let region = Region::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    Consumer::<'_, 32>::create(&mut sys, ID, QueueSpec::new(4, 16).unwrap()).unwrap();
    let block = sys.info().get(ID, Pool::Hp).unwrap();
    corrupt(block.shm(), block.addr());
    Producer::<'_, 32>::attach(&sys.info(), ID).map(|_| ())
}

#[test]
fn attach_rejects_bad_configurations() {
    let bad = |f| Err(QueueError::BadConf(f));
    assert_eq!(attach_after(|_, _| {}), Ok(()));
    assert_eq!(attach_after(|s, a| s.write_u16(a, 0).unwrap()), bad(ConfFault::BadLen(0)));
    assert_eq!(attach_after(|s, a| s.write_u16(a, 3).unwrap()), bad(ConfFault::BadLen(3)));
    assert_eq!(
        attach_after(|s, a| s.write_u16(a, 64).unwrap()),
        Err(QueueError::TooLong { len: 64, capacity: 32 })
    );
    assert_eq!(
        attach_after(|s, a| s.write_u16(a, 8).unwrap()),
        bad(ConfFault::BuffersOutside(BASE + 0x20 + 16 + 12 + 32))
    );
    assert_eq!(attach_after(|s, a| s.write_u16(a + 2, 6).unwrap()), bad(ConfFault::BadItemSize(6)));
    assert_eq!(attach_after(|s, a| s.write_u32(a + 8, 0x1000).unwrap()), bad(ConfFault::DescOutside(0x1000)));
    assert_eq!(
        attach_after(|s, a| s.write_u32(a + 4, u32::MAX - 8).unwrap()),
        bad(ConfFault::BuffersOutside(u32::MAX - 8))
    );
    // Descriptors on top of the buffers.
    assert_eq!(
        attach_after(|s, a| {
            let bufs = s.read_u32(a + 4).unwrap();
            s.write_u32(a + 8, bufs).unwrap()
        }),
        bad(ConfFault::Overlap)
    );
}
