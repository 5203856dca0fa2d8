//! `rpc`: serves `ADD` (raw) and `Div` (typed) at endpoint 0x30, and at the same time calls
//! the maincore's `Fib` service from endpoint 0x31 with up to four calls in flight, checks
//! every answer, and reports its verdict with `Report`.

use crate::sub::Check;
use esp_amp::payload::PeerBytesMut;
use esp_amp::port::Platform;
use esp_amp::rpc::typed::{Command, Typed, TypedCall, TypedError};
use esp_amp::rpc::{Reply, Request, RpcClient, RpcError, RpcServer, Status};
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfo;
use esp_amp::SubCore;

use crate::protocol::rpc::*;
use crate::Board;

/// The raw `ADD` service.
fn add(req: &Request<'_>, mut resp: PeerBytesMut<'_>) -> Reply {
    match *req.data() {
        [a0, a1, b0, b1] => {
            let sum = u16::from_le_bytes([a0, a1]).wrapping_add(u16::from_le_bytes([b0, b1]));
            match resp.write(0, &sum.to_le_bytes()) {
                Ok(()) => Reply::ok(2),
                Err(_) => Reply::new(Status::EXEC_FAILED, 0),
            }
        }
        _ => Reply::new(Status::EXEC_FAILED, 1),
    }
}

pub fn rpc<B: Board>(b: &B) -> ! {
    b.report_panics();
    let clock = b.clock();
    let info = SysInfo::attach(b.sys_info_pool(), b.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(b.sw_intr_header(), b.line()).check();
    let mut dev: Rpmsg<'_, SubCore> = Rpmsg::attach(&info).check();
    dev.notify_with(&sw);
    let div = Typed::<Div, _>::new(|(a, b): (i32, i32)| a.checked_div(b).ok_or(Status::EXEC_FAILED));
    let mut rq = [0u8; 64];
    let mut server: RpcServer<'_, 4> = RpcServer::new(&dev, SUB_SERVER, &mut rq).check();
    server.add_service(ADD, &add).check();
    server.add_service(Div::ID, &div).check();
    let client: RpcClient<'_, IN_FLIGHT> = RpcClient::new(&dev, SUB_CLIENT, MAIN_SERVER).check();
    let echo = dev.create_endpoint(SUB_ECHO, Receiver::Mailbox).check();
    // Echoes what waits at `SUB_ECHO` (a full ring drops the echo: the sender sees it
    // missing).
    let echo_back = || {
        while let Some(m) = dev.try_recv(echo) {
            let _ = dev.forward(echo, m.src(), m.bytes());
        }
    };

    b.with_interrupts(
        &|| {
            // Only wakes the loop below (the irq epoch moves).
            sw.isr();
        },
        || {
            // Our server exists: tell the maincore, which waits for this before calling.
            let hello = client.call_typed::<Hello, _, 32, 8>(&dev, &VERSION).check();
            match hello.response_timeout(&dev, &clock, Some(2000)) {
                Ok(v) if v == VERSION => {}
                other => panic!("hello: {other:?}"),
            }
            b.log(format_args!("[hart 1] serving ADD and Div at 0x{SUB_SERVER:x}; calling Fib at 0x{MAIN_SERVER:x}"));

            let mut calls: [Option<(u32, TypedCall<'_, '_, IN_FLIGHT, Fib>)>; IN_FLIGHT] = Default::default();
            let (mut next, mut answered, mut good, mut wrong) = (0u32, 0u32, 0u32, 0u32);
            let mut reported = false;
            loop {
                let epoch = clock.irq_epoch();
                server.try_serve(&dev);
                echo_back();
                for slot in calls.iter_mut() {
                    if slot.is_none() && next < CALLS {
                        let n = next % 100;
                        match client.call_typed::<Fib, _, 32, 8>(&dev, &n) {
                            Ok(call) => {
                                *slot = Some((n, call));
                                next += 1;
                            }
                            // Every buffer is with the maincore: try again on the next round.
                            Err(TypedError::Rpc(RpcError::NoMem)) => {}
                            Err(e) => panic!("Fib({n}): {e:?}"),
                        }
                    }
                    let Some((n, call)) = slot else { continue };
                    let Some(answer) = call.try_response(&dev) else { continue };
                    let ok = match (fib(*n), answer) {
                        (Some(want), Ok(got)) => want == got,
                        (None, Err(TypedError::Status(Status::EXEC_FAILED))) => true,
                        _ => false,
                    };
                    (good, wrong) = (good + u32::from(ok), wrong + u32::from(!ok));
                    answered += 1;
                    *slot = None;
                }
                if answered == CALLS && !reported {
                    // Keep serving while the report travels: the maincore may be calling us.
                    let mut verdict = loop {
                        let epoch = clock.irq_epoch();
                        server.try_serve(&dev);
                        echo_back();
                        match client.call_typed::<Report, _, 32, 8>(&dev, &(good, wrong)) {
                            Ok(call) => break call,
                            Err(TypedError::Rpc(RpcError::NoMem)) => clock.wait_irq(epoch, Some(1)),
                            Err(e) => panic!("report: {e:?}"),
                        }
                    };
                    loop {
                        let epoch = clock.irq_epoch();
                        server.try_serve(&dev);
                        echo_back();
                        match verdict.try_response(&dev) {
                            Some(Ok(())) => break,
                            Some(Err(e)) => panic!("report: {e:?}"),
                            None => clock.wait_irq(epoch, Some(1)),
                        }
                    }
                    reported = true;
                    b.log(format_args!(
                        "[hart 1] {CALLS} Fib calls answered ({good} right, {wrong} wrong); served {} requests so far",
                        server.stats().requests
                    ));
                }
                // A response waiting for a buffer is retried within 1 ms (frees raise no
                // interrupt).
                clock.wait_irq(epoch, Some(1));
            }
        },
    )
}
