//! RPMsg echo, maincore side (HP core 0, esp-hal): creates the shared state, loads the
//! subcore image `rpmsg_echo` (embedded by the build script) with the checked loader,
//! starts the subcore, then sends numbered messages of every length to its echo endpoint
//! and checks each reply (source, length, bytes). A subcore panic is reported from the
//! dump. Prints `PASS` or `FAIL: <why>`.
#![no_std]
#![no_main]

use esp_amp::image::load::plan;
use esp_amp::port::Platform;
use esp_amp::queue::QueueSpec;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::panic::PanicMonitor;
use esp_amp::MainCore;
use esp_amp_esp32::{EspPlatform, EspSubcore, SubcoreLine};
use esp_println::println;
use main_examples::{fail, report_subcore_panic};

esp_bootloader_esp_idf::esp_app_desc!();

static SUBCORE_IMAGE: &[u8] = esp_amp_esp32::include_subcore!("rpmsg_echo");

/// The subcore's echo endpoint, and ours.
const ECHO_EPT: u16 = 0x20;
const MY_EPT: u16 = 0x21;
const ROUNDS: u32 = 1000;
const TIMEOUT_MS: u32 = 100;

#[esp_hal::main]
fn main() -> ! {
    main_examples::run("rpmsg_echo", SUBCORE_IMAGE, |_, sub| echo(sub))
}

fn echo(sub: &mut EspSubcore) {
    let mut sys = SysInfoAllocator::init(esp_amp_esp32::sys_info_pool(), esp_amp_esp32::rtc_pool())
        .unwrap_or_else(|e| fail(format_args!("SysInfo: {e:?}")));
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(esp_amp_esp32::sw_intr_header(), SubcoreLine::default())
        .unwrap_or_else(|e| fail(format_args!("sw-interrupt header: {e:?}")));
    let mut dev: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(16, 64).unwrap())
        .unwrap_or_else(|e| fail(format_args!("RPMsg device: {e:?}")));
    dev.notify_with(&sw);
    let me = dev.create_endpoint(MY_EPT, Receiver::Mailbox).unwrap_or_else(|e| fail(format_args!("{e:?}")));
    let monitor = PanicMonitor::new(SubcoreLine::default());
    sw.add_handler(SwIntrId::PANIC, &monitor).unwrap_or_else(|e| fail(format_args!("{e:?}")));

    // What the loader will do, for the log; `SubcoreHandle::load` checks it again and writes it
    // (loading through the port directly would leave the handle "not loaded").
    match plan(SUBCORE_IMAGE, &sub.port().target()) {
        Ok(loaded) => {
            println!(
                "subcore image: entry {:#010x}, HP RAM unused above it: {:?}",
                loaded.entry, loaded.unused_hp
            )
        }
        Err(e) => fail(format_args!("subcore image refused: {e:?}")),
    }
    sub.load(SUBCORE_IMAGE).unwrap_or_else(|e| fail(format_args!("load: {e:?}")));
    sub.start().unwrap_or_else(|e| fail(format_args!("start: {e:?}")));

    let max = dev.max_payload();
    esp_amp_esp32::with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            for i in 0..ROUNDS {
                report_subcore_panic(sub, &monitor);
                let (out, len) = main_examples::echo_payload(i, max);
                if let Err(e) = dev.send_timeout(me, ECHO_EPT, &out[..len], &EspPlatform, Some(TIMEOUT_MS)) {
                    fail(format_args!("send {i}: {e:?}"));
                }
                let back = dev
                    .recv_timeout(me, &EspPlatform, Some(TIMEOUT_MS))
                    .unwrap_or_else(|e| fail(format_args!("no echo for message {i}: {e:?}")));
                if back.src() != ECHO_EPT || back.bytes() != out[..len] {
                    fail(format_args!("echo {i} differs: from {:#x}, {} bytes", back.src(), back.len()));
                }
            }
        },
    );
    sub.stop();
    println!("{ROUNDS} echoes of 4..={max} bytes checked at {} ms", EspPlatform.now_ms());
}
