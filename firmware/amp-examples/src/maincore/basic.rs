//! `basic`, maincore half. In order:
//! 1. a copy of the subcore image with its first segment moved onto the shared region is
//!    refused by the loader, with the reason;
//! 2. four lives of the subcore, each on fresh shared state: software interrupts both
//!    ways, events both ways; both cores hammer one shared counter and one event word
//!    (totals exact); RPMsg echo (with instructions per round trip where the port counts
//!    them). Life 1 ends in a subcore panic, life 2 in an exception with its register
//!    frame, life 4 in a failed `assert!`, each reported from the dump with the file and
//!    line of the panic; life 3 in a clean stop.

use core::sync::atomic::{AtomicU32, Ordering};

use esp_amp::event::{DefaultEvents, Events, WaitFor};
use esp_amp::port::Platform;
use esp_amp::queue::QueueSpec;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{Pool, SysInfoAllocator};
use esp_amp::system::lifecycle::SubcoreHandle;
use esp_amp::system::panic::PanicMonitor;
use esp_amp::MainCore;

use super::{check, in_subcore_code, misplaced_copy, stop, wait_for, MainBoard, OrFail, TIMEOUT_MS};
use crate::protocol::basic::*;

const MY_EPT: u16 = 0x20;
const ROUND_TRIPS: u32 = 200;
const TIMEOUT: Option<u32> = Some(TIMEOUT_MS);

/// Runs `basic`; `scratch` (at least the image's size) holds the misplaced copy.
pub fn basic<B: MainBoard>(b: &B, sub: &mut SubcoreHandle<'_, B::Port>, image: &[u8], scratch: &mut [u8]) {
    let shared = b.sys_info_pool().device_base();
    let Some(bad) = misplaced_copy(image, scratch, shared) else {
        b.fail(
            2,
            format_args!("cannot make the misplaced copy ({} bytes, not an ELF or ESP image?)", image.len()),
        )
    };
    match sub.load(bad) {
        Ok(()) => b.fail(3, format_args!("a misplaced image was accepted")),
        Err(e) => b.log(format_args!("corrupted subcore image refused: {e:?}")),
    }
    idle_wait(b);
    for n in 1..=4 {
        if n > 1 {
            b.log(format_args!("restarting the subcore on fresh shared state"));
        }
        life(b, sub, image, n);
    }
}

/// One life of the subcore: fresh shared state, load, start, every check; life 1 ends in
/// a subcore panic, life 2 in a subcore exception, life 4 in a failed assertion (each
/// reported), life 3 in a clean stop.
fn life<B: MainBoard>(b: &B, sub: &mut SubcoreHandle<'_, B::Port>, image: &[u8], n: u32) {
    let clock = b.clock();
    let mut sys = SysInfoAllocator::init(b.sys_info_pool(), b.rtc_pool()).or_fail(b, "SysInfo");
    let sw: SwIntr<'_, MainCore, _> =
        SwIntr::init(b.sw_intr_header(), b.line()).or_fail(b, "sw-interrupt header");
    let ev = DefaultEvents::create(&mut sys).or_fail(b, "events");
    let (tx, rx) = (ev.outgoing::<MainCore>(), ev.incoming::<MainCore>());
    let mut dev: Rpmsg<'_, MainCore> =
        Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap()).or_fail(b, "RPMsg device");
    dev.notify_with(&sw);
    let me = dev.create_endpoint(MY_EPT, Receiver::Mailbox).or_fail(b, "endpoint");
    let counter = sys.alloc(COUNTER_ID, 4, Pool::Hp).or_fail(b, "counter");
    let counter = counter.shm().atomic_u32(counter.addr()).or_fail(b, "counter");
    counter.store(0, Ordering::Relaxed);
    let events: Events<'_, _> = Events::new(&sw, clock);
    let echoed = AtomicU32::new(0);
    let count_echo = |id: SwIntrId| {
        echoed.fetch_or(1 << id.get(), Ordering::Relaxed);
    };
    let monitor = PanicMonitor::new(b.line());
    let handlers = sw
        .add_handler(SwIntrId::EVENT, &events)
        .and_then(|()| (4..8).try_for_each(|n| sw.add_handler(SwIntrId::user(n).unwrap(), &count_echo)))
        .and_then(|()| sw.add_handler(SwIntrId::PANIC, &monitor));
    handlers.or_fail(b, "handlers");

    super::load_and_start(b, sub, image);
    b.log(format_args!("life {n}: subcore loaded from its image and released"));

    b.with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            // Software interrupts: 0..3 go out, the subcore answers each with id + 4.
            events.notify(&tx, GO_SW_INTR);
            let got = events.wait_timeout(&rx, ACK_SW_INTR, WaitFor::All, true, TIMEOUT);
            check!(b, 10, got.is_ok(), "subcore did not acknowledge the go event");
            for n in 0..4 {
                sw.trigger(SwIntrId::user(n).unwrap());
            }
            wait_for(b, || echoed.load(Ordering::Relaxed) == 0xF0);
            let e = echoed.load(Ordering::Relaxed);
            check!(b, 11, e == 0xF0, "software interrupts answered: 0x{e:x}, expected 0xf0");
            b.log(format_args!("software interrupts 0..3 sent, 4..7 received; events both ways"));

            // Both cores hammer the counter and the event word at once.
            events.notify(&tx, GO_HAMMER);
            for _ in 0..HAMMER_ROUNDS {
                counter.fetch_add(1, Ordering::Relaxed);
                let before = rx.set(1 << 0);
                check!(b, 12, before & 1 == 0, "bit 0 of the event word was set by someone else");
                rx.clear(1 << 0);
            }
            let got = events.wait_timeout(&rx, ACK_HAMMER, WaitFor::All, true, TIMEOUT);
            check!(b, 13, got.is_ok(), "subcore did not finish the hammer");
            let total = counter.load(Ordering::Relaxed);
            check!(b, 14, total == 2 * HAMMER_ROUNDS, "counter {total}, expected {}", 2 * HAMMER_ROUNDS);
            let word = rx.bits();
            check!(b, 15, word == 0, "event word 0x{word:x} after the hammer, expected 0");
            b.log(format_args!("atomics: both harts added {HAMMER_ROUNDS} to one counter (total {total}) and toggled their bit of one event word: exact"));

            echo(b, &dev, me);

            if n == 1 || n == 4 {
                // A subcore panic (life 1: `panic!`, life 4: a failed `assert!`, asked for
                // by a request of the wrong length), reported from the dump; the subcore
                // is stopped.
                let (request, said): (&[u8], &str) = if n == 1 {
                    (b"please", "asked to panic (6-byte request)")
                } else {
                    (b"please!", "assertion failed: n == 6")
                };
                let sent = dev.send(me, PANIC_EPT, request);
                check!(b, 29, sent.is_ok(), "panic request: {sent:?}");
                wait_for(b, || monitor.panicked());
                let mut report_ok = false;
                let handled = sub.handle_panic(&monitor, |report| {
                    b.log(format_args!("subcore panic reported:\n{report}"));
                    // As C's abort: the message, and the frame of the trap that ends it
                    // (illegal instruction, in the subcore, with its stack). The message
                    // starts with the location; what the panic said follows where the
                    // subcore's panic handler formats messages (the chips' default
                    // handler gives the location only).
                    report_ok = report.is_abort()
                        && core::str::from_utf8(report.message()).is_ok_and(|m| {
                            m.starts_with("panic on subcore at ")
                                && m.contains("sub/basic.rs:")
                                && (!m.contains(": ") || m.ends_with(said))
                        })
                        && report.mcause() == 2
                        && in_subcore_code(b, report.frame()[0])
                        && !report.stack().is_empty();
                });
                check!(b, 30, handled, "no panic signalled by the subcore");
                check!(b, 31, report_ok, "the panic report lacks the subcore's message or its frame (mcause 2, mepc in the subcore, stack)");
            } else if n == 2 {
                // An exception with its frame, not an abort.
                let sent = dev.send(me, FAULT_EPT, b"x");
                check!(b, 29, sent.is_ok(), "fault request: {sent:?}");
                wait_for(b, || monitor.panicked());
                let want = b.subcore_fault();
                let mut frame_ok = false;
                let handled = sub.handle_panic(&monitor, |report| {
                    b.log(format_args!("subcore exception reported:\n{report}"));
                    let f = report.frame();
                    frame_ok = !report.is_abort()
                        && report.mcause() == want.mcause
                        && in_subcore_code(b, f[0])
                        && want.mtval.is_none_or(|v| f[35] == v)
                        && want.hart.is_none_or(|h| f[36] == h)
                        && !report.stack().is_empty();
                });
                check!(b, 33, handled, "no exception signalled by the subcore");
                check!(b, 34, frame_ok, "the exception report lacks its frame (expected {want:?}, mepc in the subcore, stack)");
            }
        },
    );
    // Lives 1 and 2 were stopped by `handle_panic`; either way the core must not run now.
    stop(b, sub);
}

/// RPMsg echo with the subcore's statistics, and instruction counts where the port has them.
fn echo<B: MainBoard>(b: &B, dev: &Rpmsg<'_, MainCore>, me: esp_amp::rpmsg::Endpoint) {
    let clock = b.clock();
    let mut insns = 0u64;
    for i in 0..ROUND_TRIPS {
        let payload = i.to_le_bytes();
        let t0 = b.instructions();
        let sent = dev.send(me, ECHO_EPT, &payload);
        check!(b, 19, sent.is_ok(), "echo {i}: {sent:?}");
        let reply = dev
            .recv_timeout(me, &clock, TIMEOUT)
            .unwrap_or_else(|e| b.fail(20, format_args!("echo {i}: {e:?}")));
        check!(b, 21, reply.bytes() == payload, "echo {i}: wrong payload");
        drop(reply);
        insns += b.instructions().zip(t0).map_or(0, |(t1, t0)| t1 - t0);
    }
    let sent = dev.send(me, STATS_EPT, b"?");
    check!(b, 19, sent.is_ok(), "stats: {sent:?}");
    let stats =
        dev.recv_timeout(me, &clock, TIMEOUT).unwrap_or_else(|e| b.fail(22, format_args!("stats: {e:?}")));
    check!(b, 24, stats.len() == 16, "stats reply of {} bytes, expected 16", stats.len());
    let word = |i: usize| stats.bytes().read_array::<8>(i).map_or(0, u64::from_le_bytes);
    let (sub_echoed, sub_insns) = (word(0), word(8));
    drop(stats);
    check!(b, 23, sub_echoed == u64::from(ROUND_TRIPS), "subcore echoed {sub_echoed}");
    match b.instructions() {
        Some(_) => b.log(format_args!(
            "RPMsg echo: {ROUND_TRIPS} round trips of 4 bytes; minstret per round trip: maincore {} (send, wait, receive, free), subcore {} (receive, send back, free)",
            insns / u64::from(ROUND_TRIPS),
            sub_insns / sub_echoed
        )),
        None => b.log(format_args!("RPMsg echo: {ROUND_TRIPS} round trips of 4 bytes, checked")),
    }
}

/// A wait with a timeout and no interrupt (the subcore is not running yet) ends when the
/// timeout does, not before, and sleeps meanwhile: where the port counts the wait's
/// checks, a few (each wake-up: the timer), not thousands (a spinning wait).
fn idle_wait<B: MainBoard>(b: &B) {
    let clock = b.clock();
    let (epoch, start, checks) = (clock.irq_epoch(), clock.now_ms(), b.wait_checks());
    clock.wait_irq(epoch, Some(IDLE_WAIT_MS));
    let waited = clock.now_ms().wrapping_sub(start);
    check!(b, 35, waited >= IDLE_WAIT_MS, "a {IDLE_WAIT_MS} ms wait returned after {waited} ms");
    match b.wait_checks().zip(checks).map(|(after, before)| after.wrapping_sub(before)) {
        Some(n) => {
            check!(
                b,
                36,
                n <= 4,
                "a {IDLE_WAIT_MS} ms wait with no interrupt checked {n} times: it did not sleep"
            );
            b.log(format_args!(
                "idle wait: {waited} ms with a timeout and no interrupt, {n} check(s) around wfi"
            ));
        }
        None => b.log(format_args!("idle wait: {waited} ms with a timeout and no interrupt")),
    }
}

/// How long [`idle_wait`] waits.
const IDLE_WAIT_MS: u32 = 20;
