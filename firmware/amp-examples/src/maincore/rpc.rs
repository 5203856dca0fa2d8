//! `rpc`, maincore half: RPC both directions at once over one RPMsg device.
//! - The maincore serves `Hello`, `Fib` and `Report` (typed) at endpoint 0x40;
//! - it calls the subcore's `ADD` (raw bytes) and `Div` (typed) at 0x30 from endpoint
//!   0x41, up to four calls in flight, while serving the subcore's own `Fib` calls;
//! - error statuses travel both ways: an unknown command is answered `INVALID_CMD`, a
//!   division by zero and a Fibonacci number beyond `u64` `EXEC_FAILED`;
//! - the subcore checks its 300 `Fib` answers and reports the verdict with `Report`;
//! - finally, sequential `ADD` calls (with instructions per call where the port counts
//!   them).
//!
//! [`rpc`] sets up and runs the steps in order; each step is one function below.

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

/// The failure codes of this example (the port ends the run with one; each names a check).
mod code {
    pub const NO_HELLO: u16 = 10;
    pub const UNKNOWN_CALL: u16 = 11;
    pub const UNKNOWN_NOT_REFUSED: u16 = 12;
    pub const STALLED: u16 = 13;
    pub const CALL_NOT_SENT: u16 = 14;
    pub const WRONG_SUM: u16 = 15;
    pub const WRONG_QUOTIENT: u16 = 16;
    pub const SUBCORE_SAW_WRONG_FIB: u16 = 17;
    pub const CLIENT_STATS: u16 = 18;
    pub const SERVER_STATS: u16 = 19;
    pub const TIMED_CALL_NOT_SENT: u16 = 20;
    pub const TIMED_CALL_UNANSWERED: u16 = 21;
    pub const TIMED_CALL_WRONG: u16 = 22;
}

type Dev<'r> = Rpmsg<'r, MainCore>;
type Server<'h> = RpcServer<'h, 4>;
type Client<'h> = RpcClient<'h, IN_FLIGHT>;

/// What the subcore told us through `Hello` and `Report`.
#[derive(Default)]
struct FromSubcore {
    hello_version: AtomicU32,
    reported: AtomicBool,
    good: AtomicU32,
    wrong: AtomicU32,
}

/// One of our calls in flight.
enum Pending<'c, 'h> {
    Add(u16, u16, Call<'c, 'h, IN_FLIGHT>),
    Div(u32, TypedCall<'c, 'h, IN_FLIGHT, Div>),
}

/// Runs `rpc`.
pub fn rpc<B: MainBoard>(b: &B, sub: &mut SubcoreHandle<'_, B::Port>, image: &[u8]) {
    let mut sys = SysInfoAllocator::init(b.sys_info_pool(), b.rtc_pool()).or_fail(b, "SysInfo");
    let sw: SwIntr<'_, MainCore, _> =
        SwIntr::init(b.sw_intr_header(), b.line()).or_fail(b, "sw-interrupt header");
    let mut dev: Dev<'_> =
        Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap()).or_fail(b, "RPMsg device");
    dev.notify_with(&sw);

    // Our services: typed handlers that record what the subcore says.
    let seen = FromSubcore::default();
    let hello = Typed::<Hello, _>::new(|v: u32| {
        seen.hello_version.store(v, Ordering::Relaxed);
        Ok(VERSION)
    });
    let fib_service = Typed::<Fib, _>::new(|n: u32| fib(n).ok_or(Status::EXEC_FAILED));
    let report = Typed::<Report, _>::new(|(good, wrong): (u32, u32)| {
        seen.good.store(good, Ordering::Relaxed);
        seen.wrong.store(wrong, Ordering::Relaxed);
        seen.reported.store(true, Ordering::Relaxed);
        Ok(())
    });
    let mut rq = [0u8; 64];
    let mut server: Server<'_> = RpcServer::new(&dev, MAIN_SERVER, &mut rq).or_fail(b, "server");
    let services = server
        .add_service(Hello::ID, &hello)
        .and_then(|()| server.add_service(Fib::ID, &fib_service))
        .and_then(|()| server.add_service(Report::ID, &report));
    services.or_fail(b, "services");
    let client: Client<'_> = RpcClient::new(&dev, MAIN_CLIENT, SUB_SERVER).or_fail(b, "client");
    super::load_and_start(b, sub, image);

    b.with_interrupts(
        &|| {
            // Only wakes the loops below (the irq epoch moves).
            sw.isr();
        },
        || {
            wait_for_hello(b, &dev, &mut server, &seen);
            unknown_command_is_refused(b, &dev, &client);
            let failed_div = calls_both_ways(b, &dev, &mut server, &client, &seen);
            check_verdicts(b, &server, &client, &seen, failed_div);
            timed_calls(b, &dev, &client);
        },
    );
    stop(b, sub);
}

/// The subcore calls first, once its server is up: serve until its `Hello` arrived.
fn wait_for_hello<B: MainBoard>(b: &B, dev: &Dev<'_>, server: &mut Server<'_>, seen: &FromSubcore) {
    wait_for(b, || {
        server.try_serve(dev);
        seen.hello_version.load(Ordering::Relaxed) != 0
    });
    let v = seen.hello_version.load(Ordering::Relaxed);
    check!(b, code::NO_HELLO, v == VERSION, "no Hello from the subcore (version {v})");
}

/// An unknown command is answered `INVALID_CMD` by the subcore's server itself.
fn unknown_command_is_refused<B: MainBoard>(b: &B, dev: &Dev<'_>, client: &Client<'_>) {
    let call = client
        .call(dev, UNKNOWN, b"?")
        .unwrap_or_else(|e| b.fail(code::UNKNOWN_CALL, format_args!("call: {e:?}")));
    let status = call.response_timeout(dev, &b.clock(), Some(TIMEOUT_MS)).map(|r| r.status());
    check!(
        b,
        code::UNKNOWN_NOT_REFUSED,
        status == Ok(Status::INVALID_CMD),
        "unknown command answered {status:?}"
    );
}

/// Both directions at once: [`CALLS`] `ADD`/`Div` calls of ours, up to [`IN_FLIGHT`] at a
/// time, while serving the subcore's `Fib` calls, until every call is answered and the
/// subcore has reported. Returns how many divisions were refused (divisions by zero).
fn calls_both_ways<B: MainBoard>(
    b: &B,
    dev: &Dev<'_>,
    server: &mut Server<'_>,
    client: &Client<'_>,
    seen: &FromSubcore,
) -> u32 {
    let clock = b.clock();
    let mut calls: [Option<Pending<'_, '_>>; IN_FLIGHT] = Default::default();
    let (mut next, mut answered, mut failed_div) = (0u32, 0u32, 0u32);
    let start = clock.now_ms();
    while answered < CALLS || !seen.reported.load(Ordering::Relaxed) {
        check!(
            b,
            code::STALLED,
            clock.now_ms().wrapping_sub(start) < 30 * TIMEOUT_MS,
            "RPC traffic stalled: {answered} of {CALLS} answered"
        );
        let epoch = clock.irq_epoch();
        server.try_serve(dev);
        for slot in calls.iter_mut() {
            if slot.is_none() && next < CALLS {
                match start_call(client, dev, next) {
                    Ok(p) => {
                        *slot = Some(p);
                        next += 1;
                    }
                    // Every buffer is with the subcore: try again on the next round.
                    Err(TypedError::Rpc(RpcError::NoMem)) => {}
                    Err(e) => b.fail(code::CALL_NOT_SENT, format_args!("call {next}: {e:?}")),
                }
            }
            if let Some(refused) = slot.as_mut().and_then(|p| check_answer(b, dev, p)) {
                answered += 1;
                failed_div += u32::from(refused);
                *slot = None;
            }
        }
        // A response of ours waiting for a buffer is retried within 1 ms (frees raise no
        // interrupt).
        clock.wait_irq(epoch, Some(1));
    }
    failed_div
}

/// Call `k`: `ADD` (raw bytes) for even `k`, `Div` (typed) for odd.
fn start_call<'c, 'h>(client: &'c Client<'h>, dev: &Dev<'_>, k: u32) -> Result<Pending<'c, 'h>, TypedError> {
    if k.is_multiple_of(2) {
        let (x, y) = ((k * 977) as u16, (k * 60_013) as u16);
        let [x0, x1] = x.to_le_bytes();
        let [y0, y1] = y.to_le_bytes();
        client.call(dev, ADD, &[x0, x1, y0, y1]).map(|c| Pending::Add(x, y, c)).map_err(TypedError::Rpc)
    } else {
        client.call_typed::<Div, _, 32, 8>(dev, &div_args(k)).map(|c| Pending::Div(k, c))
    }
}

/// Checks the answer to `call` if it has arrived: `Some(true)` for a refused division,
/// `Some(false)` for any other answer, `None` while it has not arrived.
fn check_answer<B: MainBoard>(b: &B, dev: &Dev<'_>, call: &mut Pending<'_, '_>) -> Option<bool> {
    match call {
        Pending::Add(x, y, call) => {
            let r = call.try_response(dev)?;
            let want = x.wrapping_add(*y).to_le_bytes();
            check!(
                b,
                code::WRONG_SUM,
                r.status() == Status::OK && r.bytes() == want,
                "ADD({x}, {y}) answered {:?} {:?}",
                r.status(),
                r.bytes()
            );
            Some(false)
        }
        Pending::Div(k, call) => {
            let answer = call.try_response(dev)?;
            let (x, y) = div_args(*k);
            let want = x.checked_div(y).ok_or(TypedError::Status(Status::EXEC_FAILED));
            check!(
                b,
                code::WRONG_QUOTIENT,
                answer == want,
                "Div({x}, {y}) answered {answer:?}, expected {want:?}"
            );
            Some(answer.is_err())
        }
    }
}

/// The subcore's verdict on our `Fib` answers, and both ends' counters: nothing late,
/// foreign, malformed or refused.
fn check_verdicts<B: MainBoard>(
    b: &B,
    server: &Server<'_>,
    client: &Client<'_>,
    seen: &FromSubcore,
    failed_div: u32,
) {
    let (good, wrong) = (seen.good.load(Ordering::Relaxed), seen.wrong.load(Ordering::Relaxed));
    check!(
        b,
        code::SUBCORE_SAW_WRONG_FIB,
        good == CALLS && wrong == 0,
        "the subcore found {wrong} wrong Fib answers ({good} right)"
    );
    let (cs, ss) = (client.stats(), server.stats());
    check!(
        b,
        code::CLIENT_STATS,
        cs.late == 0 && cs.foreign == 0 && cs.malformed == 0 && cs.wrong_cmd == 0,
        "client stats {cs:?}"
    );
    check!(
        b,
        code::SERVER_STATS,
        ss.malformed == 0 && ss.invalid_cmd == 0 && ss.requests == CALLS + 2,
        "server stats {ss:?}"
    );
    b.log(format_args!("RPC both ways at once: {CALLS} ADD/Div calls to the subcore ({failed_div} divisions by zero answered EXEC_FAILED), {} Fib calls served; the subcore checked its {good} answers", ss.requests - 2));
}

/// Sequential calls: instructions per RPC round trip on this core, where it counts them.
fn timed_calls<B: MainBoard>(b: &B, dev: &Dev<'_>, client: &Client<'_>) {
    let clock = b.clock();
    let mut insns = 0u64;
    for k in 0..TIMED_CALLS {
        let t0 = b.instructions();
        let call = client
            .call(dev, ADD, &[k as u8, 0, 1, 0])
            .unwrap_or_else(|e| b.fail(code::TIMED_CALL_NOT_SENT, format_args!("{e:?}")));
        let r = call
            .response_timeout(dev, &clock, Some(TIMEOUT_MS))
            .unwrap_or_else(|e| b.fail(code::TIMED_CALL_UNANSWERED, format_args!("{e:?}")));
        check!(
            b,
            code::TIMED_CALL_WRONG,
            r.bytes() == [k as u8 + 1, 0],
            "ADD({k}, 1) answered {:?}",
            r.bytes()
        );
        drop(r);
        insns += b.instructions().zip(t0).map_or(0, |(t1, t0)| t1 - t0);
    }
    match b.instructions() {
        Some(_) => b.log(format_args!(
            "RPC: {TIMED_CALLS} sequential ADD calls; minstret per call on the maincore {} (request, wait, response)",
            insns / u64::from(TIMED_CALLS)
        )),
        None => b.log(format_args!("RPC: {TIMED_CALLS} sequential ADD calls checked")),
    }
}
