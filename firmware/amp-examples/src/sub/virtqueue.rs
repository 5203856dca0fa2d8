//! `virtqueue`: a plain packed virtqueue each way (no RPMsg). Each request is checked and
//! answered zero-copy (allocate, fill in place, send). Received buffers are held in threes
//! and freed newest first; now and then a reply buffer is dropped unsent, which parks it
//! for the next allocation.

use crate::sub::Check;
use esp_amp::port::Platform;
use esp_amp::queue::{Consumer, Producer, QueueError, RxBuf, TxBuf};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfo;
use esp_amp::SubCore;

use crate::protocol::virtqueue::*;
use crate::Board;

pub fn virtqueue<B: Board>(b: &B) -> ! {
    b.report_panics();
    let clock = b.clock();
    let info = SysInfo::attach(b.sys_info_pool(), b.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(b.sw_intr_header(), b.line()).check();
    let rx: Consumer<'_, 16> = Consumer::attach(&info, DOWN).check();
    let mut tx: Producer<'_, 16> = Producer::attach(&info, UP).check();
    tx.notify_with(&sw, intr(UP_INTR));

    b.with_interrupts(
        &|| {
            // Only wakes the loop below (the irq epoch moves).
            sw.isr();
        },
        || {
            b.log(format_args!("[hart 1] subcore up: consumer of queue 0x0200, producer of queue 0x0201"));
            let mut held: [Option<RxBuf<'_, '_, 16>>; HELD] = [None, None, None];
            let mut bad = 0u32;
            let mut expect = 0u32;
            loop {
                let epoch = clock.irq_epoch();
                let buf = match rx.try_recv() {
                    Ok(buf) => buf,
                    Err(QueueError::Empty) => {
                        // Nothing new: give back what we hold, then sleep.
                        release(&mut held);
                        clock.wait_irq(epoch, Some(10));
                        continue;
                    }
                    Err(e) => panic!("queue 0x0200: {e:?}"),
                };
                // The maincore is not trusted either: the request is read once, then the
                // checks and the sum look at that copy (a buffer too short for a sequence
                // number is a bad request: it cannot have the length of one).
                let mut copy = [0u8; 64];
                let n = buf.bytes().copy_to(&mut copy);
                let req = &copy[..n];
                let k = req.first_chunk::<4>().map_or(expect, |b| u32::from_le_bytes(*b));
                let good = k == expect
                    && req.len() == request_len(k)
                    && req[4..].iter().enumerate().all(|(i, &b)| b == pattern(k, i + 4));
                bad += u32::from(!good);
                expect = k.wrapping_add(1);
                let sum: u32 = req.iter().map(|&b| u32::from(b)).sum();
                if k % DROP_EVERY == 0 {
                    // Allocated, scribbled on, dropped unsent: parked, not lost.
                    let mut scrap = alloc(&tx, clock);
                    scrap.bytes_mut().copy_from(&u32::MAX.to_le_bytes());
                }
                let mut answer = [0u8; REPLY_LEN];
                answer[..4].copy_from_slice(&k.to_le_bytes());
                answer[4..8].copy_from_slice(&(sum | if good { 0 } else { 1 << 31 }).to_le_bytes());
                answer[8..10].copy_from_slice(&(req.len() as u16).to_le_bytes());
                let mut reply = alloc(&tx, clock);
                reply.bytes_mut().copy_from(&answer);
                reply.send(REPLY_LEN).check();
                // Hold the request; with all slots taken, free them newest first.
                if let Some(slot) = held.iter_mut().find(|s| s.is_none()) {
                    *slot = Some(buf);
                } else {
                    release(&mut held);
                    drop(buf);
                }
                if k + 1 == MESSAGES {
                    release(&mut held);
                    b.log(format_args!(
                        "[hart 1] {MESSAGES} requests checked ({bad} bad), answered zero-copy"
                    ));
                }
            }
        },
    )
}

/// Frees the held buffers, newest first (out of order for the producer).
fn release(held: &mut [Option<RxBuf<'_, '_, 16>>; HELD]) {
    for slot in held.iter_mut().rev() {
        drop(slot.take());
    }
}

/// A reply buffer, waiting for the maincore to free one if needed (frees raise no
/// interrupt, so the wait is a short nap).
fn alloc<'q, 'r>(tx: &'q Producer<'r, 16>, clock: impl Platform) -> TxBuf<'q, 'r, 16> {
    loop {
        let epoch = clock.irq_epoch();
        match tx.alloc() {
            Ok(buf) => return buf,
            Err(QueueError::Full) => clock.wait_irq(epoch, Some(1)),
            Err(e) => panic!("queue 0x0201: {e:?}"),
        }
    }
}
