//! `basic`: answers software interrupts, events, the atomics hammer, RPMsg echo (with its
//! own instruction count), and panics or faults on request.

use crate::sub::Check;
use core::sync::atomic::Ordering;

use esp_amp::event::{DefaultEvents, Events, WaitFor};
use esp_amp::port::Platform;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{Pool, SysInfo};
use esp_amp::SubCore;

use crate::protocol::basic::*;
use crate::Board;

pub fn basic<B: Board>(b: &B) -> ! {
    let clock = b.clock();
    let info = SysInfo::attach(b.sys_info_pool(), b.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(b.sw_intr_header(), b.line()).check();
    let ev = DefaultEvents::attach(&info).check();
    let (rx, tx) = (ev.incoming::<SubCore>(), ev.outgoing::<SubCore>());
    let events: Events<'_, _> = Events::new(&sw, clock);
    sw.add_handler(SwIntrId::EVENT, &events).check();
    let echo_intr = |id: SwIntrId| sw.trigger(SwIntrId::user(id.get() + 4).check());
    for n in 0..4 {
        sw.add_handler(SwIntrId::user(n).check(), &echo_intr).check();
    }
    let mut dev: Rpmsg<'_, SubCore> = Rpmsg::attach(&info).check();
    dev.notify_with(&sw);
    let echo = dev.create_endpoint(ECHO_EPT, Receiver::Mailbox).check();
    let stats = dev.create_endpoint(STATS_EPT, Receiver::Mailbox).check();
    let boom = dev.create_endpoint(PANIC_EPT, Receiver::Mailbox).check();
    let fault = dev.create_endpoint(FAULT_EPT, Receiver::Mailbox).check();
    let counter = info.get(COUNTER_ID, Pool::Hp).check().expect_size(4).check();
    let counter = counter.shm().atomic_u32(counter.addr()).check();
    b.report_panics();

    b.with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            b.log(format_args!("[hart 1] subcore up: SysInfo, software interrupts, events, RPMsg attached"));
            events.wait_timeout(&rx, GO_SW_INTR, WaitFor::All, true, None).check();
            events.notify(&tx, ACK_SW_INTR);

            events.wait_timeout(&rx, GO_HAMMER, WaitFor::All, true, None).check();
            for _ in 0..HAMMER_ROUNDS {
                counter.fetch_add(1, Ordering::Relaxed);
                // Bit 31 is ours on the event word; the maincore toggles bit 0 meanwhile.
                let before = tx.set(1 << 31);
                assert!(before & (1 << 31) == 0, "our bit was set by someone else");
                tx.clear(1 << 31);
            }
            events.notify(&tx, ACK_HAMMER);

            // RPMsg: echo, report our instruction count per round trip, or panic.
            let mut echoed = 0u64;
            let mut insns = 0u64;
            loop {
                // Taken before polling: an interrupt during the polls ends the wait at once.
                let epoch = clock.irq_epoch();
                let t0 = b.instructions();
                if let Some(msg) = dev.try_recv(echo) {
                    dev.forward(echo, msg.src(), msg.bytes()).check();
                    drop(msg);
                    insns += b.instructions() - t0;
                    echoed += 1;
                } else if let Some(msg) = dev.try_recv(stats) {
                    let mut out = [0u8; 16];
                    out[..8].copy_from_slice(&echoed.to_le_bytes());
                    out[8..].copy_from_slice(&insns.to_le_bytes());
                    dev.send(stats, msg.src(), &out).check();
                } else if let Some(msg) = dev.try_recv(boom) {
                    let n = msg.len();
                    drop(msg);
                    // Requests are 6 bytes ("please"); any other length fails this
                    // assertion: the other way a subcore panics.
                    assert!(n == 6);
                    panic!("asked to panic ({n}-byte request)");
                } else if let Some(msg) = dev.try_recv(fault) {
                    drop(msg);
                    b.fault();
                } else {
                    clock.wait_irq(epoch, Some(100));
                }
            }
        },
    )
}
