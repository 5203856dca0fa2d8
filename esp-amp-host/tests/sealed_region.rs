//! A subcore process cannot pull the shared region from under the maincore: the memfd is
//! sealed against shrinking and growing, so a truncation from another process fails and
//! the maincore's mapping stays whole (without the seal, the maincore's next access to a
//! truncated page would kill it with SIGBUS).

use std::process::Command;

use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::sys_info::{SysInfo, SysInfoAllocator};
use esp_amp_host::HostRegion;

#[test]
fn a_child_process_cannot_truncate_or_grow_the_memfd_region() {
    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
    let region = HostRegion::create(&layout).unwrap();
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
    let path = region.path().to_owned();
    let len = std::fs::metadata(&path).unwrap().len();

    // Another process (coreutils' truncate, as a hostile subcore would call ftruncate)
    // opens the region by the path the maincore hands out, read-write.
    for size in ["4096", "0", &(len * 2).to_string()] {
        let out = Command::new("truncate").args(["-s", size]).arg(&path).output().unwrap();
        assert!(!out.status.success(), "truncate -s {size} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Operation not permitted"), "truncate -s {size}: {err}");
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);

    // The maincore goes on: the whole region is mapped and usable, the last byte included.
    sys.alloc(esp_amp::sys_info::SysInfoId(0x0100), 64, esp_amp::sys_info::Pool::Hp).unwrap();
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    assert_eq!(
        info.get(esp_amp::sys_info::SysInfoId(0x0100), esp_amp::sys_info::Pool::Hp).unwrap().size(),
        64
    );
    let dump = region.panic_dump();
    let last = dump.device_end() - 4;
    dump.write_u32(last, 0xA5A5_A5A5).unwrap();
    assert_eq!(dump.read_u32(last).unwrap(), 0xA5A5_A5A5);
    // A region another process opens is checked against its control page too.
    let again = HostRegion::open(&path).unwrap();
    assert_eq!(again.layout(), region.layout());
}

#[test]
fn a_file_region_shorter_than_its_control_page_says_is_refused() {
    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("short-region.bin");
    let region = HostRegion::create_file(&path, &layout).unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    drop(region);
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 4096).unwrap();
    let err = HostRegion::open(&path).unwrap_err();
    assert!(err.to_string().contains("file size does not match the layout"), "{err}");
}
