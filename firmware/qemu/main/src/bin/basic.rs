//! Maincore of the `basic` pair (hart 0). In order:
//! 1. a corrupted copy of the subcore ELF is refused by the loader, with the reason;
//! 2. the real one is loaded into the subcore region and hart 1 released;
//! 3. software interrupts both ways, events both ways;
//! 4. both harts hammer one shared counter and one event word: totals exact;
//! 5. RPMsg echo, with guest instructions per round trip on each hart (`minstret`);
//! 6. life 1 ends in a subcore panic (an abort), life 2 in a store access fault (an
//!    exception with its register frame), both reported from the dump; after each the
//!    subcore is restarted on fresh shared state and every check runs again; life 3 ends
//!    in a clean stop.
//!
//! Prints `PASS` and exits 0 through the test device, or exits non-zero with the reason.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use esp_amp::event::{DefaultEvents, Events, WaitFor};
use esp_amp::queue::QueueSpec;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{Pool, SysInfoAllocator};
use esp_amp::system::panic::PanicMonitor;
use esp_amp::MainCore;
use esp_amp_qemu::boot::Hart1;
use esp_amp_qemu::layout::*;
use esp_amp_qemu::{self as port, uprintln, ClintLine, QemuPlatform};
use qemu_main::{check, fail, wait_for, Sub, TIMEOUT_MS};

esp_amp_qemu::entry!(main);

static SUBCORE_ELF: &[u8] = include_bytes!(concat!(env!("SUB_DIR"), "/basic"));

use amp_examples::protocol::basic as protocol;
use protocol::*;

const MY_EPT: u16 = 0x20;
const ROUND_TRIPS: u32 = 200;
const TIMEOUT: Option<u32> = Some(TIMEOUT_MS);

/// A copy of the subcore ELF whose first program header is moved onto the shared region.
static mut CORRUPTED: [u8; 128 * 1024] = [0; 128 * 1024];

fn corrupted_image() -> &'static [u8] {
    let n = SUBCORE_ELF.len();
    check!(2, n <= 128 * 1024, "subcore ELF is {n} bytes, more than the scratch copy");
    // SAFETY: single-threaded maincore code; the only reference to CORRUPTED is this one,
    // and it is created once.
    let copy = unsafe { &mut *core::ptr::addr_of_mut!(CORRUPTED) };
    copy[..n].copy_from_slice(SUBCORE_ELF);
    let phoff = u32::from_le_bytes([copy[0x1c], copy[0x1d], copy[0x1e], copy[0x1f]]) as usize;
    // p_vaddr and p_paddr of program header 0.
    copy[phoff + 8..phoff + 12].copy_from_slice(&SHARED_START.to_le_bytes());
    copy[phoff + 12..phoff + 16].copy_from_slice(&SHARED_START.to_le_bytes());
    &copy[..n]
}

fn main() -> ! {
    uprintln!("[hart 0] esp-amp on QEMU virt: maincore up, subcore ELF {} bytes", SUBCORE_ELF.len());
    let line = ClintLine::this_hart();
    let mut sub = qemu_main::subcore();

    match sub.load(corrupted_image()) {
        Ok(()) => fail(3, format_args!("a corrupted image was accepted")),
        Err(e) => uprintln!("[hart 0] corrupted subcore image refused: {e:?}"),
    }

    for n in 1..=3 {
        if n > 1 {
            uprintln!("[hart 0] restarting the subcore on fresh shared state");
        }
        life(&mut sub, line, n);
    }
    uprintln!("PASS");
    port::exit(Ok(()))
}

/// One life of the subcore: fresh shared state, load, start, every check; life 1 ends in
/// a subcore panic, life 2 in a subcore exception (both reported), life 3 in a clean stop.
fn life(sub: &mut Sub, line: ClintLine, n: u32) {
    let mut sys = SysInfoAllocator::init(port::sys_info_pool(), None).unwrap();
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(port::sw_intr_header(), line).unwrap();
    let ev = DefaultEvents::create(&mut sys).unwrap();
    let (tx, rx) = (ev.outgoing::<MainCore>(), ev.incoming::<MainCore>());
    let mut dev: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap()).unwrap();
    dev.notify_with(&sw);
    let me = dev.create_endpoint(MY_EPT, Receiver::Mailbox).unwrap();
    let counter = sys.alloc(COUNTER_ID, 4, Pool::Hp).unwrap();
    let counter = counter.shm().atomic_u32(counter.addr()).unwrap();
    counter.store(0, Ordering::Relaxed);
    let events: Events<'_, _> = Events::new(&sw, QemuPlatform);
    sw.add_handler(SwIntrId::EVENT, &events).unwrap();
    let echoed = AtomicU32::new(0);
    let count_echo = |id: SwIntrId| {
        echoed.fetch_or(1 << id.get(), Ordering::Relaxed);
    };
    for n in 4..8 {
        sw.add_handler(SwIntrId::user(n).unwrap(), &count_echo).unwrap();
    }
    let monitor = PanicMonitor::new(line);
    sw.add_handler(SwIntrId::PANIC, &monitor).unwrap();

    sub.load(SUBCORE_ELF).unwrap_or_else(|e| fail(4, format_args!("load: {e:?}")));
    sub.start().unwrap_or_else(|e| fail(5, format_args!("start: {e:?}")));
    uprintln!("[hart 0] life {n}: subcore loaded from its ELF and released");

    port::with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            // Software interrupts: 0..3 go out, the subcore answers each with id + 4.
            events.notify(&tx, GO_SW_INTR);
            let got = events.wait(&rx, ACK_SW_INTR, WaitFor::All, true, TIMEOUT);
            check!(10, got.is_ok(), "subcore did not acknowledge the go event");
            for n in 0..4 {
                sw.trigger(SwIntrId::user(n).unwrap());
            }
            wait_for(|| echoed.load(Ordering::Relaxed) == 0xF0);
            let e = echoed.load(Ordering::Relaxed);
            check!(11, e == 0xF0, "software interrupts answered: 0x{e:x}, expected 0xf0");
            uprintln!("[hart 0] software interrupts 0..3 sent, 4..7 received; events both ways");

            // Both harts hammer the counter and the event word at once.
            events.notify(&tx, GO_HAMMER);
            for _ in 0..HAMMER_ROUNDS {
                counter.fetch_add(1, Ordering::Relaxed);
                let before = rx.set(1 << 0);
                check!(12, before & 1 == 0, "bit 0 of the event word was set by someone else");
                rx.clear(1 << 0);
            }
            let got = events.wait(&rx, ACK_HAMMER, WaitFor::All, true, TIMEOUT);
            check!(13, got.is_ok(), "subcore did not finish the hammer");
            let total = counter.load(Ordering::Relaxed);
            check!(14, total == 2 * HAMMER_ROUNDS, "counter {total}, expected {}", 2 * HAMMER_ROUNDS);
            let word = rx.bits();
            check!(15, word == 0, "event word 0x{word:x} after the hammer, expected 0");
            uprintln!("[hart 0] atomics: both harts added {HAMMER_ROUNDS} to one counter (total {total}) and toggled their bit of one event word: exact");

            // RPMsg echo with instruction counts.
            let mut insns = 0u64;
            for i in 0..ROUND_TRIPS {
                let payload = i.to_le_bytes();
                let t0 = port::instret();
                dev.send(me, ECHO_EPT, &payload).unwrap();
                let reply = dev
                    .recv_timeout(me, &QemuPlatform, TIMEOUT)
                    .unwrap_or_else(|e| fail(20, format_args!("echo {i}: {e:?}")));
                check!(21, *reply == payload, "echo {i}: wrong payload");
                drop(reply);
                insns += port::instret() - t0;
            }
            dev.send(me, STATS_EPT, b"?").unwrap();
            let stats = dev
                .recv_timeout(me, &QemuPlatform, TIMEOUT)
                .unwrap_or_else(|e| fail(22, format_args!("stats: {e:?}")));
            check!(24, stats.len() == 16, "stats reply of {} bytes, expected 16", stats.len());
            let word = |i: usize| u64::from_le_bytes(stats[i..i + 8].try_into().unwrap());
            let (sub_echoed, sub_insns) = (word(0), word(8));
            drop(stats);
            check!(23, sub_echoed == u64::from(ROUND_TRIPS), "subcore echoed {sub_echoed}");
            uprintln!(
                "[hart 0] RPMsg echo: {ROUND_TRIPS} round trips of 4 bytes; minstret per round trip: maincore {} (send, wait, receive, free), subcore {} (receive, send back, free)",
                insns / u64::from(ROUND_TRIPS),
                sub_insns / sub_echoed
            );

            if n == 1 {
                // A subcore panic, reported from the dump; the subcore is stopped.
                dev.send(me, PANIC_EPT, b"please").unwrap();
                wait_for(|| monitor.panicked());
                let mut report_ok = false;
                let handled = sub.handle_panic(&monitor, |report| {
                    uprintln!("[hart 0] subcore panic reported:\n{report}");
                    // As C's abort: the message, and the frame of the trap that ends it
                    // (illegal instruction, in the subcore, with its stack).
                    report_ok = report.is_abort()
                        && core::str::from_utf8(report.message())
                            .is_ok_and(|m| m.contains("asked to panic (6-byte request)"))
                        && report.mcause() == 2
                        && (SUB_START..SUB_START + SUB_SIZE).contains(&report.frame()[0])
                        && !report.stack().is_empty();
                });
                check!(30, handled, "no panic signalled by the subcore");
                check!(31, report_ok, "the panic report lacks the subcore's message or its frame (mcause 2, mepc in the subcore, stack)");
            } else if n == 2 {
                // A store access fault: an exception with its frame, not an abort.
                dev.send(me, FAULT_EPT, b"x").unwrap();
                wait_for(|| monitor.panicked());
                let mut frame_ok = false;
                let handled = sub.handle_panic(&monitor, |report| {
                    uprintln!("[hart 0] subcore exception reported:\n{report}");
                    let f = report.frame();
                    frame_ok = !report.is_abort()
                        && report.mcause() == 7
                        && (SUB_START..SUB_START + SUB_SIZE).contains(&f[0])
                        && f[35] == 4
                        && f[36] == 1
                        && !report.stack().is_empty();
                });
                check!(33, handled, "no exception signalled by the subcore");
                check!(
                    34,
                    frame_ok,
                    "the exception report lacks its frame (mcause 7, mepc in the subcore, mtval 4, hart 1)"
                );
            } else {
                sub.stop();
            }
            check!(32, !Hart1::running(), "the subcore still runs after its stop");
        },
    );
}
