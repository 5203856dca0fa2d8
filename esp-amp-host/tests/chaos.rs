//! Fault injection: the maincore here, a faulty subcore in a child process. Each test runs
//! one faulty life of the subcore and then a clean one on re-initialised shared state (the
//! restart). The maincore must survive, account for every message it sent, match its
//! counters against what the subcore reports having injected, and carry full traffic
//! again after the restart.
//!
//! Traffic: the maincore sends numbered messages (8..48 bytes, a pattern derived from the
//! number) to the subcore's echo endpoint, at most `WINDOW` unanswered; the subcore sends
//! each back. The subcore's faults, by `CHAOS_MODE`:
//! - `bad_len`: after every 10th echo, a message whose `data_len` exceeds the buffer;
//! - `unknown_dst`: after every 10th echo, a message to an endpoint that does not exist;
//! - `flood`: a thread raises our interrupt line with an unused software interrupt, as
//!   fast as it can, for the whole life;
//! - `never_frees`: receives and holds every buffer, answers nothing;
//! - `killed_mid_send`: sends its own stream without pause until the maincore kills it;
//! - `killed_mid_receive`: echoes 100 messages, then holds what it receives until the
//!   maincore kills it;
//! - `corrupt`: echoes, and after every 25th echo writes a random byte somewhere in the
//!   RPMsg block (configurations, descriptors, flags, headers, payloads of either queue);
//! - `corrupt_region`: the same, anywhere in the shared region (software-interrupt words,
//!   SysInfo headers and every block) except the test's own report block.

use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::payload::PeerBytes;
use esp_amp::queue::{QueueError, QueueSpec};
use esp_amp::rpmsg::{Endpoint, Receiver, Rpmsg, RpmsgError, RpmsgStats};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoId};
use esp_amp::{MainCore, SubCore};
use esp_amp_host::{spawn_subcore, HostCore, HostRegion, Side, ENV_REGION_PATH};

const MAIN_EPT: u16 = 0x10;
const SUB_EPT: u16 = 0x20;
/// The subcore's own stream (`killed_mid_send`).
const STREAM_EPT: u16 = 0x11;
const UNKNOWN_EPT: u16 = 0x7777;
/// The subcore's report: [echoed, injected, ready].
const REPORT_ID: SysInfoId = SysInfoId(0x0300);
const FLOOD_INTR: u8 = 7;
/// `killed_mid_receive` echoes this many before it holds.
const ECHO_BEFORE_HOLD: u32 = 100;
const MESSAGES: u32 = 2000;
/// More than the queue holds: sending stops only when every buffer is with the subcore.
const WINDOW: u32 = 32;
const SPEC: (u32, u32) = (16, 64);

fn message(seq: u32, out: &mut [u8; 56]) -> usize {
    let len = 8 + (seq as usize * 13) % 41;
    out[..4].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in out[4..len].iter_mut().enumerate() {
        *b = (seq.wrapping_mul(31) as usize + i) as u8;
    }
    len
}

/// The sequence number of a well-formed message, or `None` if its bytes are not what
/// [`message`] makes.
fn check(data: PeerBytes<'_>) -> Option<u32> {
    let mut copy = [0u8; 64];
    let n = data.copy_to(&mut copy);
    let data = &copy[..n];
    let seq = u32::from_le_bytes(data.get(..4)?.try_into().ok()?);
    let mut want = [0u8; 56];
    let len = message(seq, &mut want);
    (data == &want[..len]).then_some(seq)
}

#[derive(Debug, Default)]
struct Life {
    /// Messages the maincore sent.
    sent: u32,
    /// Echoes that arrived intact, each once.
    ok: u32,
    /// Echoes whose bytes were wrong, or repeated.
    bad: u32,
    /// Messages of the subcore's own stream, all checked.
    stream: u32,
    /// Sends refused because the subcore held every buffer.
    full: u32,
    /// Times the flood interrupt ran.
    flood_handled: u32,
    stats: RpmsgStats,
    /// What the subcore reported: echoed, injected.
    sub_echoed: u32,
    sub_injected: u32,
}

impl Life {
    /// Sent messages whose echo never came back.
    fn missing(&self) -> u32 {
        self.sent - self.ok - self.bad.min(self.sent - self.ok)
    }
}

/// One life of the subcore in `mode`: re-initialise the shared state, start it, run the
/// traffic until done, stalled for `stall`, or (with `kill_after`) that many messages
/// arrived, then stop it.
fn life(region: &HostRegion, mode: &str, kill_after: Option<u32>, stall: Duration) -> Life {
    let core = HostCore::new(region, Side::Main);
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), &core).unwrap();
    let mut dev: Rpmsg<'_, MainCore> =
        Rpmsg::create(&mut sys, QueueSpec::new(SPEC.0, SPEC.1).unwrap()).unwrap();
    dev.notify_with(&sw);
    let report = sys.alloc(REPORT_ID, 12, Pool::Hp).unwrap();
    report.shm().fill(report.addr(), 12, 0).unwrap();
    let read = |i: u32| report.shm().read_u32(report.addr() + 4 * i).unwrap();
    let ept = dev.create_endpoint(MAIN_EPT, Receiver::Mailbox).unwrap();
    let stream = dev.create_endpoint(STREAM_EPT, Receiver::Mailbox).unwrap();
    let flood = AtomicU32::new(0);
    let on_flood = |_: SwIntrId| {
        flood.fetch_add(1, Ordering::Relaxed);
    };
    sw.add_handler(SwIntrId::user(FLOOD_INTR).unwrap(), &on_flood).unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut child = spawn_subcore(
        Command::new(exe)
            .args(["--exact", "chaos_subcore", "--include-ignored", "--nocapture"])
            .env("CHAOS_MODE", mode),
        region,
    )
    .unwrap();
    let mut l = Life::default();
    let mut seen = vec![false; MESSAGES as usize];
    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        let start = Instant::now();
        while read(2) == 0 && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut progress = Instant::now();
        loop {
            while l.sent < MESSAGES && l.sent - (l.ok + l.bad).min(l.sent) < WINDOW {
                let mut buf = [0u8; 56];
                let len = message(l.sent, &mut buf);
                match dev.send(ept, SUB_EPT, &buf[..len]) {
                    Ok(()) => l.sent += 1,
                    Err(RpmsgError::Queue(QueueError::Full | QueueError::Peer(_))) => {
                        l.full += 1;
                        break;
                    }
                    Err(e) => panic!("maincore send: {e:?}"),
                }
            }
            let got = drain(&dev, ept, stream, &mut seen, &mut l);
            if got {
                progress = Instant::now();
            }
            let arrived = l.ok + l.bad + l.stream;
            if kill_after.is_some_and(|k| arrived >= k) || l.ok == MESSAGES || progress.elapsed() > stall {
                break;
            }
            if !got {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        // Stop the subcore (as `ProcessPort::stop` does), then take what is left.
        stop(&mut child);
        drain(&dev, ept, stream, &mut seen, &mut l);
    });
    l.stats = dev.stats();
    l.flood_handled = flood.load(Ordering::Relaxed);
    l.sub_echoed = read(0);
    l.sub_injected = read(1);
    l
}

/// Takes every waiting echo (intact and new, or bad) and stream message (each must be
/// the next, whole); `true` if anything arrived.
fn drain(
    dev: &Rpmsg<'_, MainCore>,
    ept: Endpoint,
    stream: Endpoint,
    seen: &mut [bool],
    l: &mut Life,
) -> bool {
    let mut got = false;
    while let Some(m) = dev.try_recv(ept) {
        got = true;
        match check(m.bytes()) {
            Some(seq) if seen.get(seq as usize) == Some(&false) => {
                seen[seq as usize] = true;
                l.ok += 1;
            }
            _ => l.bad += 1,
        }
    }
    while let Some(m) = dev.try_recv(stream) {
        got = true;
        assert_eq!(check(m.bytes()), Some(l.stream), "the subcore's stream: a torn or reordered message");
        l.stream += 1;
    }
    got
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A clean life after a faulty one: everything arrives, nothing is dropped.
fn assert_restart_is_clean(region: &HostRegion) {
    let l = life(region, "clean", None, Duration::from_secs(10));
    assert_eq!((l.sent, l.ok, l.bad), (MESSAGES, MESSAGES, 0), "after the restart: {l:?}");
    let s = l.stats;
    assert_eq!((s.dropped_unknown, s.dropped_bad_len, s.queue_faults), (0, 0, 0), "after the restart: {l:?}");
}

fn region() -> HostRegion {
    HostRegion::create(&MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap())
        .unwrap()
}

#[test]
fn messages_with_a_bad_data_len_are_dropped_and_counted() {
    let region = region();
    let l = life(&region, "bad_len", None, Duration::from_secs(10));
    assert_eq!((l.ok, l.bad), (MESSAGES, 0), "{l:?}");
    assert!(l.sub_injected >= MESSAGES / 10 - 1, "{l:?}");
    assert_eq!(l.stats.dropped_bad_len, l.sub_injected, "one drop per injected message: {l:?}");
    assert_restart_is_clean(&region);
}

#[test]
fn messages_to_an_unknown_endpoint_are_dropped_and_counted() {
    let region = region();
    let l = life(&region, "unknown_dst", None, Duration::from_secs(10));
    assert_eq!((l.ok, l.bad), (MESSAGES, 0), "{l:?}");
    assert!(l.sub_injected >= MESSAGES / 10 - 1, "{l:?}");
    assert_eq!(l.stats.dropped_unknown, l.sub_injected, "one drop per injected message: {l:?}");
    assert_restart_is_clean(&region);
}

#[test]
fn an_interrupt_flood_does_not_stop_the_traffic() {
    let region = region();
    let l = life(&region, "flood", None, Duration::from_secs(10));
    assert_eq!((l.ok, l.bad), (MESSAGES, 0), "{l:?}");
    // Raises of one pending bit coalesce: at least one ran, at most one per raise.
    assert!(l.flood_handled >= 1 && l.flood_handled <= l.sub_injected, "{l:?}");
    assert_restart_is_clean(&region);
}

#[test]
fn a_subcore_that_never_frees_fills_the_queue_and_nothing_else() {
    let region = region();
    let l = life(&region, "never_frees", None, Duration::from_millis(500));
    // Every buffer went to the subcore; then sends are refused, reported as full.
    assert_eq!((l.sent, l.ok, l.bad), (SPEC.0, 0, 0), "{l:?}");
    assert!(l.full >= 1, "{l:?}");
    assert_eq!(l.sub_injected, SPEC.0, "the subcore held every buffer: {l:?}");
    assert_restart_is_clean(&region);
}

#[test]
fn a_subcore_killed_mid_send_leaves_only_whole_messages() {
    let region = region();
    let l = life(&region, "killed_mid_send", Some(5000), Duration::from_secs(10));
    // Everything that arrived was whole and in order (checked as it arrived).
    assert!(l.stream >= 5000, "{l:?}");
    assert_eq!(l.bad, 0, "{l:?}");
    let s = l.stats;
    assert_eq!((s.dropped_unknown, s.dropped_bad_len, s.queue_faults), (0, 0, 0), "{l:?}");
    assert_restart_is_clean(&region);
}

#[test]
fn a_subcore_killed_mid_receive_costs_only_the_buffers_it_held() {
    let region = region();
    let l = life(&region, "killed_mid_receive", None, Duration::from_millis(500));
    assert_eq!((l.ok, l.bad), (ECHO_BEFORE_HOLD, 0), "{l:?}");
    // The missing ones are exactly those the subcore held when it died: all of its
    // buffers.
    assert_eq!((l.missing(), l.sub_injected), (SPEC.0, SPEC.0), "{l:?}");
    assert_restart_is_clean(&region);
}

#[test]
fn random_corruption_of_the_rpmsg_block_is_survived_and_accounted() {
    corruption_is_survived_and_accounted("corrupt");
}

#[test]
fn random_corruption_of_the_whole_shared_region_is_survived_and_accounted() {
    // With the damage anywhere in the region too: the software-interrupt words (spurious
    // or lost interrupts), the SysInfo headers (read again only at the restart, which
    // re-initialises them), the RPMsg block.
    corruption_is_survived_and_accounted("corrupt_region");
}

fn corruption_is_survived_and_accounted(mode: &str) {
    let region = region();
    let l = life(&region, mode, None, Duration::from_millis(500));
    // The maincore survived (a panic in the library would fail this test), traffic flowed
    // until the damage stopped it, and no damaged message passed as intact: `ok` counts
    // only messages whose every byte is what was sent, each once. Losses under random
    // damage have no finer reason than "the peer damaged the ring" (a flipped flag can
    // hide a slot from both sides): they are reported as missing.
    assert!(l.sub_injected > 0 && l.ok > 0 && l.ok <= l.sent, "{l:?}");
    eprintln!(
        "{mode}: {} writes injected; sent {}, intact {}, damaged {}, missing {}; maincore dropped {} (bad length) + {} (unknown endpoint), {} descriptor faults",
        l.sub_injected, l.sent, l.ok, l.bad, l.missing(), l.stats.dropped_bad_len, l.stats.dropped_unknown, l.stats.queue_faults
    );
    assert_restart_is_clean(&region);
}

/// The subcore: runs only when started by a test above.
#[test]
#[ignore = "subcore half of the chaos tests"]
fn chaos_subcore() {
    if std::env::var_os(ENV_REGION_PATH).is_none() {
        return;
    }
    let mode = std::env::var("CHAOS_MODE").unwrap();
    let region = HostRegion::open_from_env().unwrap();
    let core = HostCore::new(&region, Side::Sub);
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), &core).unwrap();
    let mut dev: Rpmsg<'_, SubCore> = Rpmsg::attach(&info).unwrap();
    dev.notify_with(&sw);
    let report = info.get(REPORT_ID, Pool::Hp).unwrap().expect_size(12).unwrap();
    let write = |i: u32, v: u32| report.shm().write_u32(report.addr() + 4 * i, v).unwrap();
    let block = info.get(SysInfoId::VQUEUE, Pool::Hp).unwrap();
    let shared = region.shared();
    let ept = dev.create_endpoint(SUB_EPT, Receiver::Mailbox).unwrap();
    let done = AtomicBool::new(false);
    // `flood`: set once the flood thread has raised its first interrupt.
    let raised = AtomicBool::new(false);
    let (mut echoed, mut injected) = (0u32, 0u32);
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut held = Vec::new();
    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        write(2, 1);
        if mode == "flood" {
            let (sw, done, raised) = (&sw, &done, &raised);
            let write = &write;
            s.spawn(move || {
                let mut n = 0u32;
                while !done.load(Ordering::Relaxed) {
                    // Counted before the raise, so the maincore never sees more handled
                    // than reported.
                    n += 1;
                    write(1, n);
                    sw.trigger(SwIntrId::user(FLOOD_INTR).unwrap());
                    raised.store(true, Ordering::Relaxed);
                }
            });
            // Not before the flood has begun: on a loaded machine the flood thread could
            // otherwise first run after the last echo, and there would be no flood at all.
            while !raised.load(Ordering::Relaxed) {
                std::thread::yield_now();
            }
            // Echo until the maincore stops us; the flood count is written as we go.
            loop {
                if let Some(m) = dev.try_recv(ept) {
                    while dev.forward(ept, MAIN_EPT, m.bytes()).is_err() {
                        std::hint::spin_loop();
                    }
                    echoed += 1;
                    write(0, echoed);
                }
                if echoed == MESSAGES {
                    done.store(true, Ordering::Relaxed);
                    loop {
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            }
        }
        if mode == "killed_mid_send" {
            let mut seq = 0u32;
            loop {
                let mut buf = [0u8; 56];
                let len = message(seq, &mut buf);
                if dev.send(ept, STREAM_EPT, &buf[..len]).is_ok() {
                    seq += 1;
                    write(1, seq);
                }
            }
        }
        loop {
            let Some(m) = dev.try_recv(ept) else {
                std::hint::spin_loop();
                continue;
            };
            if mode == "never_frees" || (mode == "killed_mid_receive" && echoed == ECHO_BEFORE_HOLD) {
                held.push(m);
                injected += 1;
                write(1, injected);
                continue;
            }
            while let Err(e) = dev.forward(ept, MAIN_EPT, m.bytes()) {
                assert!(matches!(e, RpmsgError::Queue(QueueError::Full | QueueError::Peer(_))), "{e:?}");
                std::hint::spin_loop();
            }
            drop(m);
            echoed += 1;
            // Not after the last echo: the maincore stops us once it has that one, maybe
            // before the report below is written, and would count a drop not reported.
            if echoed % 10 == 0 && echoed < MESSAGES && (mode == "bad_len" || mode == "unknown_dst") {
                // {src, dst, data_len, flags}: a length no buffer holds, or a real
                // length to an endpoint that does not exist.
                let (dst, data_len) = if mode == "bad_len" { (MAIN_EPT, u16::MAX) } else { (UNKNOWN_EPT, 4) };
                let mut header = [0u8; 8];
                header[0..2].copy_from_slice(&SUB_EPT.to_le_bytes());
                header[2..4].copy_from_slice(&dst.to_le_bytes());
                header[4..6].copy_from_slice(&data_len.to_le_bytes());
                loop {
                    match dev.alloc() {
                        Ok(msg) => {
                            msg.send_raw(header);
                            break;
                        }
                        Err(_) => std::hint::spin_loop(),
                    }
                }
                injected += 1;
            }
            if (mode == "corrupt" || mode == "corrupt_region") && echoed % 25 == 0 {
                // xorshift: a byte somewhere in the RPMsg block, or anywhere in the shared
                // region (software-interrupt words, SysInfo headers, every block) but this
                // test's own report.
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let (shm, base, len) = if mode == "corrupt" {
                    (block.shm(), block.addr(), u32::from(block.size()))
                } else {
                    (shared, shared.device_base(), shared.len())
                };
                let at = base + (rng % u64::from(len)) as u32;
                if !(report.addr()..report.addr() + 12).contains(&at) {
                    shm.write_bytes(at, &[(rng >> 32) as u8]).unwrap();
                    injected += 1;
                }
            }
            write(0, echoed);
            write(1, injected);
        }
    });
    drop(held);
}
