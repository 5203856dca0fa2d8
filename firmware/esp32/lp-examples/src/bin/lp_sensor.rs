//! LP sensor (ESP32-C6): every [`PERIOD_MS`] the LP core reads one register of an I2C
//! device over LP I2C, toggles an LP GPIO, writes a line to the LP UART and sends the
//! reading to the maincore by RPMsg. esp-lp-hal drives the peripherals, esp-amp the rest:
//! one program, one entry point (esp-lp-hal's `#[entry]`, started by esp-amp-lp's runtime
//! through `esp_lp_hal_entry!`), LTO, one critical section.
//!
//! The maincore owns the pins: before it starts this image it configures the LP I2C
//! (esp-hal's `i2c::lp_i2c::LpI2c::new` with the SDA and SCL pins below), the LP UART
//! (`uart::lp_uart::LpUart::new`) and the LED pin as an LP output
//! (`gpio::lp_io::LowPowerOutput::new`), keeps those values alive while the LP core runs,
//! creates the RPMsg device and an endpoint at [`MAIN_EPT`], and prints what arrives. The
//! message: sequence number (u32, LE), status (0 = read, 1 = the device did not answer),
//! register value.
#![no_std]
#![no_main]

use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfo;
use esp_amp::SubCore;
use esp_amp_lp::PmuLine;
use esp_lp_hal::delay::Delay;
use esp_lp_hal::gpio::Output;
use esp_lp_hal::i2c::LpI2c;
use esp_lp_hal::uart::LpUart;

/// The I2C device and the register read: the chip id of a BMP180/BME280 (wired SDA =
/// GPIO6, SCL = GPIO7, the C6's LP I2C pins).
const SENSOR_ADDR: u8 = 0x77;
const SENSOR_REG: u8 = 0xD0;
/// The LED: LP GPIO 1 (`Output<1>` below).
/// Milliseconds between readings.
const PERIOD_MS: u32 = 1000;
/// RPMsg endpoints: ours, and the maincore's that prints the readings.
const LP_EPT: u16 = 0x31;
const MAIN_EPT: u16 = 0x30;

esp_amp_lp::esp_lp_hal_entry!();

#[esp_lp_hal::prelude::entry]
fn main(mut i2c: LpI2c, mut uart: LpUart, mut led: Output<1>) -> ! {
    esp_amp_lp::report_panics();
    let info = SysInfo::attach(esp_amp_lp::sys_info_pool(), Some(esp_amp_lp::rtc_pool()));
    let Ok(sw) = SwIntr::<SubCore, _>::attach(esp_amp_lp::sw_intr_header(), PmuLine) else {
        panic!("no software-interrupt header")
    };
    let Ok(mut dev) = Rpmsg::<SubCore>::attach(&info) else { panic!("no RPMsg device") };
    dev.notify_with(&sw);
    let Ok(ept) = dev.create_endpoint(LP_EPT, Receiver::Mailbox) else { panic!("endpoint") };
    let mut seq: u32 = 0;
    loop {
        let mut value = [0u8; 1];
        let status = match i2c.write_read(SENSOR_ADDR, &[SENSOR_REG], &mut value) {
            Ok(()) => 0,
            Err(_) => 1,
        };
        led.set_output(seq.is_multiple_of(2));
        let s = seq.to_le_bytes();
        // A full queue (the maincore is not reading) drops this reading; the next one
        // tries again.
        let _ = dev.send(ept, MAIN_EPT, &[s[0], s[1], s[2], s[3], status, value[0]]);
        let _ = uart.write_bytes(if status == 0 { b"lp_sensor: read\n" } else { b"lp_sensor: no answer\n" });
        seq = seq.wrapping_add(1);
        Delay.delay_millis(PERIOD_MS);
    }
}
