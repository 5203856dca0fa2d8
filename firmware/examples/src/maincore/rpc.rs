//! `rpc`, maincore half: RPC both directions at once over one RPMsg device.
//! - The maincore serves `Hello`, `Fib` and `Report` (typed) at endpoint 0x40;
//! - it calls the subcore's `ADD` (raw bytes) and `Div` (typed) at 0x30 from endpoint
//!   0x41, up to four calls in flight, while serving the subcore's own `Fib` calls;
//! - error statuses travel both ways: an unknown command is answered `INVALID_CMD`, a
//!   division by zero and a Fibonacci number beyond `u64` `EXEC_FAILED`;
//! - the subcore checks its 300 `Fib` answers and reports the verdict with `Report`;
//! - finally, sequential `ADD` calls (with instructions per call where the port counts
//!   them).

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use esp_amp::port::Platform;
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::typed::{Command, Typed, TypedCall, TypedError};
use esp_amp::rpc::{Call, RpcClient, RpcError, RpcServer, Status};
use esp_amp::rpmsg::Rpmsg;
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::lifecycle::SubcoreHandle;
use esp_amp::MainCore;

use super::{check, stop, wait_for, MainBoard, OrFail, TIMEOUT_MS};
use crate::protocol::rpc::*;

/// Sequential calls for the instruction count.
const TIMED_CALLS: u32 = 100;

/// One of our calls in flight.
enum Pending<'c, 'h> {
    Add(u16, u16, Call<'c, 'h, IN_FLIGHT>),
    Div(u32, TypedCall<'c, 'h, IN_FLIGHT, Div>),
}

/// Runs `rpc`.
pub fn rpc<B: MainBoard>(b: &B, sub: &mut SubcoreHandle<'_, B::Port>, image: &[u8]) {
    let clock = b.clock();
    let mut sys = SysInfoAllocator::init(b.sys_info_pool(), b.rtc_pool()).or_fail(b, "SysInfo");
    let sw: SwIntr<'_, MainCore, _> =
        SwIntr::init(b.sw_intr_header(), b.line()).or_fail(b, "sw-interrupt header");
    let mut dev: Rpmsg<'_, MainCore> =
        Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap()).or_fail(b, "RPMsg device");
    dev.notify_with(&sw);

    // What the subcore told us through `Hello` and `Report`.
    let hello_version = AtomicU32::new(0);
    let reported = AtomicBool::new(false);
    let (report_good, report_wrong) = (AtomicU32::new(0), AtomicU32::new(0));

    let hello = Typed::<Hello, _>::new(|v: u32| {
        hello_version.store(v, Ordering::Relaxed);
        Ok(VERSION)
    });
    let fib_service = Typed::<Fib, _>::new(|n: u32| fib(n).ok_or(Status::EXEC_FAILED));
    let report = Typed::<Report, _>::new(|(good, wrong): (u32, u32)| {
        report_good.store(good, Ordering::Relaxed);
        report_wrong.store(wrong, Ordering::Relaxed);
        reported.store(true, Ordering::Relaxed);
        Ok(())
    });
    let mut rq = [0u8; 64];
    let mut server: RpcServer<'_, 4> = RpcServer::new(&dev, MAIN_SERVER, &mut rq).or_fail(b, "server");
    let services = server
        .add_service(Hello::ID, &hello)
        .and_then(|()| server.add_service(Fib::ID, &fib_service))
        .and_then(|()| server.add_service(Report::ID, &report));
    services.or_fail(b, "services");
    let client: RpcClient<'_, IN_FLIGHT> = RpcClient::new(&dev, MAIN_CLIENT, SUB_SERVER).or_fail(b, "client");
    super::load_and_start(b, sub, image);

    b.with_interrupts(
        &|| {
            // Only wakes the loops below (the irq epoch moves).
            sw.isr();
        },
        || {
            // The subcore calls first, once its server is up.
            wait_for(b, || {
                server.try_serve(&dev);
                hello_version.load(Ordering::Relaxed) != 0
            });
            let v = hello_version.load(Ordering::Relaxed);
            check!(b, 10, v == VERSION, "no Hello from the subcore (version {v})");

            // An unknown command: INVALID_CMD, answered by the subcore's server itself.
            let call =
                client.call(&dev, UNKNOWN, b"?").unwrap_or_else(|e| b.fail(11, format_args!("call: {e:?}")));
            let status = call.response_timeout(&dev, &clock, Some(TIMEOUT_MS)).map(|r| r.status());
            check!(b, 12, status == Ok(Status::INVALID_CMD), "unknown command answered {status:?}");

            // Both directions at once: our ADD/Div calls, the subcore's Fib calls.
            let mut calls: [Option<Pending<'_, '_>>; IN_FLIGHT] = Default::default();
            let (mut next, mut answered, mut failed_div) = (0u32, 0u32, 0u32);
            let start = clock.now_ms();
            while answered < CALLS || !reported.load(Ordering::Relaxed) {
                check!(b,
                    13,
                    clock.now_ms().wrapping_sub(start) < 30 * TIMEOUT_MS,
                    "RPC traffic stalled: {answered} of {CALLS} answered"
                );
                let epoch = clock.irq_epoch();
                server.try_serve(&dev);
                for slot in calls.iter_mut() {
                    if slot.is_none() && next < CALLS {
                        let k = next;
                        let started = if k % 2 == 0 {
                            let (x, y) = ((k * 977) as u16, (k * 60_013) as u16);
                            let mut req = [0u8; 4];
                            req[..2].copy_from_slice(&x.to_le_bytes());
                            req[2..].copy_from_slice(&y.to_le_bytes());
                            client
                                .call(&dev, ADD, &req)
                                .map(|c| Pending::Add(x, y, c))
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
                            Err(e) => b.fail(14, format_args!("call {k}: {e:?}")),
                        }
                    }
                    let done = match slot {
                        None => false,
                        Some(Pending::Add(x, y, call)) => match call.try_response(&dev) {
                            None => false,
                            Some(r) => {
                                let want = x.wrapping_add(*y).to_le_bytes();
                                check!(b,
                                    15,
                                    r.status() == Status::OK && r.bytes() == want,
                                    "ADD({x}, {y}) answered {:?} {:?}",
                                    r.status(),
                                    r.bytes()
                                );
                                true
                            }
                        },
                        Some(Pending::Div(k, call)) => match call.try_response(&dev) {
                            None => false,
                            Some(answer) => {
                                let (x, y) = div_args(*k);
                                let want = x.checked_div(y).ok_or(TypedError::Status(Status::EXEC_FAILED));
                                check!(b,
                                    16,
                                    answer == want,
                                    "Div({x}, {y}) answered {answer:?}, expected {want:?}"
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
                clock.wait_irq(epoch, Some(1));
            }
            let (good, wrong) = (report_good.load(Ordering::Relaxed), report_wrong.load(Ordering::Relaxed));
            check!(b,
                17,
                good == CALLS && wrong == 0,
                "the subcore found {wrong} wrong Fib answers ({good} right)"
            );
            let (cs, ss) = (client.stats(), server.stats());
            check!(b,
                18,
                cs.late == 0 && cs.foreign == 0 && cs.malformed == 0 && cs.wrong_cmd == 0,
                "client stats {cs:?}"
            );
            check!(b,
                19,
                ss.malformed == 0 && ss.invalid_cmd == 0 && ss.requests == CALLS + 2,
                "server stats {ss:?}"
            );
            b.log(format_args!("RPC both ways at once: {CALLS} ADD/Div calls to the subcore ({failed_div} divisions by zero answered EXEC_FAILED), {} Fib calls served; the subcore checked its {good} answers", ss.requests - 2));

            // Sequential calls: instructions per RPC round trip on this core.
            let mut insns = 0u64;
            for k in 0..TIMED_CALLS {
                let t0 = b.instructions();
                let call = client
                    .call(&dev, ADD, &[k as u8, 0, 1, 0])
                    .unwrap_or_else(|e| b.fail(20, format_args!("{e:?}")));
                let r = call
                    .response_timeout(&dev, &clock, Some(TIMEOUT_MS))
                    .unwrap_or_else(|e| b.fail(21, format_args!("{e:?}")));
                check!(b, 22, r.bytes() == [k as u8 + 1, 0], "ADD({k}, 1) answered {:?}", r.bytes());
                drop(r);
                insns += b.instructions().zip(t0).map_or(0, |(t1, t0)| t1 - t0);
            }
            match b.instructions() {
                Some(_) => b.log(format_args!("RPC: {TIMED_CALLS} sequential ADD calls; minstret per call on the maincore {} (request, wait, response)", insns / u64::from(TIMED_CALLS))),
                None => b.log(format_args!("RPC: {TIMED_CALLS} sequential ADD calls checked")),
            }
        },
    );
    stop(b, sub);
}
