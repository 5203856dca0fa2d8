//! `stack`, maincore half: drives the subcore's whole IPC stack once.
//! - Creates SysInfo, the software-interrupt header, the event words and the RPMsg
//!   device, then starts the subcore;
//! - sets `GO` and waits for `READY` (events, both directions, with interrupts);
//! - calls the subcore's `SUM` service [`CALLS`] times, one at a time, and checks every
//!   answer; an unknown command is answered `INVALID_CMD`.

use esp_amp::event::{DefaultEvents, Events, WaitFor};
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::{RpcClient, Status};
use esp_amp::rpmsg::Rpmsg;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::lifecycle::SubcoreHandle;
use esp_amp::MainCore;

use super::{check, stop, MainBoard, OrFail, TIMEOUT_MS};
use crate::protocol::stack::*;

/// Runs `stack`.
pub fn stack<B: MainBoard>(b: &B, sub: &mut SubcoreHandle<'_, B::Port>, image: &[u8]) {
    let clock = b.clock();
    let mut sys = SysInfoAllocator::init(b.sys_info_pool(), b.rtc_pool()).or_fail(b, "SysInfo");
    let sw: SwIntr<'_, MainCore, _> =
        SwIntr::init(b.sw_intr_header(), b.line()).or_fail(b, "sw-interrupt header");
    let ev = DefaultEvents::create(&mut sys).or_fail(b, "events");
    let (tx, rx) = (ev.outgoing::<MainCore>(), ev.incoming::<MainCore>());
    let events: Events<'_, _> = Events::new(&sw, clock);
    sw.add_handler(SwIntrId::EVENT, &events).or_fail(b, "event handler");
    let mut dev: Rpmsg<'_, MainCore> =
        Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap()).or_fail(b, "RPMsg device");
    dev.notify_with(&sw);
    let client: RpcClient<'_, 1> = RpcClient::new(&dev, MAIN_CLIENT, SUB_SERVER).or_fail(b, "client");
    super::load_and_start(b, sub, image);

    b.with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            events.notify(&tx, GO);
            let got = events.wait_timeout(&rx, READY, WaitFor::All, true, Some(TIMEOUT_MS));
            check!(b, 10, got.is_ok(), "no READY from the subcore: {got:?}");
            for n in 0..CALLS {
                let (x, y) = (n as u8, (n * 7) as u8);
                let call = client.call(&dev, SUM, &[x, y]).or_fail(b, "SUM call");
                let resp = call.response_timeout(&dev, &clock, Some(TIMEOUT_MS)).or_fail(b, "SUM answer");
                check!(
                    b,
                    11,
                    resp.status() == Status::OK && resp.bytes() == [x.wrapping_add(y)],
                    "SUM({x}, {y}): {:?} {:?}",
                    resp.status(),
                    resp.bytes()
                );
            }
            let call = client.call(&dev, UNKNOWN, &[0]).or_fail(b, "unknown call");
            let resp = call.response_timeout(&dev, &clock, Some(TIMEOUT_MS)).or_fail(b, "unknown answer");
            check!(b, 12, resp.status() == Status::INVALID_CMD, "unknown command: {:?}", resp.status());
            b.log(format_args!(
                "stack: GO/READY events, then {CALLS} SUM calls answered right and an unknown command refused, \
                 through SysInfo, software interrupts, RPMsg and RPC"
            ));
        },
    );
    stop(b, sub);
}
