//! The `rpc` pair's maincore written with embassy (esp-hal, esp-rtos's executor and time
//! driver), against the same subcore image (`rpc`): RPC both directions at once, async.
//!
//! - One future serves the subcore's calls (`Hello`, `Fib`, `Report`) with
//!   `RpcServer::serve().await`; another calls the subcore's `ADD` and `Div` with
//!   `call_async(..).await` and takes each answer under `embassy_time::with_timeout`. They
//!   run together (`join`) in the main task; both wake on one `IrqSignal`.
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
use embassy_futures::join::join;
use embassy_time::{with_timeout, Duration, Timer};
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::typed::{Command, Typed};
use esp_amp::rpc::{RpcClient, RpcServer, Status};
use esp_amp::rpmsg::Rpmsg;
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
    println!("esp-amp embassy_rpc on {}", esp_amp_esp32::layout::CHIP.name());
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
    let ((), divisions_by_zero) = join(serving, calling).await;

    let (good, wrong) = (report_good.load(Ordering::Relaxed), report_wrong.load(Ordering::Relaxed));
    if good != CALLS || wrong != 0 {
        fail(format_args!("the subcore found {wrong} wrong Fib answers ({good} right)"));
    }
    println!(
        "RPC both ways, async: {CALLS} ADD/Div calls ({divisions_by_zero} divisions by zero answered \
         EXEC_FAILED), {} requests served; one call timed out and freed its slot",
        server.stats().requests
    );
    println!("PASS");
    loop {
        Timer::after_millis(1000).await;
    }
}
