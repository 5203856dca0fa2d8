//! Maincore here, subcore in a child process: 200,000 RPMsg messages each way at the same
//! time, random lengths, every one checked (order, length, content, checksum) on arrival,
//! with interrupt notification in both directions.

use std::process::Command;

use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::queue::QueueSpec;
use esp_amp::rpmsg::{Receiver, Rpmsg};
use esp_amp::sw_intr::SwIntr;
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoId};
use esp_amp::{MainCore, SubCore};
use esp_amp_host::harness::traffic::pump;
use esp_amp_host::{spawn_subcore, HostCore, HostRegion, Side, ENV_REGION_PATH};

const COUNT: u32 = 200_000;
const MAIN_EPT: u16 = 0x10;
const SUB_EPT: u16 = 0x20;
const RESULT_ID: SysInfoId = SysInfoId(0x0200);
const STALL_MS: u32 = 10_000;

#[test]
fn rpmsg_200k_each_way_two_processes() {
    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
    let region = HostRegion::create(&layout).unwrap();
    let core = HostCore::new(&region, Side::Main);
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let sw: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), &core).unwrap();
    let mut dev: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, QueueSpec::new(32, 128).unwrap()).unwrap();
    dev.notify_with(&sw);
    // The subcore's report: [sent, received, ok].
    let result = sys.alloc(RESULT_ID, 12, Pool::Hp).unwrap();
    result.shm().fill(result.addr(), 12, 0).unwrap();
    let ept = dev.create_endpoint(MAIN_EPT, Receiver::Mailbox).unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut child = spawn_subcore(
        Command::new(exe).args(["--exact", "rpmsg_stress_subcore", "--include-ignored", "--nocapture"]),
        &region,
    )
    .unwrap();
    let totals = std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        pump(&dev, ept, SUB_EPT, &core, COUNT, 1, 2, STALL_MS)
    });
    let status = child.wait().unwrap();
    let totals = totals.unwrap_or_else(|e| panic!("maincore: {e}"));
    assert!(status.success(), "subcore process failed: {status}");
    assert_eq!((totals.sent, totals.received), (COUNT, COUNT));
    let read = |i: u32| result.shm().read_u32(result.addr() + 4 * i).unwrap();
    assert_eq!((read(0), read(1), read(2)), (COUNT, COUNT, 1), "subcore report");
    let stats = dev.stats();
    assert_eq!((stats.sent, stats.delivered), (COUNT, COUNT));
    assert_eq!((stats.dropped_unknown, stats.dropped_bad_len, stats.queue_faults), (0, 0, 0));
    println!("maincore: {totals:?}, irqs delivered {}", core.delivered_count());
}

/// The subcore: runs only when started by the test above.
#[test]
#[ignore = "subcore half of rpmsg_200k_each_way_two_processes"]
fn rpmsg_stress_subcore() {
    if std::env::var_os(ENV_REGION_PATH).is_none() {
        return;
    }
    let region = HostRegion::open_from_env().unwrap();
    let core = HostCore::new(&region, Side::Sub);
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), &core).unwrap();
    let mut dev: Rpmsg<'_, SubCore> = Rpmsg::attach(&info).unwrap();
    dev.notify_with(&sw);
    let result = info.get(RESULT_ID, Pool::Hp).unwrap().expect_size(12).unwrap();
    let ept = dev.create_endpoint(SUB_EPT, Receiver::Mailbox).unwrap();
    let totals = std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        pump(&dev, ept, MAIN_EPT, &core, COUNT, 2, 1, STALL_MS)
    })
    .unwrap_or_else(|e| panic!("subcore: {e}"));
    let stats = dev.stats();
    let clean = stats.dropped_unknown + stats.dropped_bad_len + stats.queue_faults == 0;
    let w = |i: u32, v: u32| result.shm().write_u32(result.addr() + 4 * i, v).unwrap();
    w(0, totals.sent);
    w(1, totals.received);
    w(2, u32::from(clean));
}
