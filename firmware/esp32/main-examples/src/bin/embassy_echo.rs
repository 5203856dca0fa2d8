//! An async maincore on embassy (esp-hal, esp-rtos's executor and time driver) against
//! the `rpc` subcore image, which serves RPC, calls ours and echoes at `SUB_ECHO`. Three
//! embassy tasks share one RPMsg device and wake on one `IrqSignal`:
//!
//! - `echo`: numbered messages of every length with `Rpmsg::send_async` (which waits for a
//!   free buffer when the subcore lags), each echo taken with `recv` under
//!   `embassy_time::with_timeout` and checked;
//! - `call`: the subcore's `ADD` and `Div` with `call_async(..).await`, each answer under
//!   `with_timeout`; one call to an endpoint nobody serves times out, and dropping it frees
//!   its slot;
//! - `serve`: the subcore's own calls (`Hello`, `Fib`, `Report`) with
//!   `RpcServer::serve().await`.
//!
//! The software-interrupt handler is bound for good (`esp_amp_esp32::bind_interrupts`):
//! `with_interrupts` would remove it before the first `.await`. What the tasks share lives
//! in `StaticCell`s and statics, as embassy tasks take `'static` arguments.
//!
//! Prints `PASS` or `FAIL: <why>`. Built and checked by `cargo xtask esp32`; not run on
//! hardware.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use amp_examples::protocol::rpc::*;
use embassy_executor::Spawner;
use embassy_time::{with_timeout, Duration, Instant, Timer};
use esp_amp::queue::QueueSpec;
use esp_amp::rpc::typed::{Command, Typed, TypedError};
use esp_amp::rpc::{RpcClient, RpcServer, Status};
use esp_amp::rpmsg::{Endpoint, Receiver, Rpmsg};
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

static SUBCORE_IMAGE: &[u8] = esp_amp_esp32::include_subcore!("rpc");

type Dev = Rpmsg<'static, MainCore>;
/// A typed service whose handler is a plain function (nameable, so it fits a static).
type Service<C> = Typed<C, fn(<C as Command>::Request) -> Result<<C as Command>::Response, Status>>;

/// What the tasks share, set up once in `main`.
static SW: StaticCell<MainSwIntr> = StaticCell::new();
static DEV: StaticCell<Dev> = StaticCell::new();
static REQUESTS: StaticCell<[u8; 64]> = StaticCell::new();
static SERVER: StaticCell<RpcServer<'static, 4>> = StaticCell::new();
static CLIENT: StaticCell<RpcClient<'static, IN_FLIGHT>> = StaticCell::new();
static LOST: StaticCell<RpcClient<'static, 1>> = StaticCell::new();
static HELLO: StaticCell<Service<Hello>> = StaticCell::new();
static FIB: StaticCell<Service<Fib>> = StaticCell::new();
static REPORT: StaticCell<Service<Report>> = StaticCell::new();
/// Wakes every task waiting on RPMsg (the handler of `SwIntrId::RPMSG`).
static RPMSG: IrqSignal = IrqSignal::new();

/// What the subcore told us, and how far the tasks got.
static HELLO_VERSION: AtomicU32 = AtomicU32::new(0);
static FIB_SERVED: AtomicU32 = AtomicU32::new(0);
static REPORTED: AtomicBool = AtomicBool::new(false);
static REPORT_GOOD: AtomicU32 = AtomicU32::new(0);
static REPORT_WRONG: AtomicU32 = AtomicU32::new(0);
static ECHOED: AtomicBool = AtomicBool::new(false);
static CALLED: AtomicBool = AtomicBool::new(false);
static DIVISIONS_BY_ZERO: AtomicU32 = AtomicU32::new(0);

const TIMEOUT: Duration = Duration::from_millis(100);
/// How long the whole exchange may take.
const DEADLINE: Duration = Duration::from_secs(30);
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

fn hello(v: u32) -> Result<u32, Status> {
    HELLO_VERSION.store(v, Ordering::Relaxed);
    Ok(VERSION)
}

fn fib_service(n: u32) -> Result<u64, Status> {
    FIB_SERVED.fetch_add(1, Ordering::Relaxed);
    fib(n).ok_or(Status::EXEC_FAILED)
}

fn report((good, wrong): (u32, u32)) -> Result<(), Status> {
    REPORT_GOOD.store(good, Ordering::Relaxed);
    REPORT_WRONG.store(wrong, Ordering::Relaxed);
    REPORTED.store(true, Ordering::Relaxed);
    Ok(())
}

/// Until the subcore's `Hello`: its endpoints and server exist.
async fn subcore_up() {
    while HELLO_VERSION.load(Ordering::Relaxed) == 0 {
        Timer::after_millis(1).await;
    }
}

#[embassy_executor::task]
async fn serve(server: &'static mut RpcServer<'static, 4>, dev: &'static Dev) {
    loop {
        server.serve(dev, &RPMSG).await;
    }
}

#[embassy_executor::task]
async fn echo(dev: &'static Dev, me: Endpoint) {
    subcore_up().await;
    let max = dev.max_payload();
    for i in 0..ECHOES {
        let (out, len) = main_examples::echo_payload(i, max);
        dev.send_async(me, SUB_ECHO, &out[..len], &RPMSG, repoll)
            .await
            .unwrap_or_else(|e| fail(format_args!("echo {i}: {e:?}")));
        match with_timeout(TIMEOUT, dev.recv(me, &RPMSG)).await {
            Ok(back) if back.src() == SUB_ECHO && back.bytes() == out[..len] => {}
            Ok(back) => {
                fail(format_args!("echo {i}: {} bytes from 0x{:x}, not ours", back.len(), back.src()))
            }
            Err(_) => fail(format_args!("echo {i}: no answer within {TIMEOUT:?}")),
        }
    }
    ECHOED.store(true, Ordering::Relaxed);
}

#[embassy_executor::task]
async fn call(
    dev: &'static Dev,
    client: &'static RpcClient<'static, IN_FLIGHT>,
    lost: &'static RpcClient<'static, 1>,
) {
    subcore_up().await;
    for k in 0..CALLS {
        if k % 2 == 0 {
            let (x, y) = ((k * 977) as u16, (k * 60_013) as u16);
            let [x0, x1] = x.to_le_bytes();
            let [y0, y1] = y.to_le_bytes();
            let call = client
                .call_async(dev, ADD, &[x0, x1, y0, y1], &RPMSG, repoll)
                .await
                .unwrap_or_else(|e| fail(format_args!("ADD {k}: {e:?}")));
            match with_timeout(TIMEOUT, call.response(dev, &RPMSG)).await {
                Ok(Ok(r)) if r.status() == Status::OK && r.bytes() == x.wrapping_add(y).to_le_bytes() => {}
                other => fail(format_args!("ADD({x}, {y}): {:?}", other.map(|r| r.map(|r| r.status())))),
            }
        } else {
            let (x, y) = div_args(k);
            let call = client
                .call_typed_async::<Div, _, 32, 8, 4, _>(dev, &(x, y), &RPMSG, repoll)
                .await
                .unwrap_or_else(|e| fail(format_args!("Div {k}: {e:?}")));
            let want = x.checked_div(y).ok_or(TypedError::Status(Status::EXEC_FAILED));
            match with_timeout(TIMEOUT, call.response(dev, &RPMSG)).await {
                Ok(got) if got == want => {
                    DIVISIONS_BY_ZERO.fetch_add(u32::from(got.is_err()), Ordering::Relaxed);
                }
                other => fail(format_args!("Div({x}, {y}): {other:?}, expected {want:?}")),
            }
        }
    }
    // Nobody answers there: the timeout drops the call, which frees its slot.
    let call = lost.call(dev, ADD, &[1, 0, 1, 0]).unwrap_or_else(|e| fail(format_args!("{e:?}")));
    if with_timeout(TIMEOUT, call.response(dev, &RPMSG)).await.is_ok() {
        fail(format_args!("an answer from an endpoint nobody serves"));
    }
    if lost.stats().cancelled != 1 || lost.in_flight() != 0 {
        fail(format_args!("the timed-out call kept its slot: {:?}", lost.stats()));
    }
    CALLED.store(true, Ordering::Relaxed);
}

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
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
    let sw: &'static MainSwIntr = SW.init(sw);
    let mut dev: Dev = Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap())
        .unwrap_or_else(|e| fail(format_args!("RPMsg device: {e:?}")));
    dev.notify_with(sw);
    let dev: &'static Dev = DEV.init(dev);
    sw.add_handler(SwIntrId::RPMSG, &RPMSG).unwrap_or_else(|e| fail(format_args!("{e:?}")));
    esp_amp_esp32::bind_interrupts(sw).unwrap_or_else(|e| fail(format_args!("{e}")));

    let server = SERVER.init(
        RpcServer::new(dev, MAIN_SERVER, REQUESTS.init([0; 64]))
            .unwrap_or_else(|e| fail(format_args!("server: {e:?}"))),
    );
    let services = [
        (Hello::ID, HELLO.init(Typed::new(hello as _)) as &'static dyn esp_amp::rpc::Handler),
        (Fib::ID, FIB.init(Typed::new(fib_service as _))),
        (Report::ID, REPORT.init(Typed::new(report as _))),
    ];
    for (id, service) in services {
        server.add_service(id, service).unwrap_or_else(|e| fail(format_args!("service {id}: {e:?}")));
    }
    let client = CLIENT.init(
        RpcClient::new(dev, MAIN_CLIENT, SUB_SERVER).unwrap_or_else(|e| fail(format_args!("client: {e:?}"))),
    );
    let lost = LOST
        .init(RpcClient::new(dev, MAIN_CLIENT + 2, NOBODY).unwrap_or_else(|e| fail(format_args!("{e:?}"))));
    let me = dev.create_endpoint(MY_ECHO, Receiver::Mailbox).unwrap_or_else(|e| fail(format_args!("{e:?}")));

    sub.load(SUBCORE_IMAGE).unwrap_or_else(|e| fail(format_args!("load: {e:?}")));
    sub.start().unwrap_or_else(|e| fail(format_args!("start: {e:?}")));

    // embassy-executor 0.10: a task function returns its spawn token, or an error when its
    // pool (one task each here) is taken.
    spawner.spawn(serve(server, dev).unwrap_or_else(|_| fail(format_args!("spawn serve"))));
    spawner.spawn(echo(dev, me).unwrap_or_else(|_| fail(format_args!("spawn echo"))));
    spawner.spawn(call(dev, client, lost).unwrap_or_else(|_| fail(format_args!("spawn call"))));

    let start = Instant::now();
    while !(ECHOED.load(Ordering::Relaxed)
        && CALLED.load(Ordering::Relaxed)
        && REPORTED.load(Ordering::Relaxed))
    {
        if start.elapsed() > DEADLINE {
            fail(format_args!("the tasks did not finish within {DEADLINE:?}"));
        }
        Timer::after_millis(10).await;
    }
    let (good, wrong) = (REPORT_GOOD.load(Ordering::Relaxed), REPORT_WRONG.load(Ordering::Relaxed));
    if good != CALLS || wrong != 0 {
        fail(format_args!("the subcore found {wrong} wrong Fib answers ({good} right)"));
    }
    println!(
        "async: {ECHOES} echoes checked; {CALLS} ADD/Div calls ({} divisions by zero answered \
         EXEC_FAILED); {} Fib calls served; one call timed out and freed its slot",
        DIVISIONS_BY_ZERO.load(Ordering::Relaxed),
        FIB_SERVED.load(Ordering::Relaxed)
    );
    println!("PASS");
    loop {
        Timer::after_millis(1000).await;
    }
}
