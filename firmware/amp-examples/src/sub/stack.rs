//! `stack`: every IPC layer at once with as little application code as possible, so its
//! image sizes the whole subcore stack as linked (SysInfo, software interrupts, events,
//! queue, RPMsg and an RPC server). It waits for the maincore's `GO` event, answers
//! `READY`, then serves `SUM` until stopped.

use esp_amp::event::{DefaultEvents, Events, WaitFor};
use esp_amp::payload::PeerBytesMut;
use esp_amp::port::Platform;
use esp_amp::rpc::{Reply, Request, RpcServer, Status};
use esp_amp::rpmsg::Rpmsg;
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfo;
use esp_amp::SubCore;

use crate::protocol::stack::*;
use crate::Board;

/// `SUM`: two bytes in, their wrapping sum out.
fn sum(req: &Request<'_>, mut resp: PeerBytesMut<'_>) -> Reply {
    match req.data() {
        &[a, b] if resp.set(0, a.wrapping_add(b)) => Reply::ok(1),
        _ => Reply::new(Status::EXEC_FAILED, 1),
    }
}

pub fn stack<B: Board>(b: &B) -> ! {
    b.report_panics();
    let clock = b.clock();
    let info = SysInfo::attach(b.sys_info_pool(), b.rtc_pool());
    let Ok(sw) = SwIntr::<'_, SubCore, _>::attach(b.sw_intr_header(), b.line()) else { set_up_failed() };
    let Ok(ev) = DefaultEvents::attach(&info) else { set_up_failed() };
    let (rx, tx) = (ev.incoming::<SubCore>(), ev.outgoing::<SubCore>());
    // Blocking waits only: any interrupt ends `wait_irq`, so `events` is not registered as
    // the EVENT handler (that wakes async waiters, which this subcore has none of).
    let events: Events<'_, _> = Events::new(&sw, clock);
    let Ok(mut dev) = Rpmsg::<'_, SubCore>::attach(&info) else { set_up_failed() };
    dev.notify_with(&sw);
    let mut rq = [0u8; 8];
    let Ok(mut server) = RpcServer::<'_, 1>::new(&dev, SUB_SERVER, &mut rq) else { set_up_failed() };
    let Ok(()) = server.add_service(SUM, &sum) else { set_up_failed() };

    b.with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            let Ok(_) = events.wait_timeout(&rx, GO, WaitFor::All, true, None) else { set_up_failed() };
            events.notify(&tx, READY);
            loop {
                // Taken before polling: an interrupt during the poll ends the wait at once.
                // The maincore calls one at a time, so a response always finds a buffer.
                let epoch = clock.irq_epoch();
                if server.try_serve(&dev) == 0 {
                    clock.wait_irq(epoch, None);
                }
            }
        },
    )
}

/// The one panic site of the set-up (any failure there means the maincore did not create
/// what this image expects): a panic site costs about 20 bytes of code and 12 of data on
/// a 16 KiB core, a call 4.
#[inline(never)]
fn set_up_failed() -> ! {
    panic!("set-up: the maincore did not create the shared state this subcore expects")
}
