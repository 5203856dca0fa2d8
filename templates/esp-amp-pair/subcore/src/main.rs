//! The subcore ({% if chip == "esp32p4" %}HP core 1 of the ESP32-P4{% else %}the LP core of the {{chip}}{% endif %}): every RPMsg message to
//! endpoint [`ECHO_EPT`] goes back to its sender unchanged.
#![no_std]
#![no_main]

use esp_amp::port::Platform;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfo;
use esp_amp::SubCore;
{% if chip == "esp32p4" %}use esp_amp_hp as rt;
use esp_amp_hp::{FromCpuLine as Line, HpPlatform as Clock};{% else %}use esp_amp_lp as rt;
use esp_amp_lp::{LpPlatform as Clock, PmuLine as Line};{% endif %}

rt::entry!(main);

/// The echo endpoint (the maincore sends here).
const ECHO_EPT: u16 = 0x20;

fn main() -> ! {
    // A panic here is reported to the maincore through the panic dump (file and line).
    rt::report_panics();
    let info = SysInfo::attach(rt::sys_info_pool(), {% if chip == "esp32p4" %}None{% else %}Some(rt::rtc_pool()){% endif %});
    let Ok(sw) = SwIntr::<SubCore, _>::attach(rt::sw_intr_header(), Line) else {
        panic!("no software-interrupt header")
    };
    let Ok(mut dev) = Rpmsg::<SubCore>::attach(&info) else {
        panic!("no RPMsg device: the maincore creates it before starting us")
    };
    dev.notify_with(&sw);
    let Ok(echo) = dev.create_endpoint(ECHO_EPT, Receiver::Mailbox) else {
        panic!("endpoint")
    };
    rt::with_interrupts(
        &|| {
            sw.isr();
        },
        || loop {
            // Taken before polling: an interrupt during the poll ends the wait at once.
            let epoch = Clock.irq_epoch();
            match dev.try_recv(echo) {
                Some(msg) => {
                    let _ = dev.forward(echo, msg.src(), msg.bytes());
                }
                None => Clock.wait_irq(epoch, None),
            }
        },
    )
}
