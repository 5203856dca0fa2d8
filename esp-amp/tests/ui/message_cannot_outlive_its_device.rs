// An RPMsg message lives in the device's ring and mailbox: it cannot outlive the device.
use esp_amp::rpmsg::{Endpoint, Rpmsg};
use esp_amp::sys_info::SysInfo;
use esp_amp::SubCore;

fn keep_after_device(info: &SysInfo<'_>, ept: Endpoint) {
    let _msg = {
        let dev = Rpmsg::<SubCore>::attach(info).unwrap();
        dev.try_recv(ept)
    };
}

fn main() {}
