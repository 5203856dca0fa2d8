//! RPMsg echo on the P4's HP core 1: every message to endpoint [`ECHO_EPT`] goes back to its
//! sender unchanged. The maincore creates the RPMsg device before it starts us; the
//! interrupt handler only wakes the loop, which polls the ring.
#![no_std]
#![no_main]

use esp_amp::port::Platform;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::SysInfo;
use esp_amp::SubCore;
use esp_amp_hp::{FromCpuLine, HpPlatform};

esp_amp_hp::entry!(main);

/// The echo endpoint (the maincore sends here).
const ECHO_EPT: u16 = 0x20;

fn main() -> ! {
    esp_amp_hp::report_panics();
    let info = SysInfo::attach(esp_amp_hp::sys_info_pool(), None);
    let Ok(sw) = SwIntr::<SubCore, _>::attach(esp_amp_hp::sw_intr_header(), FromCpuLine) else {
        panic!("no software-interrupt header")
    };
    let Ok(mut dev) = Rpmsg::<SubCore>::attach(&info) else { panic!("no RPMsg device") };
    dev.notify_with(&sw);
    let Ok(echo) = dev.create_endpoint(ECHO_EPT, Receiver::Mailbox) else { panic!("endpoint") };
    esp_amp_hp::with_interrupts(
        &|| {
            sw.isr();
        },
        || loop {
            // Taken before polling: an interrupt during the poll ends the wait at once.
            let epoch = HpPlatform.irq_epoch();
            match dev.try_recv(echo) {
                // A full ring drops the echo (the maincore sees it missing); a blocking
                // send would wait for a free that needs no interrupt.
                Some(msg) => {
                    let _ = dev.forward(echo, msg.src(), msg.bytes());
                }
                None => HpPlatform.wait_irq(epoch, None),
            }
        },
    )
}
