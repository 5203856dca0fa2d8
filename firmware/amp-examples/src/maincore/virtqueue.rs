//! `virtqueue`, maincore half: a plain packed virtqueue each way, no RPMsg.
//! - Queue 0x0200 (maincore → subcore, 16 × 64 bytes): 2000 requests of 4..60 bytes, each
//!   filled in place in its buffer (zero-copy) and sent with software interrupt 0.
//! - Queue 0x0201 (subcore → maincore): the replies, received in the software-interrupt
//!   handler (`RxCallback`, interrupt-driven mode) and checked there: every sequence number
//!   once and in order, the byte sum and length of its request.
//!
//! The subcore frees out of order and drops reply buffers unsent; at the end no buffer is
//! lost: all 16 can be allocated at once.

use core::sync::atomic::{AtomicU32, Ordering};

use esp_amp::port::Platform;
use esp_amp::queue::{Consumer, Placement, Producer, QueueError, RxBuf, RxCallback, TxBuf};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::lifecycle::SubcoreHandle;
use esp_amp::MainCore;

use super::{check, stop, wait_for, MainBoard, OrFail, TIMEOUT_MS};
use crate::protocol::virtqueue::*;

/// What the reply handler found: replies checked good, the next sequence number expected,
/// replies found wrong.
struct Tally {
    good: AtomicU32,
    next: AtomicU32,
    wrong: AtomicU32,
}

impl Tally {
    fn on_reply(&self, buf: RxBuf<'_, '_, 16>) {
        // Read once: the checks below look at this copy, not at the peer's buffer.
        let mut reply = [0u8; REPLY_LEN];
        buf.bytes().copy_to(&mut reply);
        let word = |i: usize| u32::from_le_bytes([reply[i], reply[i + 1], reply[i + 2], reply[i + 3]]);
        let ok = buf.len() == REPLY_LEN && {
            let k = word(0);
            let len = request_len(k);
            let sum = (0..len).map(|i| u32::from(byte(k, i))).sum::<u32>();
            k == self.next.load(Ordering::Relaxed)
                && word(4) == sum
                && usize::from(u16::from_le_bytes([reply[8], reply[9]])) == len
        };
        self.next.fetch_add(1, Ordering::Relaxed);
        // Release: pairs with the Acquire loads of the main loop.
        if ok {
            self.good.fetch_add(1, Ordering::Release);
        } else {
            self.wrong.fetch_add(1, Ordering::Release);
        }
    }

    fn counts(&self) -> (u32, u32) {
        (self.good.load(Ordering::Acquire), self.wrong.load(Ordering::Acquire))
    }
}

/// Byte `i` of request `k`.
fn byte(k: u32, i: usize) -> u8 {
    if i < 4 {
        k.to_le_bytes()[i]
    } else {
        pattern(k, i)
    }
}

/// Runs `virtqueue`.
pub fn virtqueue<B: MainBoard>(b: &B, sub: &mut SubcoreHandle<'_, B::Port>, image: &[u8]) {
    let clock = b.clock();
    let mut sys = SysInfoAllocator::init(b.sys_info_pool(), b.rtc_pool()).or_fail(b, "SysInfo");
    let sw: SwIntr<'_, MainCore, _> =
        SwIntr::init(b.sw_intr_header(), b.line()).or_fail(b, "sw-interrupt header");
    let mut tx: Producer<'_, 16> =
        Producer::create(&mut sys, DOWN, spec(), Placement::Normal).or_fail(b, "queue 0x0200");
    tx.notify_with(&sw, intr(DOWN_INTR));
    let rx: Consumer<'_, 16> = Consumer::create(&mut sys, UP, spec()).or_fail(b, "queue 0x0201");
    let tally = Tally { good: AtomicU32::new(0), next: AtomicU32::new(0), wrong: AtomicU32::new(0) };
    let replies = RxCallback::new(rx, |buf: RxBuf<'_, '_, 16>| tally.on_reply(buf));
    sw.add_handler(intr(UP_INTR), &replies).or_fail(b, "handler");
    super::load_and_start(b, sub, image);

    b.with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            let start = clock.now_ms();
            let mut waits = 0u32;
            for k in 0..MESSAGES {
                let mut buf = loop {
                    let epoch = clock.irq_epoch();
                    match tx.alloc() {
                        Ok(buf) => break buf,
                        // The subcore frees without an interrupt: nap briefly.
                        Err(QueueError::Full) => {
                            waits += 1;
                            check!(b, 10, clock.now_ms().wrapping_sub(start) < 60 * TIMEOUT_MS, "queue 0x0200 stays full");
                            clock.wait_irq(epoch, Some(1));
                        }
                        Err(e) => b.fail(11, format_args!("queue 0x0200: {e:?}")),
                    }
                };
                let len = request_len(k);
                let mut request = [0u8; 64];
                for (i, x) in request[..len].iter_mut().enumerate() {
                    *x = byte(k, i);
                }
                buf.bytes_mut().copy_from(&request[..len]);
                buf.send(len).unwrap_or_else(|e| b.fail(12, format_args!("send {k}: {e:?}")));
            }
            wait_for(b, || {
                let (good, wrong) = tally.counts();
                good + wrong == MESSAGES
            });
            let (good, wrong) = tally.counts();
            check!(b, 13, wrong == 0 && good == MESSAGES, "replies: {good} good, {wrong} wrong, expected {MESSAGES} good");
            // Every buffer came back (the subcore's out-of-order frees and unsent drops lost
            // none): all 16 can be allocated at once.
            let mut all: [Option<TxBuf<'_, '_, 16>>; 16] = Default::default();
            for slot in all.iter_mut() {
                wait_for(b, || {
                    *slot = tx.alloc().ok();
                    slot.is_some()
                });
            }
            let back = all.iter().filter(|b| b.is_some()).count();
            drop(all);
            let held = replies.with_consumer(|c| c.outstanding());
            check!(b, 14, back == 16 && held == 0, "{back} of 16 down buffers came back, {held} up buffers still held");
            b.log(format_args!("virtqueue: {MESSAGES} requests of 4..60 bytes down (zero-copy, {waits} waits for a free buffer), {good} replies up in order with exact sums; all 16 down buffers back"));
        },
    );
    stop(b, sub);
}
