//! The host simulator demo: maincore here, subcore as a child process of the same binary.
//!
//! Step protocol: the subcore acknowledges each step by notifying a bit of `EVENT_SUB`;
//! the maincore waits for that bit before starting the next step.

use std::error::Error;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use esp_amp::event::{DefaultEvents, Events, WaitFor};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::port::InterruptLine;
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::{RpcClient, Status};
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoId};
use esp_amp::system::lifecycle::SubcoreHandle;
use esp_amp::system::panic::{PanicDump, PanicMonitor, PanicSink};
use esp_amp::system::print::{set_global, Printer};
use esp_amp::system::service::{self, Supplicant};
use esp_amp::{MainCore, SubCore};
use esp_amp_host::harness::rpc_example::{cmd, run_client, run_server, CLIENT_EPT, SERVER_EPT};
use esp_amp_host::subcore::{install_panic_hook, HostFirmware, ProcessPort};
use esp_amp_host::{HostCore, HostRegion, Side};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const PERSON_ID: SysInfoId = SysInfoId(0x0001);
const STATS_ID: SysInfoId = SysInfoId(0x0002);
const ACK_SW_INTR: u32 = 1 << 0;
const ACK_WAIT_ALL: u32 = 1 << 1;
const ACK_WAIT_ANY: u32 = 1 << 2;
const ACK_TIMEOUT: u32 = 1 << 3;
const STEP_TIMEOUT: Option<u32> = Some(5000);
const MAIN_EPT: u16 = 0x10;
const ECHO_EPT: u16 = 0x20;
const GREETINGS: [&str; 3] = ["hello, subcore", "zero-copy works too", "bye"];
/// Rounds of the RPC example client after the demo's own calls.
const RPC_ROUNDS: u32 = 20;
/// Lines the subcore prints through the supplicant before it panics.
const SUB_LINES: [&str; 3] =
    ["hello from the subcore, through the service queue", "2 + 2 = 4", "about to panic on purpose"];
const PANIC_MESSAGE: &str = "demo: the subcore gives up on purpose";
/// Messages echoed after the restart.
const AFTER_RESTART: [&str; 3] = ["still there?", "rpmsg after a restart", "good"];
/// Prefix of the subcore's routed print lines on the maincore console.
const SUB_PREFIX: &str = "[subcore]";

macro_rules! main_log { ($($t:tt)*) => { println!("main | {}", format_args!($($t)*)) } }
macro_rules! sub_log { ($($t:tt)*) => { println!("      sub  | {}", format_args!($($t)*)) } }

fn check(ok: bool, what: &str, failures: &AtomicU32) {
    if ok {
        main_log!("  ok: {what}");
    } else {
        main_log!("  FAILED: {what}");
        failures.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn run_maincore(chip: Chip) -> Result<()> {
    let layout = MemoryLayout::new(chip, &AmpConfig::default_for(chip))?;
    main_log!("esp-amp host demo on a simulated {} (maincore pid {})", chip.name(), std::process::id());
    main_log!(
        "shared region 0x{:08x}..0x{:08x} ({} bytes), SysInfo pool at 0x{:08x}",
        layout.shared.start,
        layout.shared.end,
        layout.shared.len(),
        layout.sys_info_pool.start
    );
    let region = HostRegion::create(&layout)?;
    let core = HostCore::new(&region, Side::Main);

    let exe = std::env::current_exe()?;
    let mut sub =
        SubcoreHandle::new(ProcessPort::new(&region)).with_panic_dump(PanicDump::new(region.panic_dump())?);
    let failures = AtomicU32::new(0);
    first_life(&region, &core, &mut sub, &exe, &failures)?;
    second_life(&region, &core, &mut sub, &exe, &failures)?;
    match failures.load(Ordering::SeqCst) {
        0 => {
            main_log!("  all steps passed");
            Ok(())
        }
        n => Err(format!("{n} check(s) failed").into()),
    }
}

type Sub<'r> = SubcoreHandle<'r, ProcessPort<'r>>;

/// Steps 1–9: the subcore's first run, which ends in its panic.
fn first_life(
    region: &HostRegion,
    core: &HostCore<'_>,
    sub: &mut Sub<'_>,
    exe: &std::path::Path,
    failures: &AtomicU32,
) -> Result<()> {
    // 1. Everything shared is set up before the subcore starts, as on the chip.
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool())?;
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), core)?;
    let ev = DefaultEvents::create(&mut sys)?;
    let person = sys.alloc(PERSON_ID, 20, Pool::Hp)?;
    let mut bytes = [0u8; 20];
    bytes[..5].copy_from_slice(b"Alice");
    bytes[16..].copy_from_slice(&30u32.to_le_bytes());
    person.shm().write_bytes(person.addr(), &bytes)?;
    let stats = sys.alloc(STATS_ID, 16, Pool::Hp)?;
    stats.shm().fill(stats.addr(), 16, 0)?;
    main_log!("SysInfo entries:");
    for e in sys.info().entries(Pool::Hp)? {
        let e = e?;
        main_log!("  id 0x{:04x}  size {:>3}  payload at 0x{:08x}", e.id().0, e.size(), e.addr());
    }

    let mut rpmsg: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(8, 64)?)?;
    rpmsg.notify_with(&sw);
    let ept = rpmsg.create_endpoint(MAIN_EPT, Receiver::Mailbox)?;
    main_log!("RPMsg device 0xff03: 2 × 8 buffers of 64 bytes, endpoint 0x{MAIN_EPT:x}");

    let supplicant = Supplicant::create(&mut sys)?;
    let monitor = PanicMonitor::new(core);
    sw.add_handler(SwIntrId::PANIC, &monitor).map_err(|_| "handler table full")?;
    main_log!("supplicant: service queue 0xff04 (16 × 128 bytes); panic handler on software interrupt 28");

    let events: Events<'_, _> = Events::new(&sw, core);
    sw.add_handler(SwIntrId::EVENT, &events).map_err(|_| "handler table full")?;
    let echoes = AtomicU32::new(0);
    let on_echo = |id: SwIntrId| {
        main_log!("  <- software interrupt {} from the subcore", id.get());
        echoes.fetch_add(1, Ordering::SeqCst);
    };
    for n in 4..8 {
        sw.add_handler(SwIntrId::user(n).unwrap(), &on_echo).map_err(|_| "handler table full")?;
    }

    sub.load(&HostFirmware::new(exe).arg("demo-subcore"))?;
    sub.start()?;
    main_log!("subcore loaded and started (process {})", sub.port().pid().unwrap_or(0));
    let printed = AtomicU32::new(0);
    let stop_drain = std::sync::atomic::AtomicBool::new(false);
    let acks = ev.incoming::<MainCore>();
    let ack = |bit: u32| events.wait_timeout(&acks, bit, WaitFor::All, true, STEP_TIMEOUT).is_ok();

    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        let (p, stop) = (&printed, &stop_drain);
        s.spawn(move || drain(&supplicant, p, stop));

        main_log!("");
        main_log!("step 1: software interrupts both ways (subcore echoes id n as n + 4)");
        for n in 0..4 {
            main_log!("  -> software interrupt {n}");
            sw.trigger(SwIntrId::user(n).unwrap());
        }
        check(ack(ACK_SW_INTR), "subcore handled ids 0..3", failures);
        let start = Instant::now();
        while echoes.load(Ordering::SeqCst) < 4 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        check(echoes.load(Ordering::SeqCst) == 4, "all 4 echoes arrived", failures);

        main_log!("");
        main_log!("step 2: wait-all: the subcore waits for bits 0x3 of EVENT_MAIN; they come 100 ms apart");
        let tx = ev.outgoing::<MainCore>();
        main_log!("  notify 0x1 (bits before: 0x{:x})", events.notify(&tx, 0x1));
        std::thread::sleep(Duration::from_millis(100));
        main_log!("  notify 0x2 (bits before: 0x{:x})", events.notify(&tx, 0x2));
        check(ack(ACK_WAIT_ALL), "subcore's wait-all completed", failures);

        main_log!("");
        main_log!("step 3: wait-any: the subcore waits for any of 0xC; we set 0x8");
        events.notify(&tx, 0x8);
        check(ack(ACK_WAIT_ANY), "subcore's wait-any completed", failures);

        main_log!("");
        main_log!("step 4: timeout: the subcore waits 200 ms for 0x10, which never comes");
        check(ack(ACK_TIMEOUT), "subcore's wait timed out as expected", failures);

        main_log!("");
        main_log!("step 5: RPMsg echo: endpoint 0x{MAIN_EPT:x} -> 0x{ECHO_EPT:x}, the subcore answers in upper case");
        for (i, text) in GREETINGS.iter().enumerate() {
            let sent = if i == 1 {
                // Zero-copy: build the payload in the shared buffer itself.
                rpmsg.alloc().and_then(|mut msg| {
                    // `write` is all or nothing: a greeting too long is sent empty.
                    let len = msg.bytes_mut().write(0, text.as_bytes()).map_or(0, |()| text.len());
                    msg.send(ept, ECHO_EPT, len)
                })
            } else {
                rpmsg.send(ept, ECHO_EPT, text.as_bytes())
            };
            main_log!("  -> {text:?}");
            check(sent.is_ok(), "message sent", failures);
            match rpmsg.recv_timeout(ept, core, STEP_TIMEOUT) {
                Ok(reply) => {
                    let reply_text = String::from_utf8_lossy(&copy_out(reply.bytes())).into_owned();
                    main_log!("  <- {reply_text:?} from 0x{:x}", reply.src());
                    check(
                        reply_text == text.to_uppercase() && reply.src() == ECHO_EPT,
                        "echo matches",
                        failures,
                    );
                }
                Err(e) => check(false, &format!("echo arrived ({e})"), failures),
            }
        }

        main_log!("");
        main_log!("step 6: RPC, maincore client -> subcore server (endpoint 0x{SERVER_EPT:04x})");
        rpc_calls(&rpmsg, core, failures);
        match run_client(&rpmsg, core, RPC_ROUNDS, 5000) {
            Ok(r) => check(
                true,
                &format!(
                    "{} more calls answered and checked, up to {} in flight",
                    r.checked, r.max_in_flight
                ),
                failures,
            ),
            Err(e) => check(false, &format!("RPC client: {e}"), failures),
        }

        main_log!("");
        main_log!("step 7: RPC, subcore client -> maincore server");
        // The subcore starts calling once its server saw STOP; nothing polls this device
        // between the client's STOP and the server's endpoint, so no request is missed.
        let log = |text: &str| main_log!("  server log: {text}");
        match run_server(&rpmsg, core, 5000, &log) {
            Ok(s) => check(
                s.responses == RPC_ROUNDS * 5 + 1,
                &format!(
                    "served {} requests ({} one-way, {} unknown command)",
                    s.requests, s.one_way, s.invalid_cmd
                ),
                failures,
            ),
            Err(e) => check(false, &format!("RPC server: {e}"), failures),
        }

        let st = rpmsg.stats();
        check(
            st.dropped_unknown + st.dropped_bad_len + st.queue_faults == 0,
            "no dropped messages",
            failures,
        );

        main_log!("");
        main_log!("step 8: print routing: the subcore's println! lines arrive through the supplicant");
        wait_for(|| printed.load(Ordering::SeqCst) >= SUB_LINES.len() as u32);
        check(
            printed.load(Ordering::SeqCst) == SUB_LINES.len() as u32,
            "all subcore lines printed",
            failures,
        );

        main_log!("");
        main_log!(
            "step 9: the subcore panics; software interrupt 28 disables the line, we stop it and report"
        );
        wait_for(|| monitor.panicked());
        let mut report_ok = false;
        let handled = sub.handle_panic(&monitor, |report| {
            for line in report.to_string().lines() {
                main_log!("  | {line}");
            }
            report_ok =
                report.is_abort() && String::from_utf8_lossy(report.message()).contains(PANIC_MESSAGE);
        });
        check(handled && report_ok, "panic detected, subcore stopped, report decoded", failures);
        stop_drain.store(true, Ordering::SeqCst);
    });

    let read = |i: u32| stats.shm().read_u32(stats.addr() + 4 * i).unwrap_or(0);
    check(read(3) == 0, "subcore saw no failures in its first run", failures);
    main_log!(
        "  maincore: raised the line {} times, handled {} interrupts",
        core.raised_count(),
        core.delivered_count()
    );
    main_log!("  subcore:  raised the line {} times, handled {} interrupts", read(0), read(1));
    Ok(())
}

/// Waits (up to the step timeout) for `cond`.
fn wait_for(cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() && start.elapsed() < Duration::from_millis(u64::from(STEP_TIMEOUT.unwrap_or(5000))) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Drains the supplicant until `stop`, printing each subcore line with [`SUB_PREFIX`].
fn drain(supplicant: &Supplicant<'_>, printed: &AtomicU32, stop: &std::sync::atomic::AtomicBool) {
    let mut print = |line: &[u8]| {
        // The subcore's bytes, escaped: a line cannot drive the terminal or fake ours.
        println!("{SUB_PREFIX} {}", esp_amp::text::Escaped(line));
        printed.fetch_add(1, Ordering::SeqCst);
    };
    while !stop.load(Ordering::SeqCst) {
        if supplicant.dispatch(&mut print) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    supplicant.dispatch(&mut print);
}

/// Step 10: after the panic, re-initialise the shared state as at boot, reload and restart
/// the subcore, and check that RPMsg traffic flows again.
fn second_life(
    region: &HostRegion,
    core: &HostCore<'_>,
    sub: &mut Sub<'_>,
    exe: &std::path::Path,
    failures: &AtomicU32,
) -> Result<()> {
    main_log!("");
    main_log!("step 10: recovery: re-initialise shared memory, reload and restart the subcore");
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool())?;
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), core)?;
    let supplicant = Supplicant::create(&mut sys)?;
    let monitor = PanicMonitor::new(core);
    sw.add_handler(SwIntrId::PANIC, &monitor).map_err(|_| "handler table full")?;
    let mut rpmsg: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(8, 64)?)?;
    rpmsg.notify_with(&sw);
    let ept = rpmsg.create_endpoint(MAIN_EPT, Receiver::Mailbox)?;
    sub.load(&HostFirmware::new(exe).arg("demo-subcore-restarted"))?;
    // The panic disabled our line; everything is fresh again, so take interrupts again.
    monitor.rearm();
    core.enable();
    sub.start()?;
    main_log!("  subcore restarted (process {}, start #{})", sub.port().pid().unwrap_or(0), sub.starts());
    let printed = AtomicU32::new(0);
    let stop_drain = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        let (p, stop) = (&printed, &stop_drain);
        s.spawn(move || drain(&supplicant, p, stop));
        let mut echoed = 0;
        for text in AFTER_RESTART {
            main_log!("  -> {text:?}");
            if let Err(e) = rpmsg.send(ept, ECHO_EPT, text.as_bytes()) {
                check(false, &format!("send after restart: {e}"), failures);
                continue;
            }
            match rpmsg.recv_timeout(ept, core, STEP_TIMEOUT) {
                Ok(reply) if reply.bytes() == text.to_uppercase().as_bytes() => {
                    main_log!("  <- {:?}", String::from_utf8_lossy(&copy_out(reply.bytes())));
                    echoed += 1;
                }
                Ok(reply) => {
                    main_log!("  <- unexpected {:?}", String::from_utf8_lossy(&copy_out(reply.bytes())))
                }
                Err(e) => main_log!("  no echo: {e}"),
            }
        }
        check(echoed == AFTER_RESTART.len(), "RPMsg traffic resumed after the restart", failures);
        wait_for(|| printed.load(Ordering::SeqCst) >= 1);
        check(printed.load(Ordering::SeqCst) >= 1, "the restarted subcore prints again", failures);
        stop_drain.store(true, Ordering::SeqCst);
    });
    let exit = sub.port_mut().wait_exit(Duration::from_secs(5))?;
    check(exit.is_some_and(|s| s.success()), "restarted subcore finished cleanly", failures);
    check(!monitor.panicked(), "no second panic", failures);
    sub.stop();
    Ok(())
}

/// A few RPC calls, logged one by one: two served commands and an unknown one.
fn rpc_calls(dev: &Rpmsg<'_, MainCore>, core: &HostCore<'_>, failures: &AtomicU32) {
    let client: RpcClient<'_, 2> = match RpcClient::new(dev, CLIENT_EPT, SERVER_EPT) {
        Ok(c) => c,
        Err(e) => return check(false, &format!("RPC client endpoint: {e}"), failures),
    };
    let mut add = [0u8; 8];
    add[..4].copy_from_slice(&40i32.to_le_bytes());
    add[4..].copy_from_slice(&2i32.to_le_bytes());
    /// What is called, the command, the request, the expected status and answer.
    type Case<'a> = (&'a str, u16, &'a [u8], Status, &'a [u8]);
    let calls: [Case<'_>; 3] = [
        ("ADD(40, 2)", cmd::ADD, &add, Status::OK, &42i32.to_le_bytes()),
        ("UPPER(\"rpc works\")", cmd::UPPER, b"rpc works", Status::OK, b"RPC WORKS"),
        ("command 0x0bad", cmd::UNKNOWN, b"", Status::INVALID_CMD, &[0]),
    ];
    for (what, id, req, status, expected) in calls {
        main_log!("  -> {what}");
        let answer = client
            .call(dev, id, req)
            .map_err(|e| e.to_string())
            .and_then(|call| call.response_timeout(dev, core, STEP_TIMEOUT).map_err(|e| e.to_string()));
        match answer {
            Ok(r) => {
                let body = copy_out(r.bytes());
                if body.iter().all(|b| b.is_ascii_graphic() || *b == b' ') && !body.is_empty() {
                    main_log!("  <- status 0x{:04x}, {:?}", r.status().0, String::from_utf8_lossy(&body));
                } else {
                    main_log!("  <- status 0x{:04x}, {:02x?}", r.status().0, body);
                }
                check((r.status(), &body[..]) == (status, expected), "answer as expected", failures);
            }
            Err(e) => check(false, &format!("{what}: {e}"), failures),
        }
    }
    client.close(dev);
}

/// The subcore's system services: `println!` through the supplicant and the panic path.
/// The region and the port live as long as the process (like a chip's fixed addresses).
fn subcore_system() -> Result<(&'static HostRegion, &'static HostCore<'static>)> {
    let region: &'static HostRegion = Box::leak(Box::new(HostRegion::open_from_env()?));
    let core: &'static HostCore<'static> = Box::leak(Box::new(HostCore::new(region, Side::Sub)));
    // Only triggers (the interrupt handlers live in the caller's own `SwIntr`).
    let sw: &'static SubSw = Box::leak(Box::new(SwIntr::attach(region.sw_intr_header(), core)?));
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    let fallback: &'static (dyn Fn(&[u8]) + Sync) = &|b: &[u8]| print!("{}", String::from_utf8_lossy(b));
    set_global(Printer::new(service::attach(&info).ok()).with_platform(core).with_fallback(fallback));
    let notify: &'static (dyn Fn() + Sync) = Box::leak(Box::new(move || sw.trigger(SwIntrId::PANIC)));
    install_panic_hook(PanicSink {
        dump: PanicDump::new(region.panic_dump())?,
        notify,
        frame_by_trap: false,
    });
    Ok((region, core))
}

type SubSw = SwIntr<'static, SubCore, &'static HostCore<'static>>;

pub fn run_subcore() -> Result<()> {
    let (region, core) = subcore_system()?;
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), core)?;
    let ev = DefaultEvents::attach(&info)?;
    let stats = info.get(STATS_ID, Pool::Hp)?.expect_size(16)?;
    let person = info.get(PERSON_ID, Pool::Hp)?;
    let mut bytes = [0u8; 20];
    person.shm().read_bytes(person.addr(), &mut bytes)?;
    let name_len = bytes[..16].iter().position(|&b| b == 0).unwrap_or(16);
    sub_log!(
        "found SysInfo 0x{:04x} ({} bytes at 0x{:08x}): name \"{}\", age {}",
        PERSON_ID.0,
        person.size(),
        person.addr(),
        String::from_utf8_lossy(&bytes[..name_len]),
        u32::from_le_bytes(bytes[16..].try_into().unwrap())
    );
    for id in [SysInfoId::EVENT_MAIN, SysInfoId::EVENT_SUB] {
        let b = info.get(id, Pool::Hp)?;
        sub_log!("found SysInfo 0x{:04x} ({} bytes at 0x{:08x})", id.0, b.size(), b.addr());
    }

    let mut rpmsg: Rpmsg<'_, SubCore> = Rpmsg::attach(&info)?;
    rpmsg.notify_with(&sw);
    let echo_ept = rpmsg.create_endpoint(ECHO_EPT, Receiver::Mailbox)?;

    let events: Events<'_, _> = Events::new(&sw, core);
    sw.add_handler(SwIntrId::EVENT, &events).map_err(|_| "handler table full")?;
    let handled = AtomicU32::new(0);
    let echo = |id: SwIntrId| {
        sub_log!("  <- software interrupt {} from the maincore, echoing {}", id.get(), id.get() + 4);
        handled.fetch_add(1, Ordering::SeqCst);
        sw.trigger(SwIntrId::user(id.get() + 4).unwrap());
    };
    for n in 0..4 {
        sw.add_handler(SwIntrId::user(n).unwrap(), &echo).map_err(|_| "handler table full")?;
    }
    let failures = AtomicU32::new(0);
    let fail = |what: &str| {
        sub_log!("  FAILED: {what}");
        failures.fetch_add(1, Ordering::SeqCst);
    };
    let (rx, tx) = (ev.incoming::<SubCore>(), ev.outgoing::<SubCore>());

    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        let start = Instant::now();
        while handled.load(Ordering::SeqCst) < 4 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        events.notify(&tx, ACK_SW_INTR);

        let t0 = Instant::now();
        match events.wait_timeout(&rx, 0x3, WaitFor::All, true, STEP_TIMEOUT) {
            Ok(bits) => sub_log!("  wait-all(0x3) returned 0x{bits:x} after {} ms", t0.elapsed().as_millis()),
            Err(t) => fail(&format!("wait-all timed out with 0x{:x}", t.observed)),
        }
        events.notify(&tx, ACK_WAIT_ALL);

        match events.wait_timeout(&rx, 0xC, WaitFor::Any, true, STEP_TIMEOUT) {
            Ok(bits) => sub_log!("  wait-any(0xC) returned 0x{bits:x}"),
            Err(t) => fail(&format!("wait-any timed out with 0x{:x}", t.observed)),
        }
        events.notify(&tx, ACK_WAIT_ANY);

        let t0 = Instant::now();
        match events.wait_timeout(&rx, 0x10, WaitFor::All, true, Some(200)) {
            Ok(bits) => fail(&format!("wait for 0x10 returned 0x{bits:x}, expected a timeout")),
            Err(t) => sub_log!(
                "  wait(0x10, 200 ms) timed out after {} ms, observed 0x{:x}",
                t0.elapsed().as_millis(),
                t.observed
            ),
        }
        events.notify(&tx, ACK_TIMEOUT);

        for _ in GREETINGS {
            match rpmsg.recv_timeout(echo_ept, core, STEP_TIMEOUT) {
                Ok(msg) => {
                    let text = copy_out(msg.bytes());
                    let upper = text.to_ascii_uppercase();
                    sub_log!("  <- {:?} from 0x{:x}, answering", String::from_utf8_lossy(&text), msg.src());
                    if let Err(e) = rpmsg.send(echo_ept, msg.src(), &upper) {
                        fail(&format!("echo send failed: {e}"));
                    }
                }
                Err(e) => fail(&format!("no RPMsg message: {e}")),
            }
        }

        let log = |text: &str| sub_log!("  server log: {text}");
        match run_server(&rpmsg, core, 5000, &log) {
            Ok(s) => sub_log!("  RPC server: {} requests, {} responses", s.requests, s.responses),
            Err(e) => fail(&format!("RPC server: {e}")),
        }
        match run_client(&rpmsg, core, RPC_ROUNDS, 5000) {
            Ok(r) => sub_log!("  RPC client: {} calls answered and checked", r.checked),
            Err(e) => fail(&format!("RPC client: {e}")),
        }
    });
    let w = |i: u32, v: u32| stats.shm().write_u32(stats.addr() + 4 * i, v);
    w(0, core.raised_count())?;
    w(1, core.delivered_count())?;
    w(3, failures.load(Ordering::SeqCst))?;

    // Step 8: print routing; step 9: a panic (the hook reports it and waits to be stopped).
    for line in SUB_LINES {
        esp_amp::println!("{line}");
    }
    panic!("{PANIC_MESSAGE}");
}

/// The subcore after the maincore reloaded and restarted it: echo RPMsg, print, exit.
pub fn run_subcore_restarted() -> Result<()> {
    let (region, core) = subcore_system()?;
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), core)?;
    let mut rpmsg: Rpmsg<'_, SubCore> = Rpmsg::attach(&info)?;
    rpmsg.notify_with(&sw);
    let ept = rpmsg.create_endpoint(ECHO_EPT, Receiver::Mailbox)?;
    esp_amp::println!("restarted: fresh shared state, echoing again");
    std::thread::scope(|s| -> Result<()> {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        for _ in AFTER_RESTART {
            let msg = rpmsg.recv_timeout(ept, core, STEP_TIMEOUT)?;
            rpmsg.send(ept, msg.src(), &copy_out(msg.bytes()).to_ascii_uppercase())?;
        }
        Ok(())
    })
}

/// A payload copied out of shared memory: what is printed and compared is then what the
/// peer cannot change any more.
fn copy_out(data: esp_amp::payload::PeerBytes<'_>) -> Vec<u8> {
    data.iter().collect()
}
