//! System services: print packets and drop rules, the supplicant, the panic dump layout and
//! report, the life cycle with the image loader, light sleep.

mod common;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use common::{pool, Region as TestRegion};
use esp_amp::image::load::{LoadTarget, WindowMemory};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout, Region};
use esp_amp::port::{InterruptLine, Platform};
use esp_amp::queue::{Consumer, QueueError};
use esp_amp::shm::Shm;
use esp_amp::sw_intr::{SwIntrHandler, SwIntrId};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::lifecycle::{
    CoreControl, ImagePort, ImagePortError, LifecycleError, State, SubcoreHandle, SubcorePort,
};
use esp_amp::system::panic::{PanicDump, PanicMonitor, PanicReport, DUMP_SIZE};
use esp_amp::system::print::{PrintStats, Printer};
use esp_amp::system::service::{self, Supplicant, SupplicantStats};
use esp_amp::system::sleep::{LightSleep, SleepGuards};
use proptest::prelude::*;

/// A clock that advances 1 ms per read (so a 10 ms wait gives up quickly).
#[derive(Default)]
struct Clock(AtomicU32);
impl Platform for Clock {
    fn now_ms(&self) -> u32 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
    fn delay_us(&self, _: u32) {}
    fn interrupts_enable(&self) {}
    fn interrupts_disable(&self) {}
    fn irq_epoch(&self) -> u32 {
        0
    }
    fn wait_irq(&self, _: u32, _: Option<u32>) {}
}

/// Receives the raw print packets: (descriptor length, first bytes).
fn packets(rx: &Consumer<'_, 16>) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    while let Ok(b) = rx.try_recv() {
        out.push((b.len(), b.bytes().iter().collect::<Vec<u8>>()));
    }
    out
}

#[test]
fn print_packets_match_the_c_layout() {
    let region = TestRegion::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let rx: Consumer<'_, 16> = Consumer::create(&mut sys, service::QUEUE_ID, service::spec()).unwrap();
    let mut p = Printer::new(Some(service::attach(&sys.info()).unwrap()));
    p.write_str("hi\n").unwrap();
    p.write_str("a\0b\n").unwrap(); // NUL is ignored
    let got = packets(&rx);
    assert_eq!(got.len(), 2);
    // {srv_id = 1, param_len = pos + 1, "hi", NUL (was '\n'), NUL}; sent with length 128.
    assert_eq!(got[0].0, 128);
    assert_eq!(&got[0].1[..8], &[1, 0, 4, 0, b'h', b'i', 0, 0]);
    assert_eq!(&got[1].1[..8], &[1, 0, 4, 0, b'a', b'b', 0, 0]);

    // A line without newline is cut at 123 bytes: param_len 124, param[123] = NUL.
    let long: String = (0..200).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    p.write_str(&long).unwrap();
    let got = packets(&rx);
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].1[..4], &[1, 0, 124, 0]);
    assert_eq!(&got[0].1[4..4 + 123], &long.as_bytes()[..123]);
    assert_eq!(got[0].1[4 + 123], 0);
    p.write_str("\n").unwrap();
    let got = packets(&rx);
    assert_eq!(u16::from_le_bytes([got[0].1[2], got[0].1[3]]), 79, "77 bytes, NUL (was the newline), NUL");
    assert_eq!(&got[0].1[4..4 + 77], &long.as_bytes()[123..]);
    assert_eq!(p.stats(), PrintStats { lines: 4, dropped: 0, fallback: 0 });
}

#[test]
fn a_full_queue_drops_bytes_after_10_ms_and_printing_resumes() {
    let region = TestRegion::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let supplicant = Supplicant::create(&mut sys).unwrap();
    let clock = Clock::default();
    let mut p = Printer::new(Some(service::attach(&sys.info()).unwrap())).with_platform(&clock);
    for i in 0..16 {
        writeln!(p, "line {i}").unwrap();
    }
    p.write_str("lost\n").unwrap();
    let before = clock.now_ms();
    assert!(before > 5 * 10, "each dropped byte waited about 10 ms on the clock");
    assert_eq!(p.stats().dropped, 5);
    let mut lines = Vec::new();
    supplicant.dispatch(|l| lines.push(String::from_utf8(l.to_vec()).unwrap()));
    assert_eq!(lines.len(), 16);
    assert_eq!(lines[15], "line 15");
    p.write_str("back\n").unwrap();
    lines.clear();
    supplicant.dispatch(|l| lines.push(String::from_utf8(l.to_vec()).unwrap()));
    assert_eq!(lines, ["back"]);
    assert_eq!(supplicant.stats().lines, 17);
}

#[test]
fn the_line_start_wait_can_be_set() {
    // The clock time two dropped bytes cost, with the default wait or `timeout`.
    let wait_for_two_drops = |timeout: Option<u32>| {
        let region = TestRegion::zeroed();
        let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
        let _supplicant = Supplicant::create(&mut sys).unwrap();
        let clock = Clock::default();
        let mut p = Printer::new(Some(service::attach(&sys.info()).unwrap())).with_platform(&clock);
        if let Some(ms) = timeout {
            p = p.with_reserve_timeout(ms);
        }
        for i in 0..16 {
            writeln!(p, "line {i}").unwrap();
        }
        let start = clock.now_ms();
        p.write_str("x\n").unwrap();
        assert_eq!(p.stats().dropped, 2);
        clock.now_ms() - start
    };
    let default = wait_for_two_drops(None);
    let longer = wait_for_two_drops(Some(40));
    assert!((2 * 10..2 * 20).contains(&default), "{default}");
    assert!((2 * 40..2 * 50).contains(&longer), "{longer}");
}

#[test]
fn without_the_service_bytes_go_to_the_fallback() {
    let seen = Mutex::new(Vec::new());
    let fallback = |b: &[u8]| seen.lock().unwrap().extend_from_slice(b);
    let mut p = Printer::new(None).with_fallback(&fallback);
    p.write_str("early\0 boot\n").unwrap();
    assert_eq!(seen.lock().unwrap().as_slice(), b"early boot\n");
    assert_eq!(p.stats().fallback, 11);
}

#[test]
fn the_supplicant_bounds_param_len_and_counts_unknown_services() {
    let region = TestRegion::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let supplicant = Supplicant::create(&mut sys).unwrap();
    let tx = service::attach(&sys.info()).unwrap();
    service::send_request(&tx, 7, b"what").unwrap();
    // No NUL inside param_len: the line ends at param_len (C's puts would run on).
    service::send_request(&tx, 1, b"abc").unwrap();
    // param_len beyond 124: malformed.
    let mut buf = tx.alloc().unwrap();
    buf.bytes_mut().write(0, &[1, 0, 200, 0]).unwrap();
    buf.send(128).unwrap();
    // Shorter than the header.
    tx.send(&[1, 0]).unwrap();
    assert!(matches!(service::send_request(&tx, 1, &[0; 125]), Err(QueueError::TooLarge { .. })));
    let mut lines = Vec::new();
    assert_eq!(supplicant.dispatch(|l| lines.push(l.to_vec())), 4);
    assert_eq!(lines, [b"abc".to_vec()]);
    assert_eq!(supplicant.stats(), SupplicantStats { lines: 1, unknown: 1, malformed: 2, faults: 0 });
}

#[test]
fn the_global_print_macros_route_through_the_installed_printer() {
    // A 'static region, as on the chip; it stays reachable from the global printer.
    let words: &'static mut [u32] = Box::leak(vec![0u32; common::LEN / 4].into_boxed_slice());
    // SAFETY: `words` is aligned, LEN bytes, never freed, and only accessed through `shm`.
    let shm = unsafe { Shm::from_raw(words.as_mut_ptr().cast(), common::BASE, common::LEN as u32) };
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    let supplicant = Supplicant::create(&mut sys).unwrap();
    esp_amp::system::print::set_global(Printer::new(Some(service::attach(&sys.info()).unwrap())));
    esp_amp::println!("value = {}", 42);
    esp_amp::print!("no newline yet");
    esp_amp::println!();
    let mut lines = Vec::new();
    supplicant.dispatch(|l| lines.push(String::from_utf8(l.to_vec()).unwrap()));
    assert_eq!(lines, ["value = 42", "no newline yet"]);
    assert_eq!(esp_amp::system::print::global_stats().unwrap().lines, 2);

    // Panic messages go where `println!` goes while it has no service queue (the UART on
    // the chips), and not while it has one (the maincore reports from the dump).
    static GOT: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
    static UART: fn(&[u8]) = |b| GOT.lock().unwrap().extend_from_slice(b);
    use esp_amp::system::panic::report_panic;
    let routed = esp_amp::system::print::set_global(Printer::new(None).with_fallback(&UART)).unwrap();
    assert!(!report_panic("src/x.rs", 7, None), "no sink in this test: not reported");
    assert_eq!(GOT.lock().unwrap().as_slice(), b"panic on subcore at src/x.rs:7\n");
    esp_amp::system::print::set_global(routed.with_fallback(&UART));
    report_panic("src/x.rs", 8, Some(format_args!("routed")));
    assert_eq!(GOT.lock().unwrap().as_slice(), b"panic on subcore at src/x.rs:7\n", "nothing more");
    // Left installed: the leaked region stays reachable from the global (no leak for miri).
}

fn dump_mem() -> Vec<u32> {
    vec![0u32; 0x1000 / 4]
}

fn dump_of(mem: &mut [u32]) -> PanicDump<'_> {
    PanicDump::new(dump_shm(mem)).unwrap()
}

fn dump_shm(mem: &mut [u32]) -> Shm<'_> {
    // SAFETY: `mem` is aligned, 4 KiB, and outlives the returned handle.
    unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_E560, 0x1000) }
}

fn bytes(shm: Shm<'_>) -> Vec<u8> {
    let mut out = vec![0u8; 0x1000];
    shm.read_bytes(0x4087_E560, &mut out).unwrap();
    out
}

#[test]
fn the_panic_dump_layout_is_spec_8_5() {
    let mut mem = dump_mem();
    let shm = dump_shm(&mut mem);
    let dump = PanicDump::new(shm).unwrap();
    dump.write_abort(format_args!("abort() was called at PC 0x{:08x} on subcore", 0x4087_6600u32));
    let regs: Vec<u32> = (0..37).map(|i| 0x1000 + i).collect();
    let stack: Vec<u8> = (0..40).collect();
    dump.write_frame(&regs, &stack);
    let raw = bytes(shm);
    assert_eq!(&raw[0..4], &1u32.to_le_bytes(), "is_abort");
    assert_eq!(&raw[4..8], &40u32.to_le_bytes(), "stack_dump_length");
    let msg = b"abort() was called at PC 0x40876600 on subcore";
    assert_eq!(&raw[8..8 + msg.len()], msg);
    assert_eq!(raw[8 + msg.len()], 0);
    assert_eq!(&raw[0x100..0x104], &0x1000u32.to_le_bytes(), "MEPC first");
    assert_eq!(&raw[0x100 + 36 * 4..0x100 + 37 * 4], &0x1024u32.to_le_bytes(), "MHARTID last");
    assert_eq!(&raw[0x200..0x228], &stack[..]);

    // A long message is cut at 247 bytes plus NUL; the stack at 1024.
    let long = "x".repeat(400);
    dump.write_abort(format_args!("{long}"));
    dump.write_frame(&regs, &[7u8; 2000]);
    let raw = bytes(shm);
    assert_eq!(raw[8 + 246], b'x');
    assert_eq!(raw[8 + 247], 0);
    assert_eq!(&raw[4..8], &1024u32.to_le_bytes());

    // The message without core::fmt: "<what> at <file>:<line>", cut the same way.
    for (line, text) in
        [(0, "x at src/main.rs:0"), (9, "x at src/main.rs:9"), (u32::MAX, "x at src/main.rs:4294967295")]
    {
        dump.clear();
        dump.write_abort_at("x", "src/main.rs", line);
        let r = dump.read();
        assert!(r.is_abort());
        assert_eq!(r.message(), text.as_bytes());
    }
    dump.write_abort_at("panic on subcore", &"d/".repeat(200), 77);
    let raw = bytes(shm);
    assert!(raw[8..8 + 247].starts_with(b"panic on subcore at d/d/"));
    assert_eq!(raw[8 + 247], 0, "cut at 247 bytes plus NUL");

    // A Rust panic: the location first, then the message when there is one; a long
    // message is cut, never the location.
    dump.clear();
    dump.write_panic("src/main.rs", 12, None);
    assert_eq!(dump.read().message(), b"panic on subcore at src/main.rs:12");
    dump.write_panic("src/main.rs", 12, Some(format_args!("index {} of {}", 9, 4)));
    assert_eq!(dump.read().message(), b"panic on subcore at src/main.rs:12: index 9 of 4");
    dump.write_panic("src/lib.rs", 3, Some(format_args!("{}", "m".repeat(400))));
    let r = dump.read();
    assert_eq!(r.message().len(), 247);
    assert!(r.message().starts_with(b"panic on subcore at src/lib.rs:3: mmm"));

    // clear() and the exception path leave no stale abort flag.
    dump.clear();
    assert_eq!(&bytes(shm)[..9], &[0; 9]);
    dump.write_abort(format_args!("old"));
    dump.mark_exception();
    assert!(!dump.read().is_abort());
}

#[test]
fn the_report_prints_in_the_c_format() {
    let mut mem = dump_mem();
    let dump = dump_of(&mut mem);
    let mut regs = [0u32; 37];
    regs[0] = 0x4087_6610; // MEPC
    regs[2] = 0x5000_0e00; // SP
    regs[34] = 5; // MCAUSE: load access fault
    dump.write_frame(&regs, &(0u8..40).collect::<Vec<_>>());
    dump.mark_exception();
    let text = dump.read().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Guru Meditation Error: ON Subcore panic'ed Load access fault");
    assert_eq!(lines[1], "Core 1 register dump:");
    assert_eq!(
        lines[2],
        "MEPC    : 0x40876610 RA      : 0x00000000 SP      : 0x50000e00 GP      : 0x00000000"
    );
    assert_eq!(
        lines.len(),
        2 + 10 + 1 + 1 + 2 + 1 + 1,
        "37 registers on 10 lines, blank, title, 2 stack lines, blank, marker"
    );
    assert_eq!(lines[11], "MHARTID : 0x00000000 ", "C's trailing space: 37 is not a multiple of 4");
    assert_eq!(lines[12], "");
    assert_eq!(lines[13], "Stack memory:");
    assert_eq!(
        lines[14],
        "50000e00: 0x03020100 0x07060504 0x0b0a0908 0x0f0e0d0c 0x13121110 0x17161514 0x1b1a1918 0x1f1e1d1c"
    );
    // 40 bytes dumped: C prints the whole second line, from the dump's stack area.
    assert_eq!(
        lines[15],
        "50000e20: 0x23222120 0x27262524 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000"
    );
    assert_eq!(lines[16], "");
    assert_eq!(lines[17], "ELF file SHA256: No SHA256 Embedded");
    assert!(text.ends_with("Embedded\n"));
    // P4 names its extra causes and prints its extra CSRs.
    regs[34] = 13;
    dump.write_frame(&regs, &[]);
    let report = dump.read();
    assert_eq!(report.reason(), "Unhandled interrupt/Unknown cause");
    let p4 = report.with_p4_extra(true);
    assert_eq!(p4.reason(), "Load page fault");
    assert!(p4.to_string().contains("MHARTID : 0x00000000 \nLDPC0   : 0x00000000 LDTVAL0 : 0x00000000"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 4 } else { 512 }, ..ProptestConfig::default() })]

    /// Any bytes decode and print without panicking, with bounded lengths.
    #[test]
    fn the_decoder_accepts_any_bytes(raw in proptest::collection::vec(any::<u8>(), 0..DUMP_SIZE + 64), p4 in any::<bool>()) {
        let r = PanicReport::decode(&raw).with_p4_extra(p4);
        prop_assert!(r.message().len() <= 248);
        prop_assert!(r.stack().len() <= 1024);
        let text = r.to_string();
        prop_assert!(text.ends_with("ELF file SHA256: No SHA256 Embedded\n"));
    }
}

/// A core control that records what happens.
#[derive(Default)]
struct FakeCore {
    running: Option<u32>,
    starts: u32,
}
impl CoreControl for FakeCore {
    type Error = ();
    fn start(&mut self, entry: u32) -> Result<(), ()> {
        self.running = Some(entry);
        self.starts += 1;
        Ok(())
    }
    fn stop(&mut self) {
        self.running = None;
    }
}

struct Line(AtomicU32);
impl InterruptLine for Line {
    fn raise(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn clear(&self) {}
    fn enable(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
    fn disable(&self) {
        self.0.store(u32::MAX, Ordering::SeqCst);
    }
}

fn image(entry: u32, segments: &[(u32, &[u8])]) -> Vec<u8> {
    common::esp_image(entry, 13, segments)
}

#[test]
fn load_start_panic_report_reload_restart() {
    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
    let target = LoadTarget::for_layout(&layout);
    let hp = layout.subcore_hp.unwrap();
    let rtc = target.rtc_clear.unwrap();
    let (mut hp_ram, mut rtc_ram) = (vec![0u8; hp.len() as usize], vec![0u8; rtc.len() as usize]);
    let mut given = Vec::new();
    let mut give = |r: Region| given.push(r);
    let mem = WindowMemory::new([(hp.start, &mut hp_ram[..]), (rtc.start, &mut rtc_ram[..])]);
    let mut port = ImagePort::new(FakeCore::default(), mem, target).give_back_unused(&mut give);
    // The port on its own (no `Subcore` in front): starting before a load says so.
    assert_eq!(SubcorePort::start(&mut port), Err(ImagePortError::NotLoaded));
    let mut dump_words = dump_mem();
    let dump = dump_of(&mut dump_words);
    dump.write_abort(format_args!("stale from a cold boot"));
    let mut sub = SubcoreHandle::new(port).with_panic_dump(dump);

    let fw = image(0x5000_0080, &[(0x5000_0080, &[0x6f, 0, 0, 0]), (hp.start, &[1; 0x200])]);
    assert!(matches!(sub.start(), Err(LifecycleError::NotLoaded(State::Empty))));
    sub.load(&fw).unwrap();
    sub.start().unwrap();
    assert_eq!(sub.port_mut().control().running, Some(0x5000_0080));
    assert!(!dump.read().is_abort(), "start cleared the stale dump");

    // The subcore panics: it writes the dump and raises id 28.
    let monitor = PanicMonitor::new(Line(AtomicU32::new(0)));
    assert!(!sub.handle_panic(&monitor, |_| unreachable!()));
    dump.write_abort(format_args!("panic on subcore: boom at src/main.rs:9"));
    monitor.on_sw_intr(SwIntrId::PANIC);
    assert!(monitor.panicked());
    let mut reported = String::new();
    assert!(sub.handle_panic(&monitor, |r| reported = r.to_string()));
    assert!(reported.starts_with("panic on subcore: boom at src/main.rs:9\n"));
    assert_eq!(sub.state(), State::Panicked);
    assert_eq!(sub.port_mut().control().running, None, "stopped");
    assert!(matches!(sub.start(), Err(LifecycleError::NotLoaded(State::Panicked))));

    // Reload (the same image fits below what went back to the heap), restart.
    sub.load(&fw).unwrap();
    monitor.rearm();
    sub.start().unwrap();
    assert_eq!(sub.starts(), 2);
    // A bigger image would need heap memory back: refused, nothing started.
    let big = image(0x5000_0080, &[(0x5000_0080, &[0; 4]), (hp.start, &[1; 0x300])]);
    assert!(matches!(sub.load(&big), Err(LifecycleError::Port(ImagePortError::Load(_)))));
    assert!(matches!(sub.start(), Err(LifecycleError::NotLoaded(State::Empty))));
    drop(sub);
    assert_eq!(given, [Region { start: hp.start + 0x200, end: hp.end }], "given back once");
}

#[test]
fn light_sleep_guards_nest_and_pulse_the_line_once() {
    let (mut hp, mut rtc) = (vec![0u32; 64], vec![0u32; 64]);
    // SAFETY: both vectors are aligned, valid and outlive the pools.
    let hp = unsafe { Shm::from_raw(hp.as_mut_ptr().cast(), 0x4087_A580, 256) };
    // SAFETY: as above.
    let rtc = unsafe { Shm::from_raw(rtc.as_mut_ptr().cast(), 0x5000_0F00, 256) };
    let mut sys = SysInfoAllocator::init(hp, Some(rtc)).unwrap();
    let main = LightSleep::create(&mut sys).unwrap();
    let line = Line(AtomicU32::new(0));
    let sub = SleepGuards::attach(&sys.info(), &line).unwrap();
    for _ in 0..300 {
        let _a = sub.enter();
        let _b = sub.enter();
        assert!(!main.may_sleep());
        assert_eq!(sub.depth(), 2);
    }
    assert!(main.may_sleep());
    assert_eq!(line.0.load(Ordering::SeqCst), 300, "one pulse per outermost entry, no u8 wrap");
    // The counter is the first byte of block 0xFF05 in the RTC pool.
    let block = sys.info().get(esp_amp::sys_info::SysInfoId(0xFF05), esp_amp::sys_info::Pool::Rtc).unwrap();
    assert_eq!(block.size(), 4);
    let _g = sub.enter();
    assert_eq!(block.shm().read_u32(block.addr()).unwrap(), 1);
}
