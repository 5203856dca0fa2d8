// A received buffer is given back to its consumer's ring when dropped: it cannot outlive it.
use esp_amp::queue::Consumer;
use esp_amp::sys_info::{SysInfo, SysInfoId};

fn keep_after_consumer(info: &SysInfo<'_>) {
    let _buf = {
        let c: Consumer<'_> = Consumer::attach(info, SysInfoId(0x100)).unwrap();
        c.try_recv().unwrap()
    };
}

fn main() {}
