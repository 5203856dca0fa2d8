//! An async maincore and an async subcore in two processes (the subcore is this test
//! binary again, running the ignored half), each with a real executor
//! (`futures::executor::block_on`) and timer (`futures-timer`), and each with its interrupt
//! handler bound for good (`HostCore::bind_interrupts`), so waits that start after any
//! number of `.await`s are still woken:
//!
//! 1. events: the subcore announces itself (`Events::wait`, async);
//! 2. a burst of three times the queue with `Rpmsg::send_async` while the subcore does not
//!    read: the first sends complete at once, then a send waits (a dropped waiting send
//!    takes no buffer), and the rest go out once the subcore, told by an event, drains the
//!    queue; every echo comes back in order;
//! 3. RPC: `call_async` + `response` under a timeout, all answered; a call to an endpoint
//!    nobody serves times out, and dropping it frees its slot;
//! 4. an event tells the subcore to stop; it exits cleanly.

use std::future::Future;
use std::pin::pin;
use std::process::Command;
use std::task::Context;
use std::time::Duration;

use esp_amp::event::{DefaultEvents, Events, WaitFor};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::{Reply, Request, RpcClient, RpcServer, Status};
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::signal::IrqSignal;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{SysInfo, SysInfoAllocator};
use esp_amp::{MainCore, SubCore};
use esp_amp_host::{HostCore, HostRegion, Side, ENV_REGION_PATH};
use futures::future::{select, Either};

const ECHO_EPT: u16 = 0x20;
const MAIN_EPT: u16 = 0x21;
const SERVER: u16 = 0x30;
const CLIENT: u16 = 0x31;
/// Nobody serves this endpoint: calls there time out.
const NOBODY: u16 = 0x7F;
const ADD: u16 = 1;
/// Buffers per direction: a burst of [`BURST`] is three queues.
const QUEUE_LEN: u32 = 4;
const BURST: u32 = 3 * QUEUE_LEN;
const CALLS: u8 = 20;
/// Event bits. Subcore → maincore: `READY`. Maincore → subcore: `GO` (start echoing), `DONE`.
const READY: u32 = 1;
const GO: u32 = 1;
const DONE: u32 = 2;
/// A bound on every wait that should end (the test fails instead of hanging).
const PATIENCE_MS: u64 = 5_000;

fn sleep(ms: u64) -> futures_timer::Delay {
    futures_timer::Delay::new(Duration::from_millis(ms))
}

/// `f`'s output, or `None` after `ms` (then `f` is dropped).
async fn with_timeout<F: Future>(ms: u64, f: F) -> Option<F::Output> {
    match select(pin!(f), sleep(ms)).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

/// Polls `f` once: `true` if it is still pending.
fn pending_once<F: Future>(f: std::pin::Pin<&mut F>) -> bool {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    f.poll(&mut cx).is_pending()
}

fn payload(i: u32) -> [u8; 8] {
    let mut p = [0u8; 8];
    p[..4].copy_from_slice(&i.to_le_bytes());
    p[4..].copy_from_slice(&(i * 31).to_le_bytes());
    p
}

/// A failed maincore does not leave the subcore process behind.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The region and both cores live for the rest of the process: the lasting interrupt
/// binding takes `'static` references, as on a chip.
fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

#[test]
fn async_maincore_and_async_subcore_in_two_processes() {
    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
    let region = leak(HostRegion::create(&layout).unwrap());
    let core = leak(HostCore::new(region, Side::Main));
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let sw = leak(SwIntr::<MainCore, _>::init(region.sw_intr_header(), core).unwrap());
    let ev = DefaultEvents::create(&mut sys).unwrap();
    let (to_sub, from_sub) = (ev.outgoing::<MainCore>(), ev.incoming::<MainCore>());
    let events = leak(Events::<_, 4>::new(sw, core));
    let rpmsg = leak(IrqSignal::<4>::new());
    sw.add_handler(SwIntrId::RPMSG, rpmsg).unwrap();
    sw.add_handler(SwIntrId::EVENT, events).unwrap();
    let mut dev: Rpmsg<'_, MainCore> =
        Rpmsg::create(&mut sys, QueueSpec::new(QUEUE_LEN, 64).unwrap()).unwrap();
    dev.notify_with(sw);
    let me = dev.create_endpoint(MAIN_EPT, Receiver::Mailbox).unwrap();
    let client: RpcClient<'_, 2> = RpcClient::new(&dev, CLIENT, SERVER).unwrap();
    let lost: RpcClient<'_, 1> = RpcClient::new(&dev, CLIENT + 2, NOBODY).unwrap();

    core.bind_interrupts(move || {
        sw.isr();
    })
    .unwrap();
    assert!(core.bind_interrupts(|| {}).is_err(), "bound once only");

    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "async_subcore", "--include-ignored", "--nocapture"]);
    let mut child = KillOnDrop(esp_amp_host::spawn_subcore(&mut cmd, region).unwrap());

    futures::executor::block_on(async {
        // 1. The subcore is up (an event wait that starts after the binding, in a task).
        let ready = with_timeout(PATIENCE_MS, events.wait(&from_sub, READY, WaitFor::All, true)).await;
        assert!(ready.is_some(), "no READY from the subcore");

        // 2. The subcore does not read yet: the first QUEUE_LEN sends complete at once.
        let repoll = || sleep(1);
        for i in 0..QUEUE_LEN {
            let p = payload(i);
            let sent = dev.send_async(me, ECHO_EPT, &p, rpmsg, repoll);
            assert!(!pending_once(pin!(sent)), "send {i} waited with free buffers");
        }
        // The next one waits; dropped while waiting, it has taken nothing.
        {
            let mut waiting = pin!(dev.send_async(me, ECHO_EPT, b"dropped", rpmsg, repoll));
            assert!(pending_once(waiting.as_mut()), "a send into a full queue did not wait");
        }
        let sent_before = dev.stats().sent;
        // The rest waits for buffers the subcore frees once told to start.
        let burst = async {
            for i in QUEUE_LEN..BURST {
                dev.send_async(me, ECHO_EPT, &payload(i), rpmsg, repoll).await.unwrap();
            }
        };
        let go = async {
            sleep(20).await;
            assert_eq!(dev.stats().sent, sent_before, "sent into a full queue");
            events.notify(&to_sub, GO);
        };
        // The echoes are read meanwhile: the subcore's own sends wait for our frees.
        let echoes = async {
            for i in 0..BURST {
                let echo = dev.recv(me, rpmsg).await;
                assert_eq!(echo.bytes(), payload(i), "echo {i}");
            }
        };
        let done = with_timeout(PATIENCE_MS, futures::future::join3(burst, go, echoes)).await;
        assert!(done.is_some(), "the burst stalled");

        // 3. RPC, answered, each under a timeout.
        for k in 0..CALLS {
            let call = client.call_async(&dev, ADD, &[k, 1], rpmsg, repoll).await.unwrap();
            let r = with_timeout(PATIENCE_MS, call.response(&dev, rpmsg)).await.expect("an answer").unwrap();
            assert!(r.status() == Status::OK && r.bytes() == [k + 1], "ADD({k}, 1)");
        }
        // Nobody answers there: the timeout drops the call, which frees its slot.
        let call = lost.call(&dev, ADD, &[1, 1]).unwrap();
        assert_eq!(lost.in_flight(), 1);
        assert!(with_timeout(50, call.response(&dev, rpmsg)).await.is_none());
        assert_eq!((lost.in_flight(), lost.stats().cancelled), (0, 1));

        // 4. Stop the subcore.
        events.notify(&to_sub, DONE);
    });
    assert!(child.0.wait().unwrap().success(), "the subcore process failed");
    let s = client.stats();
    assert_eq!((s.late, s.malformed, s.cancelled), (0, 0, 0), "{s:?}");
}

#[test]
#[ignore = "subcore half of async_maincore_and_async_subcore_in_two_processes"]
fn async_subcore() {
    if std::env::var_os(ENV_REGION_PATH).is_none() {
        return;
    }
    let region = leak(HostRegion::open_from_env().unwrap());
    let core = leak(HostCore::new(region, Side::Sub));
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    let sw = leak(SwIntr::<SubCore, _>::attach(region.sw_intr_header(), core).unwrap());
    let ev = DefaultEvents::attach(&info).unwrap();
    let (to_main, from_main) = (ev.outgoing::<SubCore>(), ev.incoming::<SubCore>());
    let events = leak(Events::<_, 4>::new(sw, core));
    let rpmsg = leak(IrqSignal::<4>::new());
    sw.add_handler(SwIntrId::RPMSG, rpmsg).unwrap();
    sw.add_handler(SwIntrId::EVENT, events).unwrap();
    let mut dev: Rpmsg<'_, SubCore> = Rpmsg::attach(&info).unwrap();
    dev.notify_with(sw);
    let echo = dev.create_endpoint(ECHO_EPT, Receiver::Mailbox).unwrap();
    let add = |req: &Request<'_>, mut resp: esp_amp::payload::PeerBytesMut<'_>| match req.data() {
        &[a, b] if resp.set(0, a.wrapping_add(b)) => Reply::ok(1),
        _ => Reply::new(Status::EXEC_FAILED, 0),
    };
    let mut rq = [0u8; 32];
    let mut server: RpcServer<'_, 1> = RpcServer::new(&dev, SERVER, &mut rq).unwrap();
    server.add_service(ADD, &add).unwrap();
    core.bind_interrupts(move || {
        sw.isr();
    })
    .unwrap();

    // Bounded, so a maincore that failed (and stopped talking) cannot leave it running.
    let run = async {
        events.notify(&to_main, READY);
        events.wait(&from_main, GO, WaitFor::All, true).await;
        let stopped = || events.wait(&from_main, DONE, WaitFor::All, false);
        let echoing = async {
            loop {
                match select(pin!(dev.recv(echo, rpmsg)), pin!(stopped())).await {
                    Either::Left((msg, _)) => {
                        // Copied out of the peer's buffer first (`forward` has no async form).
                        let data: Vec<u8> = msg.bytes().iter().collect();
                        dev.send_async(echo, msg.src(), &data, rpmsg, || sleep(1)).await.unwrap();
                    }
                    Either::Right(_) => return,
                }
            }
        };
        let serving = async {
            loop {
                match select(pin!(server.serve(&dev, rpmsg)), pin!(stopped())).await {
                    Either::Left(_) => {}
                    Either::Right(_) => return,
                }
            }
        };
        futures::future::join(echoing, serving).await;
    };
    assert!(futures::executor::block_on(with_timeout(4 * PATIENCE_MS, run)).is_some(), "no DONE");
}
