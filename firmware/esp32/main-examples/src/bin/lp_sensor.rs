//! LP sensor, maincore side (ESP32-C6, esp-hal): hands the LP core its peripherals, starts
//! the `lp_sensor` LP image (embedded by the build script) and prints the readings it sends
//! by RPMsg.
//!
//! The LP core cannot configure pins: this side does, with esp-hal's LP drivers, and keeps
//! the values alive while the LP core runs (dropping them would hand the pins back):
//! - LP I2C on GPIO6 (SDA) and GPIO7 (SCL), 100 kHz (`i2c::lp_i2c::LpI2c`): the LP core
//!   reads its sensor through it;
//! - LP UART TX on GPIO5, RX on GPIO4 (`uart::lp_uart::LpUart`): the LP core writes a line
//!   per reading there;
//! - LP GPIO1 as an output (`gpio::lp_io::LowPowerOutput`): the LP core toggles it.
//!
//! Prints [`READINGS`] readings (a missing sensor shows as "no answer"), then `PASS`; a
//! reading that does not come within [`TIMEOUT_MS`] is `FAIL`. Not run on hardware.
#![no_std]
#![no_main]

use esp_amp::port::Platform;
use esp_amp::queue::QueueSpec;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::panic::PanicMonitor;
use esp_amp::MainCore;
use esp_amp_esp32::{EspPlatform, SubcoreLine};
use esp_hal::gpio::lp_io::LowPowerOutput;
use esp_hal::i2c::lp_i2c::{self, LpI2c};
use esp_hal::uart::lp_uart::{self, LpUart};
use esp_println::println;
use main_examples::{fail, report_subcore_panic};

esp_bootloader_esp_idf::esp_app_desc!();

static SUBCORE_IMAGE: &[u8] = esp_amp_esp32::include_subcore!("lp_sensor");

/// The LP core's endpoint, and ours (the LP image sends its readings here).
const LP_EPT: u16 = 0x31;
const MAIN_EPT: u16 = 0x30;
/// Readings printed before the example ends.
const READINGS: u32 = 5;
/// The LP core reads once a second.
const TIMEOUT_MS: u32 = 3000;

#[esp_hal::main]
fn main() -> ! {
    let p = esp_hal::init(esp_hal::Config::default());
    println!("esp-amp lp_sensor on esp32c6: subcore image {} bytes", SUBCORE_IMAGE.len());
    let _i2c = LpI2c::new(p.LP_I2C0, lp_i2c::Config::default(), p.GPIO6, p.GPIO7)
        .unwrap_or_else(|e| fail(format_args!("LP I2C: {e:?}")));
    let _uart = LpUart::new(p.LP_UART, lp_uart::Config::default(), p.GPIO5, p.GPIO4);
    let _led: LowPowerOutput<'_, 1> = LowPowerOutput::new(p.GPIO1);

    esp_amp_esp32::bind_interrupt();
    let mut sub = esp_amp_esp32::subcore(p.LP_CORE);
    let mut sys = SysInfoAllocator::init(esp_amp_esp32::sys_info_pool(), esp_amp_esp32::rtc_pool())
        .unwrap_or_else(|e| fail(format_args!("SysInfo: {e:?}")));
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(esp_amp_esp32::sw_intr_header(), SubcoreLine::default())
        .unwrap_or_else(|e| fail(format_args!("sw-interrupt header: {e:?}")));
    let mut dev: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(8, 64).unwrap())
        .unwrap_or_else(|e| fail(format_args!("RPMsg device: {e:?}")));
    dev.notify_with(&sw);
    let me = dev.create_endpoint(MAIN_EPT, Receiver::Mailbox).unwrap_or_else(|e| fail(format_args!("{e:?}")));
    let monitor = PanicMonitor::new(SubcoreLine::default());
    sw.add_handler(SwIntrId::PANIC, &monitor).unwrap_or_else(|e| fail(format_args!("{e:?}")));

    sub.load(SUBCORE_IMAGE).unwrap_or_else(|e| fail(format_args!("load: {e:?}")));
    sub.start().unwrap_or_else(|e| fail(format_args!("start: {e:?}")));
    esp_amp_esp32::with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            for _ in 0..READINGS {
                report_subcore_panic(&mut sub, &monitor);
                let msg = dev
                    .recv_timeout(me, &EspPlatform, Some(TIMEOUT_MS))
                    .unwrap_or_else(|e| fail(format_args!("no reading: {e:?}")));
                // Copied out of the shared buffer once, then matched.
                let mut reading = [0u8; 8];
                let n = msg.bytes().copy_to(&mut reading);
                match (msg.src(), &reading[..n]) {
                    (LP_EPT, &[a, b, c, d, status, value]) => {
                        let seq = u32::from_le_bytes([a, b, c, d]);
                        match status {
                            0 => println!("reading {seq}: register = {value:#04x}"),
                            _ => println!("reading {seq}: no answer from the sensor"),
                        }
                    }
                    (src, bytes) => {
                        fail(format_args!("unexpected message from {src:#x}: {} bytes", bytes.len()))
                    }
                }
            }
        },
    );
    sub.stop();
    println!("{READINGS} readings at {} ms", EspPlatform.now_ms());
    println!("PASS");
    loop {
        core::hint::spin_loop();
    }
}
