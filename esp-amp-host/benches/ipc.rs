//! IPC benchmarks on the host port: RPMsg throughput and round-trip latency between a
//! maincore and a subcore running as two threads and as two processes, next to a bare
//! atomic ping-pong (the limit of the machine) so results can be read as ratios.
//!
//! ```text
//! cargo bench -p esp-amp-host --features harness --bench ipc                      # the full table
//! cargo bench -p esp-amp-host --features harness --bench ipc -- stress 10000000   # checked run, N each way
//! cargo bench -p esp-amp-host --features harness --bench ipc -- throughput 64 Copy 1 # one cell (batch 0: callback)
//! cargo bench -p esp-amp-host --features harness --bench ipc -- latency Polling      # one cell
//! cargo bench -p esp-amp-host --features harness --bench ipc -- rpc 1                # RPC calls/s, 1 in flight
//! ESP_AMP_BENCH_MESSAGES=500000 cargo bench -p esp-amp-host --features harness --bench ipc
//! ```
//!
//! Numbers are printed as a Markdown table (docs/benchmarks.md holds a recorded run).

use std::hint::spin_loop;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::queue::{QueueError, QueueSpec};
use esp_amp::rpmsg::{Endpoint, Inbound, Receiver, Rpmsg, RpmsgError};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::{SysInfo, SysInfoAllocator};
use esp_amp::{MainCore, Role, SubCore};
use esp_amp_host::harness::traffic::pump;
use esp_amp_host::{spawn_subcore, HostCore, HostRegion, Side};

const QUEUE_LEN: u32 = 32;
const MAIN_EPT: u16 = 1;
const SUB_EPT: u16 = 2;
/// `spin_loop` hints per backoff (≈ a few hundred ns on current x86).
const BACKOFF_SPINS: u32 = 32;
/// The throughput sink's callback endpoint (batch 0).
const SINK_EPT: u16 = 3;
const CHILD_FLAG: &str = "--esp-amp-subcore";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Copy,
    ZeroCopy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    Polling,
    Interrupt,
}

/// What the subcore side runs.
#[derive(Debug, Clone, Copy)]
enum Job {
    /// Receive `count` messages, then answer "done".
    /// Receive `count` messages, giving them back `batch` at a time; then answer "done".
    Sink { count: u32, mode: Mode, batch: usize },
    /// Echo `count` messages.
    Echo { count: u32, wake: Wake },
    /// Checked traffic both ways.
    Stress { count: u32 },
}

impl Job {
    fn to_args(self) -> Vec<String> {
        match self {
            Job::Sink { count, mode, batch } => {
                vec!["sink".into(), count.to_string(), format!("{mode:?}"), batch.to_string()]
            }
            Job::Echo { count, wake } => vec!["echo".into(), count.to_string(), format!("{wake:?}")],
            Job::Stress { count } => vec!["stress".into(), count.to_string()],
        }
    }
    fn from_args(a: &[String]) -> Job {
        let count = a[1].parse().expect("count");
        match a[0].as_str() {
            "sink" => Job::Sink {
                count,
                mode: if a[2] == "Copy" { Mode::Copy } else { Mode::ZeroCopy },
                batch: a[3].parse().expect("batch"),
            },
            "echo" => {
                Job::Echo { count, wake: if a[2] == "Polling" { Wake::Polling } else { Wake::Interrupt } }
            }
            _ => Job::Stress { count },
        }
    }
    fn notifies(self) -> bool {
        !matches!(self, Job::Echo { wake: Wake::Polling, .. } | Job::Sink { .. })
    }
}

fn layout() -> MemoryLayout {
    // P4 allows the largest shared region (64 KiB): room for 32 × 520-byte buffers each way.
    let cfg = AmpConfig { hp_shared_mem_size: 65536, ..AmpConfig::default_for(Chip::Esp32P4) };
    MemoryLayout::new(Chip::Esp32P4, &cfg).expect("valid P4 configuration")
}

fn pin_to(cpu: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    let _ = rustix::thread::sched_setaffinity(None, &set);
}

fn backoff_spins() -> u32 {
    static SPINS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *SPINS.get_or_init(|| {
        std::env::var("ESP_AMP_BENCH_BACKOFF").ok().and_then(|v| v.parse().ok()).unwrap_or(BACKOFF_SPINS)
    })
}

/// A polling loop that found nothing to do waits a little before it looks again, so it
/// does not pull the descriptor line away from the other core on every spin.
fn backoff() {
    for _ in 0..backoff_spins() {
        spin_loop();
    }
}

/// Sends `data` (copy), spinning while the queue is full.
fn send_spin<R: Role>(dev: &Rpmsg<'_, R>, ept: Endpoint, dst: u16, data: &[u8]) {
    loop {
        match dev.send(ept, dst, data) {
            Ok(()) => return,
            Err(RpmsgError::Queue(QueueError::Full)) => spin_loop(),
            Err(e) => panic!("send: {e}"),
        }
    }
}

/// The subcore side of every job, over an attached device.
fn run_sub(dev: &Rpmsg<'_, SubCore>, core: &HostCore<'_>, job: Job) {
    let ept = dev.create_endpoint(SUB_EPT, Receiver::Mailbox).unwrap();
    if !matches!(job, Job::Sink { .. }) {
        send_spin(dev, ept, MAIN_EPT, b"ready");
    }
    match job {
        Job::Sink { count, mode, batch: 0 } => {
            // C-style dispatch: a callback endpoint and `dispatch`. (A callback must live
            // as long as the device's region, hence a fn item and statics.)
            static EXPECTED: AtomicU32 = AtomicU32::new(0);
            static COPY_OUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
            fn on_msg(m: Inbound<'_>) {
                let seq = u32::from_le_bytes(m.data.read_array::<4>(0).unwrap());
                assert_eq!(seq, EXPECTED.load(Ordering::Relaxed), "lost or reordered");
                thread_local! {
                    static LOCAL: std::cell::RefCell<[u8; 512]> = const { std::cell::RefCell::new([0; 512]) };
                }
                if COPY_OUT.load(Ordering::Relaxed) {
                    LOCAL.with_borrow_mut(|local| {
                        m.data.copy_to(&mut local[..]);
                        std::hint::black_box(local);
                    });
                }
                EXPECTED.store(seq + 1, Ordering::Relaxed);
            }
            EXPECTED.store(0, Ordering::Relaxed);
            COPY_OUT.store(mode == Mode::Copy, Ordering::Relaxed);
            let expected = &EXPECTED;
            let sink = dev.create_endpoint(SINK_EPT, Receiver::Callback(&on_msg)).unwrap();
            send_spin(dev, ept, MAIN_EPT, b"ready");
            while expected.load(Ordering::Relaxed) < count {
                if dev.dispatch() == 0 {
                    backoff();
                }
            }
            dev.delete_endpoint(sink).unwrap();
            send_spin(dev, ept, MAIN_EPT, b"done");
        }
        Job::Sink { count, mode, batch } => {
            send_spin(dev, ept, MAIN_EPT, b"ready");
            let mut local = [0u8; 512];
            let mut expected = 0u32;
            // Messages are guards: keeping a few and giving them back together writes the
            // shared descriptor line once per batch instead of once per message
            // (`batch` 1: each is given back at once).
            let mut held = Vec::with_capacity(batch);
            while expected < count {
                if let Some(msg) = dev.try_recv(ept) {
                    let seq = u32::from_le_bytes(msg.bytes().read_array::<4>(0).unwrap());
                    assert_eq!(seq, expected, "lost or reordered");
                    if mode == Mode::Copy {
                        msg.bytes().copy_to(&mut local);
                    }
                    expected += 1;
                    if batch <= 1 {
                        drop(msg); // not through the Vec: measure the library, not it
                    } else {
                        held.push(msg);
                        if held.len() >= batch {
                            held.clear();
                        }
                    }
                } else {
                    held.clear();
                    backoff();
                }
            }
            drop(held);
            std::hint::black_box(&local);
            send_spin(dev, ept, MAIN_EPT, b"done");
        }
        Job::Echo { count, wake } => {
            for _ in 0..count {
                let msg = match wake {
                    Wake::Polling => loop {
                        if let Some(m) = dev.try_recv(ept) {
                            break m;
                        }
                        spin_loop();
                    },
                    Wake::Interrupt => dev.recv_timeout(ept, core, Some(5000)).expect("echo timed out"),
                };
                let out = msg.bytes().read_array::<8>(0).unwrap();
                // Reply first, give the request back after: the free is off the critical path.
                send_spin(dev, ept, MAIN_EPT, &out);
                drop(msg);
            }
        }
        Job::Stress { count } => {
            pump(dev, ept, MAIN_EPT, core, count, 2, 1, 30_000).unwrap_or_else(|e| panic!("subcore: {e}"));
        }
    }
}

/// Runs the subcore side in this process when started as a child.
fn child_main(args: &[String]) {
    pin_to(1);
    let job = Job::from_args(args);
    let region = HostRegion::open_from_env().unwrap();
    let core = HostCore::new(&region, Side::Sub);
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), &core).unwrap();
    let mut dev: Rpmsg<'_, SubCore> = Rpmsg::attach(&info).unwrap();
    if job.notifies() {
        dev.notify_with(&sw);
    }
    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        run_sub(&dev, &core, job);
    });
}

/// The maincore side of one measurement. Returns what `measure` returned.
fn with_pair<T>(
    item_size: u32,
    job: Job,
    processes: bool,
    measure: impl FnOnce(&Rpmsg<'_, MainCore>, Endpoint, &HostCore<'_>) -> T,
) -> T {
    let region = HostRegion::create(&layout()).unwrap();
    let core = HostCore::new(&region, Side::Main);
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), &core).unwrap();
    let mut dev: Rpmsg<'_, MainCore> =
        Rpmsg::create(&mut sys, QueueSpec::new(QUEUE_LEN, item_size).unwrap()).unwrap();
    if job.notifies() {
        dev.notify_with(&sw);
    }
    let ept = dev.create_endpoint(MAIN_EPT, Receiver::Mailbox).unwrap();
    pin_to(0);
    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        let mut child = None;
        if processes {
            let exe = std::env::current_exe().unwrap();
            let mut cmd = Command::new(exe);
            cmd.arg(CHILD_FLAG).args(job.to_args());
            child = Some(spawn_subcore(&mut cmd, &region).unwrap());
        } else {
            let region = &region;
            s.spawn(move || {
                pin_to(1);
                let sub_core = HostCore::new(region, Side::Sub);
                let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
                let sub_sw: SwIntr<'_, SubCore, _> =
                    SwIntr::attach(region.sw_intr_header(), &sub_core).unwrap();
                let mut sub: Rpmsg<'_, SubCore> = Rpmsg::attach(&info).unwrap();
                if job.notifies() {
                    sub.notify_with(&sub_sw);
                }
                std::thread::scope(|s2| {
                    let _irq = sub_core.spawn_interrupts(s2, || {
                        sub_sw.isr();
                    });
                    run_sub(&sub, &sub_core, job);
                });
            });
        }
        let ready = recv_spin(&dev, ept);
        assert_eq!(ready.bytes(), b"ready");
        drop(ready);
        let out = measure(&dev, ept, &core);
        if let Some(mut c) = child {
            assert!(c.wait().unwrap().success(), "subcore process failed");
        }
        out
    })
}

fn recv_spin<'d, 'r>(dev: &'d Rpmsg<'r, MainCore>, ept: Endpoint) -> esp_amp::rpmsg::Message<'d, 'r> {
    loop {
        if let Some(m) = dev.try_recv(ept) {
            return m;
        }
        spin_loop();
    }
}

struct Throughput {
    msgs_per_s: f64,
    mb_per_s: f64,
}

fn throughput(payload: usize, mode: Mode, batch: usize, count: u32, processes: bool) -> Throughput {
    let item = (payload + 8) as u32;
    let dst = if batch == 0 { SINK_EPT } else { SUB_EPT };
    let elapsed = with_pair(item, Job::Sink { count, mode, batch }, processes, |dev, ept, _| {
        let mut data: Vec<u8> = (0..payload).map(|i| i as u8).collect();
        let start = Instant::now();
        let mut seq = 0u32;
        while seq < count {
            match mode {
                Mode::Copy => {
                    data[..4].copy_from_slice(&seq.to_le_bytes());
                    match dev.send(ept, dst, &data) {
                        Ok(()) => seq += 1,
                        Err(RpmsgError::Queue(QueueError::Full)) => backoff(),
                        Err(e) => panic!("{e}"),
                    }
                }
                Mode::ZeroCopy => match dev.alloc() {
                    Ok(mut m) => {
                        m.bytes_mut().write(0, &seq.to_le_bytes()).unwrap();
                        m.send(ept, dst, payload).unwrap();
                        seq += 1;
                    }
                    Err(RpmsgError::Queue(QueueError::Full)) => backoff(),
                    Err(e) => panic!("{e}"),
                },
            }
        }
        let done = recv_spin(dev, ept);
        assert_eq!(done.bytes(), b"done");
        start.elapsed()
    });
    let secs = elapsed.as_secs_f64();
    Throughput { msgs_per_s: count as f64 / secs, mb_per_s: count as f64 * payload as f64 / secs / 1e6 }
}

struct Latency {
    median: Duration,
    p99: Duration,
}

fn percentiles(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Latency { median: at(0.5), p99: at(0.99) }
}

fn latency(wake: Wake, count: u32, processes: bool) -> Latency {
    let samples = with_pair(16, Job::Echo { count, wake }, processes, |dev, ept, core| {
        let mut samples = Vec::with_capacity(count as usize);
        let mut previous = None;
        for i in 0..count {
            let mut out = [0u8; 8];
            out[..4].copy_from_slice(&i.to_le_bytes());
            let t = Instant::now();
            send_spin(dev, ept, SUB_EPT, &out);
            // Give the previous reply back only now: its descriptor write would otherwise
            // sit in front of this send's (stores become visible in order on x86).
            drop(previous.take());
            let back = match wake {
                Wake::Polling => recv_spin(dev, ept),
                Wake::Interrupt => dev.recv_timeout(ept, core, Some(5000)).expect("reply timed out"),
            };
            samples.push(t.elapsed());
            assert_eq!(back.bytes().read_array::<4>(0), Some(i.to_le_bytes()));
            previous = Some(back);
        }
        drop(previous);
        samples
    });
    percentiles(samples)
}

/// Two threads bounce one atomic word: the round trip of a cache line between two cores.
fn atomic_ping_pong(count: u32) -> Latency {
    #[repr(align(128))]
    struct Line(AtomicU32);
    let line = Line(AtomicU32::new(0));
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            pin_to(1);
            start.wait();
            for i in 0..count {
                while line.0.load(Ordering::Acquire) != 2 * i + 1 {
                    spin_loop();
                }
                line.0.store(2 * i + 2, Ordering::Release);
            }
        });
        pin_to(0);
        start.wait();
        let mut samples = Vec::with_capacity(count as usize);
        for i in 0..count {
            let t = Instant::now();
            line.0.store(2 * i + 1, Ordering::Release);
            while line.0.load(Ordering::Acquire) != 2 * i + 2 {
                spin_loop();
            }
            samples.push(t.elapsed());
        }
        percentiles(samples)
    })
}

/// Send and receive in one thread, 16 at a time: the CPU cost of the code itself, with no
/// cache line moving between cores.
fn cpu_cost(count: u32) -> Duration {
    let region = HostRegion::create(&layout()).unwrap();
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let main: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(QUEUE_LEN, 72).unwrap()).unwrap();
    let sub: Rpmsg<'_, SubCore> = Rpmsg::attach(&sys.info()).unwrap();
    let e = main.create_endpoint(MAIN_EPT, Receiver::Mailbox).unwrap();
    let s = sub.create_endpoint(SUB_EPT, Receiver::Mailbox).unwrap();
    let data = [7u8; 64];
    let mut out = [0u8; 64];
    let start = Instant::now();
    for _ in 0..count / 16 {
        for _ in 0..16 {
            main.send(e, SUB_EPT, &data).unwrap();
        }
        for _ in 0..16 {
            sub.try_recv(s).unwrap().bytes().copy_to(&mut out);
        }
    }
    std::hint::black_box(&out);
    start.elapsed() / (count / 16 * 16)
}

/// RPC calls per second between two pinned threads, polling: `in_flight` calls kept
/// outstanding (8-byte request, 4-byte response), the server thread polling its endpoint.
/// Both loops spin without backing off, as in the latency cells (a call is latency-bound).
fn rpc_calls(count: u32, in_flight: usize) -> f64 {
    use esp_amp::rpc::{Reply, Request, RpcClient, RpcServer, Status};
    use std::collections::VecDeque;
    use std::sync::atomic::AtomicBool;
    const CMD: u16 = 1;
    let region = HostRegion::create(&layout()).unwrap();
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let main: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(QUEUE_LEN, 32).unwrap()).unwrap();
    let info = sys.info();
    let done = AtomicBool::new(false);
    let ready = Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            pin_to(1);
            let sub: Rpmsg<'_, SubCore> = Rpmsg::attach(&info).unwrap();
            let add = |req: &Request<'_>, mut resp: esp_amp::payload::PeerBytesMut<'_>| {
                let d = req.data();
                let sum = u32::from_le_bytes([d[0], d[1], d[2], d[3]])
                    .wrapping_add(u32::from_le_bytes([d[4], d[5], d[6], d[7]]));
                resp.write(0, &sum.to_le_bytes()).unwrap();
                Reply::ok(4)
            };
            let mut rq = [0u8; 16];
            let mut server: RpcServer<'_, 1> = RpcServer::new(&sub, SUB_EPT, &mut rq).unwrap();
            server.add_service(CMD, &add).unwrap();
            ready.wait();
            while !done.load(Ordering::Relaxed) {
                if server.try_serve(&sub) == 0 {
                    spin_loop();
                }
            }
        });
        pin_to(0);
        let client: RpcClient<'_, 32> = RpcClient::new(&main, MAIN_EPT, SUB_EPT).unwrap();
        ready.wait();
        let start = Instant::now();
        let mut calls = VecDeque::new();
        let mut sent = 0u32;
        let mut answered = 0u32;
        while answered < count {
            while sent < count && calls.len() < in_flight {
                let mut req = [0u8; 8];
                req[..4].copy_from_slice(&sent.to_le_bytes());
                req[4..].copy_from_slice(&1u32.to_le_bytes());
                calls.push_back((sent, client.call(&main, CMD, &req).unwrap()));
                sent += 1;
            }
            let (i, call) = calls.front_mut().unwrap();
            match call.try_response(&main) {
                Some(r) => {
                    assert!(r.status() == Status::OK && r.bytes() == (*i + 1).to_le_bytes());
                    drop(r);
                    calls.pop_front();
                    answered += 1;
                }
                None => spin_loop(),
            }
        }
        let rate = f64::from(count) / start.elapsed().as_secs_f64();
        done.store(true, Ordering::Relaxed);
        rate
    })
}

fn stress(count: u32) {
    let t = Instant::now();
    let (totals, stats) = with_pair(128, Job::Stress { count }, true, |dev, ept, core| {
        let totals =
            pump(dev, ept, SUB_EPT, core, count, 1, 2, 30_000).unwrap_or_else(|e| panic!("maincore: {e}"));
        (totals, dev.stats())
    });
    let secs = t.elapsed().as_secs_f64();
    println!(
        "checked stress, two processes, queue length {QUEUE_LEN}, item 128 bytes, random lengths 8..=120:"
    );
    println!("  each way: sent {} received {} (in order, checksums verified)", totals.sent, totals.received);
    println!(
        "  maincore counters: sent {} delivered {} dropped (unknown {}, bad length {}) queue faults {}",
        stats.sent, stats.delivered, stats.dropped_unknown, stats.dropped_bad_len, stats.queue_faults
    );
    println!("  {:.1} s, {:.2} M messages/s both ways together", secs, 2.0 * count as f64 / secs / 1e6);
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {}", kernel.trim())
}

fn ns(d: Duration) -> String {
    format!("{:.0} ns", d.as_nanos() as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_FLAG) {
        return child_main(&args[i + 1..]);
    }
    if args.first().map(String::as_str) == Some("throughput") {
        // One cell: `throughput PAYLOAD Copy|ZeroCopy BATCH [processes]` (for profiling);
        // BATCH 0 = callback endpoint and `dispatch`.
        let payload = args.get(1).map_or(64, |p| p.parse().expect("payload"));
        let mode =
            if args.get(2).map(String::as_str) == Some("ZeroCopy") { Mode::ZeroCopy } else { Mode::Copy };
        let batch = args.get(3).map_or(1, |b| b.parse().expect("batch"));
        let processes = args.get(4).map(String::as_str) == Some("processes");
        let count =
            std::env::var("ESP_AMP_BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000_000);
        let t = throughput(payload, mode, batch, count, processes);
        println!(
            "{mode:?} {payload} B, give back {batch}: {:.2} M msg/s, {:.0} MB/s",
            t.msgs_per_s / 1e6,
            t.mb_per_s
        );
        return;
    }
    if args.first().map(String::as_str) == Some("latency") {
        // One cell: `latency Polling|Interrupt [processes]`, against the atomic ping-pong.
        let wake = if args.get(1).map(String::as_str) == Some("Interrupt") {
            Wake::Interrupt
        } else {
            Wake::Polling
        };
        let processes = args.get(2).map(String::as_str) == Some("processes");
        let atomic = atomic_ping_pong(100_000);
        let l = latency(wake, 100_000, processes);
        println!(
            "{wake:?}: median {} p99 {} ({:.2}× the atomic round trip, {})",
            ns(l.median),
            ns(l.p99),
            l.median.as_secs_f64() / atomic.median.as_secs_f64(),
            ns(atomic.median)
        );
        return;
    }
    if args.first().map(String::as_str) == Some("rpc") {
        // One cell: `rpc IN_FLIGHT`, RPC calls per second between two threads.
        let in_flight = args.get(1).map_or(1, |c| c.parse().expect("in flight"));
        let count =
            std::env::var("ESP_AMP_BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
        println!("RPC, {in_flight} in flight: {:.0} calls/s", rpc_calls(count, in_flight));
        return;
    }
    if args.first().map(String::as_str) == Some("cpu") {
        // One cell: the single-thread cost (for profiling the code path itself).
        let count = args.get(1).map_or(20_000_000, |c| c.parse().expect("count"));
        println!("one thread, 64-byte copy send + mailbox receive: {} per message", ns(cpu_cost(count)));
        return;
    }
    if args.first().map(String::as_str) == Some("stress") {
        let count = args.get(1).map_or(10_000_000, |c| c.parse().expect("count"));
        return stress(count);
    }
    let count: u32 =
        std::env::var("ESP_AMP_BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000_000);
    let rtts = (count / 20).max(1000);
    println!("machine: {}", machine());
    println!(
        "queue length {QUEUE_LEN}, {count} messages per throughput run, {rtts} round trips per latency run\n"
    );

    println!(
        "| one thread, 64-byte copy send + mailbox receive | {} per message (both sides' code, no cross-core traffic) |\n",
        ns(cpu_cost(count))
    );
    let atomic = atomic_ping_pong(rtts);
    println!(
        "| bare atomic ping-pong (threads) | round trip median {} | p99 {} |\n",
        ns(atomic.median),
        ns(atomic.p99)
    );

    println!(
        "| one-way throughput | receiver | payload | threads: M msg/s | MB/s | processes: M msg/s | MB/s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let cells = [
        (Mode::Copy, 1),
        (Mode::Copy, 8),
        (Mode::Copy, 0),
        (Mode::ZeroCopy, 1),
        (Mode::ZeroCopy, 8),
        (Mode::ZeroCopy, 0),
    ];
    for (mode, batch) in cells {
        for payload in [8usize, 64, 512] {
            let t = throughput(payload, mode, batch, count, false);
            let p = throughput(payload, mode, batch, count, true);
            let back = match batch {
                0 => "callback, `dispatch`".to_owned(),
                1 => "mailbox, each at once".to_owned(),
                b => format!("mailbox, {b} at a time"),
            };
            println!(
                "| {mode:?} | {back} | {payload} B | {:.2} | {:.0} | {:.2} | {:.0} |",
                t.msgs_per_s / 1e6,
                t.mb_per_s,
                p.msgs_per_s / 1e6,
                p.mb_per_s
            );
        }
    }
    println!();
    println!(
        "| round trip (8-byte payload) | threads: median | p99 | median / atomic | processes: median | p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for wake in [Wake::Polling, Wake::Interrupt] {
        let n = if wake == Wake::Polling { rtts } else { rtts.min(20_000) };
        let t = latency(wake, n, false);
        let p = latency(wake, n, true);
        println!(
            "| {wake:?} | {} | {} | {:.2}× | {} | {} |",
            ns(t.median),
            ns(t.p99),
            t.median.as_secs_f64() / atomic.median.as_secs_f64(),
            ns(p.median),
            ns(p.p99)
        );
    }
    println!();
    println!("| RPC calls (8-byte request, 4-byte response, threads, polling) | calls/s | µs per call |");
    println!("|---|---:|---:|");
    for in_flight in [1, 8] {
        let rate = rpc_calls(rtts, in_flight);
        println!("| {in_flight} in flight | {rate:.0} | {:.2} |", 1e6 / rate);
    }
}
