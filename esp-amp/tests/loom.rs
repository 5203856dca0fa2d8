//! loom models of the software-interrupt, event and queue protocols.
//!
//! Run with: `RUSTFLAGS="--cfg loom" cargo test -p esp-amp --test loom --release` (add
//! `--features batch-free` for the batched-free model)
//! (the README's test command does this). The protocol steps under test are the very
//! functions the crate uses (`sw_intr::post`/`drain`, `event::try_wait_word`, `queue::ring::Ring`).
#![cfg(loom)]

use std::sync::atomic::Ordering;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

use esp_amp::event::{try_wait_word, WaitFor};
use esp_amp::queue::ring::{DescTable, Geometry, Ring, RingError};
use esp_amp::sw_intr::{drain, post, SwIntrId};
use loom::sync::atomic::{fence, AtomicU16, AtomicU32};
use loom::sync::Arc;
use loom::thread;

/// Shared state of one direction: the status word, the hardware line, and (for the
/// checks) the data a trigger publishes and the bits the handler saw.
struct Link {
    word: AtomicU32,
    line: AtomicU32,
    data: AtomicU32,
    handled: AtomicU32,
}

impl Link {
    /// `SwIntr::trigger`: publish data, post the bit, fence, raise the line.
    fn trigger(&self, id: u8, payload: u32) {
        self.data.store(payload, Relaxed);
        post(&self.word, SwIntrId::new(id).unwrap());
        fence(SeqCst);
        self.line.store(1, Relaxed);
    }

    /// `SwIntr::isr`: clear the line, fence, drain.
    fn isr(&self) {
        self.line.store(0, Relaxed);
        fence(SeqCst);
        drain(&self.word, |pending| {
            // The publisher's data must be visible once its bit is seen.
            if pending & (1 << 4) != 0 {
                assert_eq!(self.data.load(Relaxed), 0xA5);
            }
            let before = self.handled.fetch_or(pending, Relaxed);
            assert_eq!(before & pending, 0, "bit delivered twice");
        });
    }
}

/// Two triggers race with one interrupt-handler run; afterwards, if the line is still
/// raised the handler runs again (as the hardware would). Every bit must have been
/// handled exactly once and nothing may stay pending with the line low.
#[test]
fn sw_intr_trigger_vs_dispatch_loses_nothing() {
    loom::model(|| {
        let link = Arc::new(Link {
            word: AtomicU32::new(0),
            line: AtomicU32::new(0),
            data: AtomicU32::new(0),
            handled: AtomicU32::new(0),
        });
        let t = {
            let link = link.clone();
            thread::spawn(move || {
                link.trigger(4, 0xA5);
                link.trigger(9, 0xA5);
            })
        };
        // The handler runs once, at whatever point the line happens to be seen raised.
        if link.line.load(Relaxed) == 1 {
            link.isr();
        }
        t.join().unwrap();
        if link.line.load(Relaxed) == 1 {
            link.isr();
        }
        assert_eq!(link.handled.load(Relaxed), (1 << 4) | (1 << 9), "lost interrupt");
        assert_eq!(link.word.load(Relaxed), 0);
    });
}

/// Notifier sets bits 0 and 1 in two steps while a waiter makes one attempt; a final
/// attempt after both finish. Each bit is consumed exactly once.
fn event_model(wait_for: WaitFor, mask: u32) {
    loom::model(move || {
        let word = Arc::new(AtomicU32::new(0));
        let consumed = Arc::new(AtomicU32::new(0));
        fn consume(word: &AtomicU32, consumed: &AtomicU32, wait_for: WaitFor, mask: u32) {
            if let Ok(before) = try_wait_word(word, mask, wait_for, true) {
                let got = before & mask;
                assert_ne!(got, 0);
                if wait_for == WaitFor::All {
                    assert_eq!(got, mask, "wait-all returned early");
                }
                let prev = consumed.fetch_or(got, Relaxed);
                assert_eq!(prev & got, 0, "event consumed twice");
            }
        }
        let waiter = {
            let (word, consumed) = (word.clone(), consumed.clone());
            thread::spawn(move || consume(&word, &consumed, wait_for, mask))
        };
        word.fetch_or(0b01, Ordering::Release);
        word.fetch_or(0b10, Ordering::Release);
        waiter.join().unwrap();
        consume(&word, &consumed, wait_for, mask);
        if wait_for == WaitFor::Any {
            consume(&word, &consumed, wait_for, mask);
        }
        assert_eq!(consumed.load(Relaxed), mask, "event lost");
        assert_eq!(word.load(Relaxed), 0);
    });
}

#[test]
fn event_notify_vs_wait_all_clear() {
    event_model(WaitFor::All, 0b11);
}

#[test]
fn event_notify_vs_wait_any_clear() {
    event_model(WaitFor::Any, 0b11);
}

/// An `N`-slot descriptor table in loom atomics, initialised like `queue_main_init`, with
/// one payload word per buffer that the producer writes with `Relaxed`: only the ring's
/// own Release/Acquire on the flags can make it visible to the consumer.
struct LoomQueue<const N: usize> {
    addr: [AtomicU32; N],
    len: [AtomicU16; N],
    flags: [AtomicU16; N],
    payload: [AtomicU32; N],
}

impl<const N: usize> LoomQueue<N> {
    fn new(geo: Geometry) -> Arc<Self> {
        Arc::new(LoomQueue {
            addr: core::array::from_fn(|i| AtomicU32::new(geo.addr_of(i as u16))),
            len: core::array::from_fn(|_| AtomicU16::new(geo.s)),
            flags: core::array::from_fn(|_| AtomicU16::new(0)),
            payload: core::array::from_fn(|_| AtomicU32::new(0)),
        })
    }

    /// Checks that buffer `idx` holds the payload of message `seq` (its sequence number
    /// is also its length).
    fn assert_payload(&self, idx: u16, seq: u16) {
        assert_eq!(self.payload[idx as usize].load(Relaxed), u32::from(seq) * 0x101, "stale payload");
    }
}

const GEO: Geometry = Geometry::new(2, 16, 0x100).unwrap();

/// The table as one side sees it.
struct Side<const N: usize>(Arc<LoomQueue<N>>);

impl<const N: usize> DescTable for Side<N> {
    fn flags(&self, slot: u16) -> u16 {
        self.0.flags[slot as usize].load(Ordering::Acquire)
    }
    fn set_flags(&self, slot: u16, flags: u16) {
        self.0.flags[slot as usize].store(flags, Ordering::Release)
    }
    fn addr_len(&self, slot: u16) -> (u32, u16) {
        (self.0.addr[slot as usize].load(Relaxed), self.0.len[slot as usize].load(Relaxed))
    }
    fn set_addr_len(&self, slot: u16, addr: u32, len: u16) {
        self.0.addr[slot as usize].store(addr, Relaxed);
        self.0.len[slot as usize].store(len, Relaxed);
    }
}

/// The producer thread: sends messages `1..=messages` (the length is the sequence number),
/// retrying while no buffer is free.
fn spawn_producer<const N: usize>(
    q: &Arc<LoomQueue<N>>,
    geo: Geometry,
    messages: u16,
) -> thread::JoinHandle<()> {
    let q = q.clone();
    thread::spawn(move || {
        let ring: Ring<_, N> = Ring::new(Side(q.clone()), geo);
        for seq in 1..=messages {
            let idx = loop {
                match ring.alloc() {
                    Ok(i) => break i,
                    Err(RingError::Empty) => thread::yield_now(),
                    Err(e) => panic!("{e:?}"),
                }
            };
            q.payload[idx as usize].store(u32::from(seq) * 0x101, Relaxed);
            ring.send(idx, seq);
        }
        assert_eq!(ring.faults(), 0);
    })
}

/// Producer sends messages 1..=3 through a two-buffer queue while the consumer receives
/// them, holding two at a time when it can and freeing them in reverse order (so buffer
/// addresses come back permuted). Every message arrives once, in order, intact.
#[test]
fn queue_producer_vs_consumer_no_loss_dup_or_reorder() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let q = LoomQueue::<2>::new(GEO);
        let producer = spawn_producer(&q, GEO, 3);
        let ring: Ring<_, 2> = Ring::new(Side(q.clone()), GEO);
        let mut expected = 1u16;
        let mut held: Vec<u16> = Vec::new();
        while expected <= 3 {
            match ring.try_recv() {
                Ok((idx, len)) => {
                    assert_eq!(len, expected, "lost, duplicated or reordered");
                    q.assert_payload(idx, len);
                    held.push(idx);
                    expected += 1;
                    if held.len() == 2 || expected > 3 {
                        while let Some(i) = held.pop() {
                            ring.free(i);
                        }
                    }
                }
                Err(RingError::Empty) => {
                    // Free what we hold so the producer can go on, then wait.
                    while let Some(i) = held.pop() {
                        ring.free(i);
                    }
                    thread::yield_now();
                }
                Err(e) => panic!("{e:?}"),
            }
        }
        producer.join().unwrap();
        assert_eq!(ring.try_recv(), Err(RingError::Empty), "duplicated");
        assert_eq!(ring.faults(), 0);
    });
}

/// With `batch-free` the consumer writes its frees two at a time (an 8-slot queue) or when
/// it finds the ring empty. The producer sends more messages than there are buffers, so it
/// depends on those deferred frees: nothing may be lost, duplicated or reordered, and the
/// producer must never wait for ever.
#[cfg(feature = "batch-free")]
#[test]
fn queue_with_batched_frees_no_loss_dup_or_reorder() {
    const N: usize = 8;
    const MESSAGES: u16 = 9;
    const GEO8: Geometry = Geometry::new(N as u16, 16, 0x100).unwrap();
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let q = LoomQueue::<N>::new(GEO8);
        let producer = spawn_producer(&q, GEO8, MESSAGES);
        let ring: Ring<_, N> = Ring::new(Side(q.clone()), GEO8);
        let mut expected = 1u16;
        while expected <= MESSAGES {
            match ring.try_recv() {
                Ok((idx, len)) => {
                    assert_eq!(len, expected, "lost, duplicated or reordered");
                    q.assert_payload(idx, len);
                    expected += 1;
                    ring.free(idx); // written with the next one, or when the ring is empty
                }
                Err(RingError::Empty) => thread::yield_now(),
                Err(e) => panic!("{e:?}"),
            }
        }
        producer.join().unwrap();
        assert_eq!(ring.try_recv(), Err(RingError::Empty), "duplicated");
        assert_eq!(ring.outstanding(), 0, "a free was never written");
        assert_eq!(ring.faults(), 0);
    });
}
