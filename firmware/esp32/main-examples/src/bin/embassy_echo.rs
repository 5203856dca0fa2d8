//! An async maincore on embassy (esp-hal, esp-rtos's executor and time driver) against
//! the `rpc` subcore image, which serves RPC, calls ours and echoes at `SUB_ECHO`:
//!
//! - an echo: numbered messages of every length with `Rpmsg::send_async` (which waits for
//!   a free buffer when the subcore lags), each echo taken with `recv` under
//!   `embassy_time::with_timeout` and checked;
//! - RPC calls: the subcore's `ADD` and `Div` with `call_async(..).await`, each answer
//!   under `with_timeout`;
//! - an RPC server for the subcore's own calls (`Hello`, `Fib`, `Report`) with
//!   `RpcServer::serve().await`.
//!
//! The three run together (`join3`) in the main task and wake on one `IrqSignal`.
//! - The software-interrupt handler is bound for good (`esp_amp_esp32::bind_interrupts`,
//!   with the endpoint in a `StaticCell`): `with_interrupts` would remove it before the
//!   first `.await`.
//! - A call to an endpoint nobody serves times out; the dropped call frees its slot (the
//!   client counts it cancelled).
//!
//! Prints `PASS` or `FAIL: <why>`. Built and checked by `cargo xtask esp32`; not run on
//! hardware.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use amp_examples::protocol::rpc::*;
use embassy_futures::join::join3;
use embassy_time::{with_timeout, Duration, Timer};
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::typed::{Command, Typed};
use esp_amp::rpc::{RpcClient, RpcServer, Status};
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::signal::IrqSignal;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::MainCore;
use esp_amp_esp32::{MainSwIntr, SubcoreLine};
use esp_hal::timer::timg::TimerGroup;
use esp_println::println;
use main_examples::fail;
use static_cell::StaticCell;

esp_bootloader_esp_idf::esp_app_desc!();

static SUBCORE_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rpc.bin"));

/// The endpoint the lasting interrupt binding serves, and the signal that wakes every
/// future waiting on RPMsg.
static SW: StaticCell<MainSwIntr> = StaticCell::new();
static RPMSG: IrqSignal = IrqSignal::new();

const TIMEOUT: Duration = Duration::from_millis(100);
/// Echo round trips.
const ECHOES: u32 = 500;
/// Our echo endpoint.
const MY_ECHO: u16 = 0x42;
/// An endpoint the subcore does not serve: calls there time out.
const NOBODY: u16 = 0x7F;

/// Re-poll interval while waiting for a free buffer or call slot (frees raise no
/// interrupt in the ESP-AMP protocol).
fn repoll() -> Timer {
    Timer::after_millis(1)
}

#[esp_rtos::main]
async fn main(_spawner: embassy_executor::Spawner) -> ! {
    let p = esp_hal::init(esp_hal::Config::default());
    let timg0 = TimerGroup::new(p.TIMG0);
    esp_rtos::start(timg0.timer0, p.FROM_CPU_INTR0);
    println!("esp-amp embassy_echo on {}", esp_amp_esp32::layout::CHIP.name());
    esp_amp_esp32::bind_interrupt();
    #[cfg(not(feature = "esp32p4"))]
    let mut sub = esp_amp_esp32::subcore(p.LP_CORE);
    #[cfg(feature = "esp32p4")]
    let mut sub = esp_amp_esp32::subcore(p.CPU_CTRL, p.FROM_CPU_INTR2, p.FROM_CPU_INTR3);

    let mut sys = SysInfoAllocator::init(esp_amp_esp32::sys_info_pool(), esp_amp_esp32::rtc_pool())
        .unwrap_or_else(|e| fail(format_args!("SysInfo: {e:?}")));
    let sw = SwIntr::init(esp_amp_esp32::sw_intr_header(), SubcoreLine::default())
        .unwrap_or_else(|e| fail(format_args!("sw-interrupt header: {e:?}")));
    let sw: &'static SwIntr<'static, MainCore, SubcoreLine> = SW.init(sw);
    let mut dev: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap())
        .unwrap_or_else(|e| fail(format_args!("RPMsg device: {e:?}")));
    dev.notify_with(sw);
    sw.add_handler(SwIntrId::RPMSG, &RPMSG).unwrap_or_else(|e| fail(format_args!("{e:?}")));
    esp_amp_esp32::bind_interrupts(sw).unwrap_or_else(|e| fail(format_args!("{e}")));

    // What the subcore tells us through `Hello` and `Report`.
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
    let mut server: RpcServer<'_, 4> =
        RpcServer::new(&dev, MAIN_SERVER, &mut rq).unwrap_or_else(|e| fail(format_args!("server: {e:?}")));
    server
        .add_service(Hello::ID, &hello)
        .and_then(|()| server.add_service(Fib::ID, &fib_service))
        .and_then(|()| server.add_service(Report::ID, &report))
        .unwrap_or_else(|e| fail(format_args!("services: {e:?}")));
    let client: RpcClient<'_, IN_FLIGHT> =
        RpcClient::new(&dev, MAIN_CLIENT, SUB_SERVER).unwrap_or_else(|e| fail(format_args!("client: {e:?}")));
    let lost: RpcClient<'_, 1> =
        RpcClient::new(&dev, MAIN_CLIENT + 2, NOBODY).unwrap_or_else(|e| fail(format_args!("client: {e:?}")));

    let me = dev.create_endpoint(MY_ECHO, Receiver::Mailbox).unwrap_or_else(|e| fail(format_args!("{e:?}")));

    sub.load(SUBCORE_IMAGE).unwrap_or_else(|e| fail(format_args!("load: {e:?}")));
    sub.start().unwrap_or_else(|e| fail(format_args!("start: {e:?}")));

    let serving = async {
        // Until the subcore has reported its verdict on our `Fib` answers.
        while !reported.load(Ordering::Relaxed) {
            server.serve(&dev, &RPMSG).await;
        }
    };
    let calling = async {
        // The subcore says `Hello` once its server is up.
        while hello_version.load(Ordering::Relaxed) == 0 {
            Timer::after_millis(1).await;
        }
        let mut divisions_by_zero = 0;
        for k in 0..CALLS {
            if k % 2 == 0 {
                let (x, y) = ((k * 977) as u16, (k * 60_013) as u16);
                let [x0, x1] = x.to_le_bytes();
                let [y0, y1] = y.to_le_bytes();
                let call = client
                    .call_async(&dev, ADD, &[x0, x1, y0, y1], &RPMSG, repoll)
                    .await
                    .unwrap_or_else(|e| fail(format_args!("ADD {k}: {e:?}")));
                match with_timeout(TIMEOUT, call.response(&dev, &RPMSG)).await {
                    Ok(Ok(r)) if r.status() == Status::OK && r[..] == x.wrapping_add(y).to_le_bytes() => {}
                    other => fail(format_args!("ADD({x}, {y}): {:?}", other.map(|r| r.map(|r| r.status())))),
                }
            } else {
                let (x, y) = div_args(k);
                // Typed calls wait for a free buffer the same way.
                let call = loop {
                    match client.call_typed::<Div, _, 32, 8>(&dev, &(x, y)) {
                        Ok(call) => break call,
                        Err(_) => esp_amp::signal::interrupt_or(&RPMSG, repoll()).await,
                    }
                };
                let want =
                    x.checked_div(y).ok_or(esp_amp::rpc::typed::TypedError::Status(Status::EXEC_FAILED));
                match with_timeout(TIMEOUT, call.response(&dev, &RPMSG)).await {
                    Ok(got) if got == want => divisions_by_zero += u32::from(got.is_err()),
                    other => fail(format_args!("Div({x}, {y}): {other:?}, expected {want:?}")),
                }
            }
        }
        // Nobody answers here: the timeout drops the call, which frees its slot.
        let call = lost.call(&dev, ADD, &[1, 0, 1, 0]).unwrap_or_else(|e| fail(format_args!("{e:?}")));
        if with_timeout(TIMEOUT, call.response(&dev, &RPMSG)).await.is_ok() {
            fail(format_args!("an answer from an endpoint nobody serves"));
        }
        if lost.stats().cancelled != 1 || lost.call(&dev, ADD, &[1, 0, 1, 0]).is_err() {
            fail(format_args!("the timed-out call kept its slot: {:?}", lost.stats()));
        }
        divisions_by_zero
    };
    let echoing = async {
        // After `Hello`: the subcore's endpoints exist.
        while hello_version.load(Ordering::Relaxed) == 0 {
            Timer::after_millis(1).await;
        }
        let max = dev.max_payload();
        for i in 0..ECHOES {
            let len = 4 + (i as usize % (max - 3));
            let mut out = [0u8; 64];
            out[..4].copy_from_slice(&i.to_le_bytes());
            for (k, b) in out[4..len].iter_mut().enumerate() {
                *b = (i as u8).wrapping_add(k as u8);
            }
            dev.send_async(me, SUB_ECHO, &out[..len], &RPMSG, repoll)
                .await
                .unwrap_or_else(|e| fail(format_args!("echo {i}: {e:?}")));
            match with_timeout(TIMEOUT, dev.recv(me, &RPMSG)).await {
                Ok(back) if back.src() == SUB_ECHO && back[..] == out[..len] => {}
                Ok(back) => {
                    fail(format_args!("echo {i}: {} bytes from 0x{:x}, not ours", back.len(), back.src()))
                }
                Err(_) => fail(format_args!("echo {i}: no answer within {TIMEOUT:?}")),
            }
        }
    };
    let ((), divisions_by_zero, ()) = join3(serving, calling, echoing).await;

    let (good, wrong) = (report_good.load(Ordering::Relaxed), report_wrong.load(Ordering::Relaxed));
    if good != CALLS || wrong != 0 {
        fail(format_args!("the subcore found {wrong} wrong Fib answers ({good} right)"));
    }
    println!(
        "async: {ECHOES} echoes checked; {CALLS} ADD/Div calls ({divisions_by_zero} divisions by zero \
         answered EXEC_FAILED), {} requests served; one call timed out and freed its slot",
        server.stats().requests
    );
    println!("PASS");
    loop {
        Timer::after_millis(1000).await;
    }
}
