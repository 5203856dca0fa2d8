//! RPMsg echo on the LP core: every message to endpoint [`ECHO_EPT`] goes back to its
//! sender unchanged. The maincore creates the RPMsg device before it starts us; the
//! interrupt handler only wakes the loop, which polls the ring.
#![no_std]
#![no_main]

use esp_amp::port::Platform;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfo;
use esp_amp::SubCore;
use esp_amp_lp::{LpPlatform, PmuLine};

esp_amp_lp::entry!(main);

/// The echo endpoint (the maincore sends here).
const ECHO_EPT: u16 = 0x20;

fn main() -> ! {
    esp_amp_lp::report_panics();
    let info = SysInfo::attach(esp_amp_lp::sys_info_pool(), Some(esp_amp_lp::rtc_pool()));
    let sw = SwIntr::<SubCore, _>::attach(esp_amp_lp::sw_intr_header(), PmuLine);
    let dev = Rpmsg::<SubCore>::attach(&info);
    // Few panic sites (any set-up failure means the maincore did not create what this
    // image expects): each costs about 20 bytes of code and 12 of data (its location).
    let (Ok(sw), Ok(mut dev)) = (sw, dev) else { panic!("set-up") };
    let Ok(echo) = dev.create_endpoint(ECHO_EPT, Receiver::Mailbox) else { panic!("set-up") };
    dev.notify_with(&sw);
    esp_amp_lp::with_interrupts(
        &|| {
            sw.isr();
        },
        || loop {
            // Taken before polling: an interrupt during the poll ends the wait at once.
            let epoch = LpPlatform.irq_epoch();
            match dev.try_recv(echo) {
                // A full ring drops the echo (the maincore sees it missing); a blocking
                // send would wait for a free that needs no interrupt.
                Some(msg) => {
                    let _ = dev.forward(echo, msg.src(), msg.bytes());
                }
                None => LpPlatform.wait_irq(epoch, None),
            }
        },
    )
}
