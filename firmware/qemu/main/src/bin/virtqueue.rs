//! Maincore of the `virtqueue` pair: a plain packed virtqueue each way, no RPMsg.
//! - Queue 0x0200 (maincore → subcore, 16 × 64 bytes): 2000 requests of 4..60 bytes,
//!   each filled in place in its buffer (zero-copy) and sent with software interrupt 0.
//! - Queue 0x0201 (subcore → maincore): the replies, received in the software-interrupt
//!   handler (`RxCallback`, interrupt-driven mode) and checked there: every sequence
//!   number once and in order, the byte sum and length of its request.
//!
//! The subcore frees out of order and drops reply buffers unsent; at the end no buffer
//! is lost: all 16 can be allocated at once. Prints `PASS` and exits 0, or exits non-zero with the reason.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use esp_amp::port::Platform;
use esp_amp::queue::{Consumer, Placement, Producer, QueueError, RxBuf, RxCallback, TxBuf};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::MainCore;
use esp_amp_qemu::{self as port, uprintln, ClintLine, QemuPlatform};
use qemu_main::{check, wait_for, TIMEOUT_MS};

esp_amp_qemu::entry!(main);

static SUBCORE_ELF: &[u8] = include_bytes!(concat!(env!("SUB_DIR"), "/virtqueue"));

use amp_examples::protocol::virtqueue as protocol;
use protocol::*;

/// Replies checked good, the next sequence number expected, replies found wrong.
static GOOD: AtomicU32 = AtomicU32::new(0);
static NEXT: AtomicU32 = AtomicU32::new(0);
static WRONG: AtomicU32 = AtomicU32::new(0);

/// Runs in the interrupt handler for each reply.
fn on_reply(buf: RxBuf<'_, '_, 16>) {
    let word = |i: usize| u32::from_le_bytes(buf[i..i + 4].try_into().unwrap());
    let ok = buf.len() == REPLY_LEN && {
        let k = word(0);
        let len = request_len(k);
        let sum = (0..len).map(|i| u32::from(byte(k, i))).sum::<u32>();
        k == NEXT.load(Ordering::Relaxed)
            && word(4) == sum
            && u16::from_le_bytes([buf[8], buf[9]]) as usize == len
    };
    NEXT.fetch_add(1, Ordering::Relaxed);
    if ok {
        GOOD.fetch_add(1, Ordering::Release);
    } else {
        WRONG.fetch_add(1, Ordering::Release);
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

fn main() -> ! {
    uprintln!("[hart 0] virtqueue pair: maincore up");
    let line = ClintLine::this_hart();
    let mut sub = qemu_main::subcore();
    let mut sys = SysInfoAllocator::init(port::sys_info_pool(), None).unwrap();
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(port::sw_intr_header(), line).unwrap();
    let mut tx: Producer<'_, 16> = Producer::create(&mut sys, DOWN, spec(), Placement::Normal).unwrap();
    tx.notify_with(&sw, intr(DOWN_INTR));
    let rx: Consumer<'_, 16> = Consumer::create(&mut sys, UP, spec()).unwrap();
    let replies = RxCallback::new(rx, on_reply);
    sw.add_handler(intr(UP_INTR), &replies).unwrap();
    qemu_main::load_and_start(&mut sub, SUBCORE_ELF);

    port::with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            let start = QemuPlatform.now_ms();
            let mut waits = 0u32;
            for k in 0..MESSAGES {
                let mut buf = loop {
                    let epoch = QemuPlatform.irq_epoch();
                    match tx.alloc() {
                        Ok(buf) => break buf,
                        // The subcore frees without an interrupt: nap briefly.
                        Err(QueueError::Full) => {
                            waits += 1;
                            check!(
                                10,
                                QemuPlatform.now_ms().wrapping_sub(start) < 60 * TIMEOUT_MS,
                                "queue 0x0200 stays full"
                            );
                            QemuPlatform.wait_irq(epoch, Some(1));
                        }
                        Err(e) => qemu_main::fail(11, format_args!("queue 0x0200: {e:?}")),
                    }
                };
                let len = request_len(k);
                for (i, b) in buf[..len].iter_mut().enumerate() {
                    *b = byte(k, i);
                }
                buf.send(len).unwrap_or_else(|e| qemu_main::fail(12, format_args!("send {k}: {e:?}")));
            }
            wait_for(|| GOOD.load(Ordering::Acquire) + WRONG.load(Ordering::Acquire) == MESSAGES);
            let (good, wrong) = (GOOD.load(Ordering::Acquire), WRONG.load(Ordering::Acquire));
            check!(
                13,
                wrong == 0 && good == MESSAGES,
                "replies: {good} good, {wrong} wrong, expected {MESSAGES} good"
            );
            // Every buffer came back (the subcore's out-of-order frees and unsent drops
            // lost none): all 16 can be allocated at once.
            let mut all: [Option<TxBuf<'_, '_, 16>>; 16] = Default::default();
            for slot in all.iter_mut() {
                wait_for(|| {
                    *slot = tx.alloc().ok();
                    slot.is_some()
                });
            }
            let back = all.iter().filter(|b| b.is_some()).count();
            drop(all);
            let held = replies.with_consumer(|c| c.outstanding());
            check!(
                14,
                back == 16 && held == 0,
                "{back} of 16 down buffers came back, {held} up buffers still held"
            );
            uprintln!("[hart 0] virtqueue: {MESSAGES} requests of 4..60 bytes down (zero-copy, {waits} waits for a free buffer), {good} replies up in order with exact sums; all 16 down buffers back");
        },
    );
    qemu_main::pass(&mut sub)
}
