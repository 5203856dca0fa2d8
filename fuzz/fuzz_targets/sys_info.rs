#![no_main]
//! Any shared region: the SysInfo walk, lookups, and the read-only views (`inspect`, what
//! `espamp shm dump` shows) never panic and never reach outside the region.

use esp_amp::inspect::{Direction, QueueView, RpmsgView};
use esp_amp::sys_info::{Pool, SysInfo};
use esp_amp_fuzz::{Input, BASE, SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let region = input.region();
    let info = SysInfo::attach(region.pool(), None);
    let Ok(entries) = info.entries(Pool::Hp) else { return };
    for entry in entries.take(64) {
        let Ok(block) = entry else { break };
        let (addr, size) = (block.addr(), u32::from(block.size()));
        assert!(addr >= BASE && addr + size <= BASE + SIZE as u32, "block outside the region");
        // The lookup finds the first block of that id.
        let found = info.get(block.id(), Pool::Hp).expect("listed, so found");
        assert_eq!(found.id(), block.id());
        if let Ok(q) = QueueView::attach(block.shm(), addr, None) {
            let mut buf = [0u8; 64];
            for slot in q.slots().chain(q.in_flight()).take(256) {
                if let Some(n) = q.read_buffer(slot.addr, &mut buf) {
                    assert!(n <= buf.len());
                }
            }
            assert!(q.filled() + q.free() <= usize::from(q.capacity()));
        }
        if let Ok(dev) = RpmsgView::attach_block(block.shm(), None) {
            for d in [Direction::MainToSub, Direction::SubToMain] {
                let mut out = [0u8; 512];
                for m in dev.messages(d).take(256) {
                    let n = dev.read_payload(d, &m, &mut out);
                    assert!(n <= dev.max_payload(d));
                }
            }
        }
    }
});
