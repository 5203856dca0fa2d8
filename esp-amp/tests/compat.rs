//! Byte compatibility with the golden images produced by ESP-AMP C
//! (`../shared/compat/esp-amp-c`, see its README and manifest.json).

use std::path::PathBuf;

use esp_amp::event::{DefaultEvents, Events};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::port::{InterruptLine, Platform};
use esp_amp::shm::Shm;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoError, SysInfoId};
use esp_amp::{MainCore, SubCore};

const BASE: u32 = 0x4087_A560;
const LEN: usize = 16384;

fn compat_dir() -> PathBuf {
    std::env::var_os("ESP_AMP_COMPAT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/compat/esp-amp-c"))
}

fn golden(name: &str) -> Vec<u8> {
    let path = compat_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden image {} ({e}); set ESP_AMP_COMPAT_DIR to the compat/esp-amp-c folder",
            path.display()
        )
    });
    assert_eq!(bytes.len(), LEN);
    bytes
}

/// A zeroed, 4-byte aligned C6 shared region.
struct Region(Vec<u32>);

impl Region {
    fn zeroed() -> Self {
        Region(vec![0; LEN / 4])
    }
    fn from_bytes(bytes: &[u8]) -> Self {
        let mut r = Self::zeroed();
        for (w, c) in r.0.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes(c.try_into().unwrap());
        }
        r
    }
    fn shm(&mut self) -> Shm<'_> {
        // SAFETY: the vector is 4-byte aligned, LEN bytes long and outlives the handle.
        unsafe { Shm::from_raw(self.0.as_mut_ptr().cast(), BASE, LEN as u32) }
    }
    fn bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|w| w.to_le_bytes()).collect()
    }
}

fn pool(shm: Shm<'_>) -> Shm<'_> {
    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
    assert_eq!(layout.shared.start, BASE);
    shm.slice(layout.sys_info_pool.start, layout.sys_info_pool.len()).unwrap()
}

fn assert_same(produced: &[u8], expected: &[u8]) {
    if let Some(i) = produced.iter().zip(expected).position(|(a, b)| a != b) {
        panic!(
            "first difference at offset 0x{i:04x} (device 0x{:08x}): produced {:02x?}, golden {:02x?}",
            BASE as usize + i,
            &produced[i..(i + 16).min(LEN)],
            &expected[i..(i + 16).min(LEN)]
        );
    }
}

/// A line that records nothing: the golden images were made in polling mode.
struct Polling;
impl InterruptLine for Polling {
    fn raise(&self) {}
    fn clear(&self) {}
    fn enable(&self) {}
    fn disable(&self) {}
}
struct NoClock;
impl Platform for NoClock {
    fn now_ms(&self) -> u32 {
        0
    }
    fn delay_us(&self, _: u32) {}
    fn interrupts_enable(&self) {}
    fn interrupts_disable(&self) {}
    fn irq_epoch(&self) -> u32 {
        0
    }
    fn wait_irq(&self, _: u32, _: Option<u32>) {}
}

fn sysinfo_entries() -> [(u16, Vec<u8>); 3] {
    [(0x0001, (0xA0..=0xB3).collect()), (0x0002, vec![1, 2, 3]), (0x0010, (0..64).collect())]
}

#[test]
fn produce_sysinfo_bin() {
    let mut region = Region::zeroed();
    let shm = region.shm();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    for (id, payload) in sysinfo_entries() {
        let block = sys.alloc(SysInfoId(id), payload.len(), Pool::Hp).unwrap();
        block.shm().write_bytes(block.addr(), &payload).unwrap();
    }
    assert_eq!(sys.alloc(SysInfoId(2), 8, Pool::Hp).unwrap_err(), SysInfoError::DuplicateId(SysInfoId(2)));
    assert_same(&region.bytes(), &golden("sysinfo.bin"));
}

#[test]
fn consume_sysinfo_bin() {
    let mut region = Region::from_bytes(&golden("sysinfo.bin"));
    let shm = region.shm();
    let info = SysInfo::attach(pool(shm), None);
    let found: Vec<_> = info.entries(Pool::Hp).unwrap().map(|e| e.unwrap()).collect();
    let expected = sysinfo_entries();
    assert_eq!(found.len(), expected.len());
    for (block, (id, payload)) in found.iter().zip(&expected) {
        assert_eq!(block.id(), SysInfoId(*id));
        assert_eq!(block.size() as usize, payload.len());
        let mut got = vec![0; payload.len()];
        block.shm().read_bytes(block.addr(), &mut got).unwrap();
        assert_eq!(&got, payload);
        assert_eq!(info.get(SysInfoId(*id), Pool::Hp).unwrap().addr(), block.addr());
    }
}

#[test]
fn produce_event_swintr_bin() {
    let mut region = Region::zeroed();
    let shm = region.shm();
    let mut sys = SysInfoAllocator::init(pool(shm), None).unwrap();
    let header = shm.slice(BASE, 0x20).unwrap();
    let main_sw: SwIntr<'_, MainCore, _> = SwIntr::init(header, Polling).unwrap();
    let events = DefaultEvents::create(&mut sys).unwrap();
    let sub_sw: SwIntr<'_, SubCore, _> = SwIntr::attach(header, Polling).unwrap();
    let main_ev: Events<'_, _> = Events::new(&main_sw, NoClock);
    let sub_ev: Events<'_, _> = Events::new(&sub_sw, NoClock);
    assert_eq!(main_ev.notify(&events.sub, 0x5), 0);
    assert_eq!(sub_ev.notify(&events.main, 0x8000_0001), 0);
    main_sw.trigger(SwIntrId::new(3).unwrap());
    sub_sw.trigger(SwIntrId::new(7).unwrap());
    assert_same(&region.bytes(), &golden("event_swintr.bin"));
}

#[test]
fn consume_event_swintr_bin() {
    let mut region = Region::from_bytes(&golden("event_swintr.bin"));
    let shm = region.shm();
    let info = SysInfo::attach(pool(shm), None);
    let entries: Vec<_> = info.entries(Pool::Hp).unwrap().map(|e| e.unwrap()).collect();
    let ids: Vec<_> = entries.iter().map(|b| (b.id(), b.size())).collect();
    assert_eq!(ids, [(SysInfoId::EVENT_MAIN, 4), (SysInfoId::EVENT_SUB, 4)]);
    let events = DefaultEvents::attach(&info).unwrap();
    assert_eq!(events.incoming::<SubCore>().bits(), 0x8000_0001);
    assert_eq!(events.incoming::<MainCore>().bits(), 0x5);

    let header = shm.slice(BASE, 0x20).unwrap();
    let sub_sw: SwIntr<'_, SubCore, _> = SwIntr::attach(header, Polling).unwrap();
    let main_sw: SwIntr<'_, MainCore, _> = SwIntr::attach(header, Polling).unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |id: SwIntrId| seen.lock().unwrap().push(id.get());
    for n in [3, 7, 30] {
        sub_sw.add_handler(SwIntrId::new(n).unwrap(), &record).unwrap();
    }
    assert_eq!(sub_sw.isr(), (1 << 30) | (1 << 3));
    assert_eq!(*seen.lock().unwrap(), [3, 30]);
    assert_eq!(main_sw.pending(), (1 << 30) | (1 << 7));
}
