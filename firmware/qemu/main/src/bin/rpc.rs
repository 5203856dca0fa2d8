//! Maincore of the `rpc` pair: RPC both directions at once over one RPMsg device.
//! - The maincore serves `Hello`, `Fib` and `Report` (typed) at endpoint 0x40;
//! - it calls the subcore's `ADD` (raw bytes) and `Div` (typed) at 0x30 from endpoint
//!   0x41, up to four calls in flight, while serving the subcore's own `Fib` calls;
//! - error statuses travel both ways: an unknown command is answered `INVALID_CMD`, a
//!   division by zero and a Fibonacci number beyond `u64` `EXEC_FAILED`;
//! - the subcore checks its 300 `Fib` answers and reports the verdict with `Report`;
//! - finally, sequential `ADD` calls count guest instructions per call (`minstret`).
//!
//! Prints `PASS` and exits 0, or exits non-zero with the reason.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use esp_amp::port::Platform;
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::typed::{Command, Typed, TypedCall, TypedError};
use esp_amp::rpc::{Call, RpcClient, RpcError, RpcServer, Status};
use esp_amp::rpmsg::Rpmsg;
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::MainCore;
use esp_amp_qemu::{self as port, uprintln, ClintLine, QemuPlatform};
use qemu_main::{check, fail, wait_for, TIMEOUT_MS};

esp_amp_qemu::entry!(main);

static SUBCORE_ELF: &[u8] = include_bytes!(concat!(env!("SUB_DIR"), "/rpc"));

use amp_examples::protocol::rpc as protocol;
use protocol::*;

/// What the subcore told us through `Hello` and `Report`.
static HELLO: AtomicU32 = AtomicU32::new(0);
static REPORTED: AtomicBool = AtomicBool::new(false);
static REPORT_GOOD: AtomicU32 = AtomicU32::new(0);
static REPORT_WRONG: AtomicU32 = AtomicU32::new(0);

/// Sequential calls for the instruction count.
const TIMED_CALLS: u32 = 100;

/// One of our calls in flight.
enum Pending<'c, 'h> {
    Add(u16, u16, Call<'c, 'h, IN_FLIGHT>),
    Div(u32, TypedCall<'c, 'h, IN_FLIGHT, Div>),
}

fn main() -> ! {
    uprintln!("[hart 0] rpc pair: maincore up");
    let line = ClintLine::this_hart();
    let mut sub = qemu_main::subcore();
    let mut sys = SysInfoAllocator::init(port::sys_info_pool(), None).unwrap();
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(port::sw_intr_header(), line).unwrap();
    let mut dev: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap()).unwrap();
    dev.notify_with(&sw);

    let hello = Typed::<Hello, _>::new(|v: u32| {
        HELLO.store(v, Ordering::Relaxed);
        Ok(VERSION)
    });
    let fib_service = Typed::<Fib, _>::new(|n: u32| fib(n).ok_or(Status::EXEC_FAILED));
    let report = Typed::<Report, _>::new(|(good, wrong): (u32, u32)| {
        REPORT_GOOD.store(good, Ordering::Relaxed);
        REPORT_WRONG.store(wrong, Ordering::Relaxed);
        REPORTED.store(true, Ordering::Relaxed);
        Ok(())
    });
    let (mut rq, mut rs) = ([0u8; 64], [0u8; 64]);
    let mut server: RpcServer<'_, 4> = RpcServer::new(&dev, MAIN_SERVER, &mut rq, &mut rs).unwrap();
    server.add_service(Hello::ID, &hello).unwrap();
    server.add_service(Fib::ID, &fib_service).unwrap();
    server.add_service(Report::ID, &report).unwrap();
    let client: RpcClient<'_, IN_FLIGHT> = RpcClient::new(&dev, MAIN_CLIENT, SUB_SERVER).unwrap();
    qemu_main::load_and_start(&mut sub, SUBCORE_ELF);

    port::with_interrupts(
        &|| {
            // Only wakes the loops below (the irq epoch moves).
            sw.isr();
        },
        || {
            // The subcore calls first, once its server is up.
            wait_for(|| {
                server.poll(&dev);
                HELLO.load(Ordering::Relaxed) != 0
            });
            let v = HELLO.load(Ordering::Relaxed);
            check!(10, v == VERSION, "no Hello from the subcore (version {v})");

            // An unknown command: INVALID_CMD, answered by the subcore's server itself.
            let call =
                client.call(&dev, UNKNOWN, b"?").unwrap_or_else(|e| fail(11, format_args!("call: {e:?}")));
            let status = call.wait(&dev, &QemuPlatform, Some(TIMEOUT_MS)).map(|r| r.status());
            check!(12, status == Ok(Status::INVALID_CMD), "unknown command answered {status:?}");

            // Both directions at once: our ADD/Div calls, the subcore's Fib calls.
            let mut calls: [Option<Pending<'_, '_>>; IN_FLIGHT] = Default::default();
            let (mut next, mut answered, mut failed_div) = (0u32, 0u32, 0u32);
            let start = QemuPlatform.now_ms();
            while answered < CALLS || !REPORTED.load(Ordering::Relaxed) {
                check!(
                    13,
                    QemuPlatform.now_ms().wrapping_sub(start) < 30 * TIMEOUT_MS,
                    "RPC traffic stalled: {answered} of {CALLS} answered"
                );
                let epoch = QemuPlatform.irq_epoch();
                server.poll(&dev);
                for slot in calls.iter_mut() {
                    if slot.is_none() && next < CALLS {
                        let k = next;
                        let started = if k % 2 == 0 {
                            let (a, b) = ((k * 977) as u16, (k * 60_013) as u16);
                            let mut req = [0u8; 4];
                            req[..2].copy_from_slice(&a.to_le_bytes());
                            req[2..].copy_from_slice(&b.to_le_bytes());
                            client
                                .call(&dev, ADD, &req)
                                .map(|c| Pending::Add(a, b, c))
                                .map_err(TypedError::Rpc)
                        } else {
                            client.call_typed::<Div, _, 32, 8>(&dev, &div_args(k)).map(|c| Pending::Div(k, c))
                        };
                        match started {
                            Ok(p) => {
                                *slot = Some(p);
                                next += 1;
                            }
                            // Every buffer is with the subcore: try again on the next round.
                            Err(TypedError::Rpc(RpcError::NoMem)) => {}
                            Err(e) => fail(14, format_args!("call {k}: {e:?}")),
                        }
                    }
                    let done = match slot {
                        None => false,
                        Some(Pending::Add(a, b, call)) => match call.try_response(&dev) {
                            None => false,
                            Some(r) => {
                                let want = a.wrapping_add(*b).to_le_bytes();
                                check!(
                                    15,
                                    r.status() == Status::OK && r[..] == want,
                                    "ADD({a}, {b}) answered {:?} {:?}",
                                    r.status(),
                                    &r[..]
                                );
                                true
                            }
                        },
                        Some(Pending::Div(k, call)) => match call.try_response(&dev) {
                            None => false,
                            Some(answer) => {
                                let (a, b) = div_args(*k);
                                let want = a.checked_div(b).ok_or(TypedError::Status(Status::EXEC_FAILED));
                                check!(
                                    16,
                                    answer == want,
                                    "Div({a}, {b}) answered {answer:?}, expected {want:?}"
                                );
                                failed_div += u32::from(answer.is_err());
                                true
                            }
                        },
                    };
                    if done {
                        answered += 1;
                        *slot = None;
                    }
                }
                // A response of ours waiting for a buffer is retried within 1 ms (frees
                // raise no interrupt).
                QemuPlatform.wait_irq(epoch, Some(1));
            }
            let (good, wrong) = (REPORT_GOOD.load(Ordering::Relaxed), REPORT_WRONG.load(Ordering::Relaxed));
            check!(
                17,
                good == CALLS && wrong == 0,
                "the subcore found {wrong} wrong Fib answers ({good} right)"
            );
            let (cs, ss) = (client.stats(), server.stats());
            check!(
                18,
                cs.late == 0 && cs.foreign == 0 && cs.malformed == 0 && cs.wrong_cmd == 0,
                "client stats {cs:?}"
            );
            check!(
                19,
                ss.malformed == 0 && ss.invalid_cmd == 0 && ss.requests == CALLS + 2,
                "server stats {ss:?}"
            );
            uprintln!("[hart 0] RPC both ways at once: {CALLS} ADD/Div calls to the subcore ({failed_div} divisions by zero answered EXEC_FAILED), {} Fib calls served; the subcore checked its {good} answers", ss.requests - 2);

            // Sequential calls: instructions per RPC round trip on this hart.
            let mut insns = 0u64;
            for k in 0..TIMED_CALLS {
                let t0 = port::instret();
                let call = client
                    .call(&dev, ADD, &[k as u8, 0, 1, 0])
                    .unwrap_or_else(|e| fail(20, format_args!("{e:?}")));
                let r = call
                    .wait(&dev, &QemuPlatform, Some(TIMEOUT_MS))
                    .unwrap_or_else(|e| fail(21, format_args!("{e:?}")));
                check!(22, r[..] == [k as u8 + 1, 0], "ADD({k}, 1) answered {:?}", &r[..]);
                drop(r);
                insns += port::instret() - t0;
            }
            uprintln!("[hart 0] RPC: {TIMED_CALLS} sequential ADD calls; minstret per call on the maincore {} (request, wait, response)", insns / u64::from(TIMED_CALLS));
        },
    );
    qemu_main::pass(&mut sub)
}
