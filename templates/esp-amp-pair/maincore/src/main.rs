//! The maincore: loads the subcore image that the build script built and embedded, starts
//! it, and sends it numbered messages over RPMsg; the subcore echoes each one back.
#![no_std]
#![no_main]
{% if maincore == "embassy" %}
use embassy_executor::Spawner;
use embassy_time::{with_timeout, Duration, Timer};
use esp_amp::queue::QueueSpec;
use esp_amp::rpmsg::{Endpoint, Receiver, Rpmsg};
use esp_amp::signal::IrqSignal;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::MainCore;
use esp_amp_esp32::{MainSwIntr, SubcoreLine};
use esp_hal::timer::timg::TimerGroup;
use esp_println::println;
use static_cell::StaticCell;

esp_bootloader_esp_idf::esp_app_desc!();

/// The subcore binary `subcore` (the package in ../subcore) as an ESP app image.
static SUBCORE: &[u8] = esp_amp_esp32::include_subcore!("subcore");

/// The subcore's echo endpoint, and ours.
const ECHO_EPT: u16 = 0x20;
const MY_EPT: u16 = 0x21;

type Dev = Rpmsg<'static, MainCore>;
static SW: StaticCell<MainSwIntr> = StaticCell::new();
static DEV: StaticCell<Dev> = StaticCell::new();
/// Wakes the tasks waiting on RPMsg (the handler of `SwIntrId::RPMSG`).
static RPMSG: IrqSignal = IrqSignal::new();

#[embassy_executor::task]
async fn echo(dev: &'static Dev, me: Endpoint) {
    for i in 0u32.. {
        // Frees raise no interrupt in the ESP-AMP protocol: a full queue is re-polled.
        let (payload, repoll) = (i.to_le_bytes(), || Timer::after_millis(1));
        if let Err(e) = dev.send_async(me, ECHO_EPT, &payload, &RPMSG, repoll).await {
            println!("send {i}: {e:?}");
        }
        match with_timeout(Duration::from_millis(100), dev.recv(me, &RPMSG)).await {
            Ok(msg) => println!("echo {i}: {:?} from endpoint {:#x}", msg.bytes(), msg.src()),
            Err(_) => println!("echo {i}: no answer within 100 ms"),
        }
        Timer::after_millis(1000).await;
    }
}

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    let p = esp_hal::init(esp_hal::Config::default());
    let timg0 = TimerGroup::new(p.TIMG0);
    esp_rtos::start(timg0.timer0, p.FROM_CPU_INTR0);
    esp_amp_esp32::bind_interrupt();
{% if chip == "esp32p4" %}    let mut sub = esp_amp_esp32::subcore(p.CPU_CTRL, p.FROM_CPU_INTR2, p.FROM_CPU_INTR3);
{% else %}    let mut sub = esp_amp_esp32::subcore(p.LP_CORE);
{% endif %}
    // The shared state, created before the subcore starts (it attaches to it).
    let mut sys = SysInfoAllocator::init(esp_amp_esp32::sys_info_pool(), esp_amp_esp32::rtc_pool())
        .expect("shared memory");
    let sw = SwIntr::init(esp_amp_esp32::sw_intr_header(), SubcoreLine::default());
    let sw: &'static MainSwIntr = SW.init(sw.expect("sw interrupts"));
    let dev = Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap());
    let dev: &'static mut Dev = DEV.init(dev.expect("RPMsg device"));
    dev.notify_with(sw);
    let dev: &'static Dev = dev;
    let me = dev
        .create_endpoint(MY_EPT, Receiver::Mailbox)
        .expect("endpoint");
    sw.add_handler(SwIntrId::RPMSG, &RPMSG).expect("handler");
    // For the rest of the program: a scoped `with_interrupts` would end before the first `.await`.
    esp_amp_esp32::bind_interrupts(sw).expect("bound once");

    sub.load(SUBCORE).expect("the subcore image");
    sub.start().expect("start");
    println!("subcore started ({} bytes)", SUBCORE.len());
    spawner.spawn(echo(dev, me).expect("one echo task"));
    loop {
        Timer::after_millis(1000).await;
    }
}
{% else %}
use esp_amp::port::Platform;
use esp_amp::queue::QueueSpec;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::panic::PanicMonitor;
use esp_amp::MainCore;
use esp_amp_esp32::{EspPlatform, SubcoreLine};
use esp_println::println;

esp_bootloader_esp_idf::esp_app_desc!();

/// The subcore binary `subcore` (the package in ../subcore) as an ESP app image.
static SUBCORE: &[u8] = esp_amp_esp32::include_subcore!("subcore");

/// The subcore's echo endpoint, and ours.
const ECHO_EPT: u16 = 0x20;
const MY_EPT: u16 = 0x21;

#[esp_hal::main]
fn main() -> ! {
    let p = esp_hal::init(esp_hal::Config::default());
    esp_amp_esp32::bind_interrupt();
{% if chip == "esp32p4" %}    let mut sub = esp_amp_esp32::subcore(p.CPU_CTRL, p.FROM_CPU_INTR2, p.FROM_CPU_INTR3);
{% else %}    let mut sub = esp_amp_esp32::subcore(p.LP_CORE);
{% endif %}
    // The shared state, created before the subcore starts (it attaches to it).
    let mut sys = SysInfoAllocator::init(esp_amp_esp32::sys_info_pool(), esp_amp_esp32::rtc_pool())
        .expect("shared memory");
    let sw: SwIntr<'_, MainCore, _> =
        SwIntr::init(esp_amp_esp32::sw_intr_header(), SubcoreLine::default())
            .expect("sw interrupts");
    let mut dev: Rpmsg<'_, MainCore> =
        Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap()).expect("RPMsg device");
    dev.notify_with(&sw);
    let me = dev
        .create_endpoint(MY_EPT, Receiver::Mailbox)
        .expect("endpoint");
    // A subcore panic raises software interrupt 28; its report is in the panic dump.
    let monitor = PanicMonitor::new(SubcoreLine::default());
    sw.add_handler(SwIntrId::PANIC, &monitor).expect("handler");

    sub.load(SUBCORE).expect("the subcore image");
    sub.start().expect("start");
    println!("subcore started ({} bytes)", SUBCORE.len());
    esp_amp_esp32::with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            for i in 0u32.. {
                if sub.handle_panic(&monitor, |report| println!("{report}")) {
                    break;
                }
                if let Err(e) =
                    dev.send_timeout(me, ECHO_EPT, &i.to_le_bytes(), &EspPlatform, Some(100))
                {
                    println!("send {i}: {e:?}");
                }
                match dev.recv_timeout(me, &EspPlatform, Some(100)) {
                    Ok(msg) => {
                        println!("echo {i}: {:?} from endpoint {:#x}", msg.bytes(), msg.src())
                    }
                    Err(e) => println!("echo {i}: {e:?}"),
                }
                EspPlatform.delay_us(1_000_000);
            }
        },
    );
    loop {
        core::hint::spin_loop();
    }
}
{% endif %}
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("maincore panic: {info}");
    loop {
        core::hint::spin_loop();
    }
}
