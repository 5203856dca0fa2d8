//! The host simulator demo: maincore here, subcore as a child process of the same binary.
//!
//! Step protocol: the subcore acknowledges each step by notifying a bit of `EVENT_SUB`;
//! the maincore waits for that bit before starting the next step.

use std::error::Error;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use esp_amp::event::{DefaultEvents, Events, WaitFor};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::{RpcClient, Status};
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoId};
use esp_amp::{MainCore, SubCore};
use esp_amp_host::rpc_example::{cmd, run_client, run_server, CLIENT_EPT, SERVER_EPT};
use esp_amp_host::{spawn_subcore, HostCore, HostRegion, Side};

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

    // 1. Everything shared is set up before the subcore starts, as on the chip.
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool())?;
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), &core)?;
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

    let events: Events<'_, _> = Events::new(&sw, &core);
    sw.add_handler(SwIntrId::EVENT, &events).map_err(|_| "handler table full")?;
    let echoes = AtomicU32::new(0);
    let on_echo = |id: SwIntrId| {
        main_log!("  <- software interrupt {} from the subcore", id.get());
        echoes.fetch_add(1, Ordering::SeqCst);
    };
    for n in 4..8 {
        sw.add_handler(SwIntrId::user(n).unwrap(), &on_echo).map_err(|_| "handler table full")?;
    }

    let exe = std::env::current_exe()?;
    let mut child = spawn_subcore(Command::new(exe).arg("demo-subcore"), &region)?;
    main_log!("subcore started as process {}", child.id());
    let failures = AtomicU32::new(0);
    let acks = ev.incoming::<MainCore>();
    let ack = |bit: u32| events.wait(&acks, bit, WaitFor::All, true, STEP_TIMEOUT).is_ok();

    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });

        main_log!("");
        main_log!("step 1: software interrupts both ways (subcore echoes id n as n + 4)");
        for n in 0..4 {
            main_log!("  -> software interrupt {n}");
            sw.trigger(SwIntrId::user(n).unwrap());
        }
        check(ack(ACK_SW_INTR), "subcore handled ids 0..3", &failures);
        let start = Instant::now();
        while echoes.load(Ordering::SeqCst) < 4 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        check(echoes.load(Ordering::SeqCst) == 4, "all 4 echoes arrived", &failures);

        main_log!("");
        main_log!("step 2: wait-all: the subcore waits for bits 0x3 of EVENT_MAIN; they come 100 ms apart");
        let tx = ev.outgoing::<MainCore>();
        main_log!("  notify 0x1 (bits before: 0x{:x})", events.notify(&tx, 0x1));
        std::thread::sleep(Duration::from_millis(100));
        main_log!("  notify 0x2 (bits before: 0x{:x})", events.notify(&tx, 0x2));
        check(ack(ACK_WAIT_ALL), "subcore's wait-all completed", &failures);

        main_log!("");
        main_log!("step 3: wait-any: the subcore waits for any of 0xC; we set 0x8");
        events.notify(&tx, 0x8);
        check(ack(ACK_WAIT_ANY), "subcore's wait-any completed", &failures);

        main_log!("");
        main_log!("step 4: timeout: the subcore waits 200 ms for 0x10, which never comes");
        check(ack(ACK_TIMEOUT), "subcore's wait timed out as expected", &failures);

        main_log!("");
        main_log!("step 5: RPMsg echo: endpoint 0x{MAIN_EPT:x} -> 0x{ECHO_EPT:x}, the subcore answers in upper case");
        for (i, text) in GREETINGS.iter().enumerate() {
            let sent = if i == 1 {
                // Zero-copy: build the payload in the shared buffer itself.
                rpmsg.alloc().and_then(|mut msg| {
                    msg[..text.len()].copy_from_slice(text.as_bytes());
                    msg.send(ept, ECHO_EPT, text.len())
                })
            } else {
                rpmsg.send(ept, ECHO_EPT, text.as_bytes())
            };
            main_log!("  -> {text:?}");
            check(sent.is_ok(), "message sent", &failures);
            match rpmsg.recv_timeout(ept, &core, STEP_TIMEOUT) {
                Ok(reply) => {
                    let reply_text = String::from_utf8_lossy(&reply).into_owned();
                    main_log!("  <- {reply_text:?} from 0x{:x}", reply.src());
                    check(
                        reply_text == text.to_uppercase() && reply.src() == ECHO_EPT,
                        "echo matches",
                        &failures,
                    );
                }
                Err(e) => check(false, &format!("echo arrived ({e})"), &failures),
            }
        }

        main_log!("");
        main_log!("step 6: RPC, maincore client -> subcore server (endpoint 0x{SERVER_EPT:04x})");
        rpc_calls(&rpmsg, &core, &failures);
        match run_client(&rpmsg, &core, RPC_ROUNDS, 5000) {
            Ok(r) => check(
                true,
                &format!(
                    "{} more calls answered and checked, up to {} in flight",
                    r.checked, r.max_in_flight
                ),
                &failures,
            ),
            Err(e) => check(false, &format!("RPC client: {e}"), &failures),
        }

        main_log!("");
        main_log!("step 7: RPC, subcore client -> maincore server");
        // The subcore starts calling once its server saw STOP; nothing polls this device
        // between the client's STOP and the server's endpoint, so no request is missed.
        let log = |text: &str| main_log!("  server log: {text}");
        match run_server(&rpmsg, &core, 5000, &log) {
            Ok(s) => check(
                s.responses == RPC_ROUNDS * 5 + 1,
                &format!(
                    "served {} requests ({} one-way, {} unknown command)",
                    s.requests, s.one_way, s.invalid_cmd
                ),
                &failures,
            ),
            Err(e) => check(false, &format!("RPC server: {e}"), &failures),
        }

        let st = rpmsg.stats();
        check(
            st.dropped_unknown + st.dropped_bad_len + st.queue_faults == 0,
            "no dropped messages",
            &failures,
        );
    });

    let status = child.wait()?;
    let read = |i: u32| stats.shm().read_u32(stats.addr() + 4 * i).unwrap_or(0);
    check(status.success(), "subcore process exited cleanly", &failures);
    check(read(3) == 0, "subcore saw no failures", &failures);
    main_log!("");
    main_log!("summary:");
    main_log!(
        "  maincore: raised the line {} times, handled {} interrupts",
        core.raised_count(),
        core.delivered_count()
    );
    main_log!("  subcore:  raised the line {} times, handled {} interrupts", read(0), read(1));
    match failures.load(Ordering::SeqCst) + read(3) {
        0 => {
            main_log!("  all steps passed");
            Ok(())
        }
        n => Err(format!("{n} check(s) failed").into()),
    }
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
            .and_then(|call| call.wait(dev, core, STEP_TIMEOUT).map_err(|e| e.to_string()));
        match answer {
            Ok(r) => {
                if r.iter().all(|b| b.is_ascii_graphic() || *b == b' ') && !r.is_empty() {
                    main_log!("  <- status 0x{:04x}, {:?}", r.status().0, String::from_utf8_lossy(&r));
                } else {
                    main_log!("  <- status 0x{:04x}, {:02x?}", r.status().0, &r[..]);
                }
                check((r.status(), &r[..]) == (status, expected), "answer as expected", failures);
            }
            Err(e) => check(false, &format!("{what}: {e}"), failures),
        }
    }
    client.close(dev);
}

pub fn run_subcore() -> Result<()> {
    let region = HostRegion::open_from_env()?;
    let core = HostCore::new(&region, Side::Sub);
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), &core)?;
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

    let events: Events<'_, _> = Events::new(&sw, &core);
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
        match events.wait(&rx, 0x3, WaitFor::All, true, STEP_TIMEOUT) {
            Ok(bits) => sub_log!("  wait-all(0x3) returned 0x{bits:x} after {} ms", t0.elapsed().as_millis()),
            Err(t) => fail(&format!("wait-all timed out with 0x{:x}", t.observed)),
        }
        events.notify(&tx, ACK_WAIT_ALL);

        match events.wait(&rx, 0xC, WaitFor::Any, true, STEP_TIMEOUT) {
            Ok(bits) => sub_log!("  wait-any(0xC) returned 0x{bits:x}"),
            Err(t) => fail(&format!("wait-any timed out with 0x{:x}", t.observed)),
        }
        events.notify(&tx, ACK_WAIT_ANY);

        let t0 = Instant::now();
        match events.wait(&rx, 0x10, WaitFor::All, true, Some(200)) {
            Ok(bits) => fail(&format!("wait for 0x10 returned 0x{bits:x}, expected a timeout")),
            Err(t) => sub_log!(
                "  wait(0x10, 200 ms) timed out after {} ms, observed 0x{:x}",
                t0.elapsed().as_millis(),
                t.observed
            ),
        }
        events.notify(&tx, ACK_TIMEOUT);

        for _ in GREETINGS {
            match rpmsg.recv_timeout(echo_ept, &core, STEP_TIMEOUT) {
                Ok(msg) => {
                    let upper = msg.to_ascii_uppercase();
                    sub_log!("  <- {:?} from 0x{:x}, answering", String::from_utf8_lossy(&msg), msg.src());
                    if let Err(e) = rpmsg.send(echo_ept, msg.src(), &upper) {
                        fail(&format!("echo send failed: {e}"));
                    }
                }
                Err(e) => fail(&format!("no RPMsg message: {e}")),
            }
        }

        let log = |text: &str| sub_log!("  server log: {text}");
        match run_server(&rpmsg, &core, 5000, &log) {
            Ok(s) => sub_log!("  RPC server: {} requests, {} responses", s.requests, s.responses),
            Err(e) => fail(&format!("RPC server: {e}")),
        }
        match run_client(&rpmsg, &core, RPC_ROUNDS, 5000) {
            Ok(r) => sub_log!("  RPC client: {} calls answered and checked", r.checked),
            Err(e) => fail(&format!("RPC client: {e}")),
        }
    });
    let w = |i: u32, v: u32| stats.shm().write_u32(stats.addr() + 4 * i, v);
    w(0, core.raised_count())?;
    w(1, core.delivered_count())?;
    w(3, failures.load(Ordering::SeqCst))?;
    Ok(())
}
