//! Helpers shared by the integration tests: the golden images and a C6-sized region.
#![allow(dead_code)]

use std::path::PathBuf;

use esp_amp::image::esp::EspImageWriter;
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use esp_amp::port::{InterruptLine, Platform};
use esp_amp::shm::Shm;

pub const BASE: u32 = 0x4087_A560;
pub const LEN: usize = 16384;

pub fn compat_dir() -> PathBuf {
    std::env::var_os("ESP_AMP_COMPAT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../compat/esp-amp-c"))
}

pub fn golden(name: &str) -> Vec<u8> {
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

/// A zeroed, 4-byte aligned C6 shared region, accessed only through raw pointers so that
/// a snapshot can be taken while `Shm` handles are alive.
pub struct Region(*mut [u32]);

impl Region {
    pub fn zeroed() -> Self {
        Region(Box::into_raw(vec![0u32; LEN / 4].into_boxed_slice()))
    }
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let words: Vec<u32> =
            bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(words.len(), LEN / 4);
        Region(Box::into_raw(words.into_boxed_slice()))
    }
    pub fn shm(&self) -> Shm<'_> {
        // SAFETY: the allocation is 4-byte aligned, LEN bytes long, freed only on drop
        // (after every borrow of `self`), and only accessed through raw pointers.
        unsafe { Shm::from_raw(self.0.cast(), BASE, LEN as u32) }
    }
    pub fn bytes(&self) -> Vec<u8> {
        // Word reads: four times fewer accesses than bytes (this runs under miri too).
        let shm = self.shm();
        (0..LEN as u32 / 4).flat_map(|i| shm.read_u32(BASE + 4 * i).unwrap().to_le_bytes()).collect()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: made by `Box::into_raw` in a constructor and not freed before.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

pub fn pool(shm: Shm<'_>) -> Shm<'_> {
    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
    assert_eq!(layout.shared.start, BASE);
    shm.slice(layout.sys_info_pool.start, layout.sys_info_pool.len()).unwrap()
}

pub fn assert_same(produced: &[u8], expected: &[u8]) {
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
pub struct Polling;
impl InterruptLine for Polling {
    fn raise(&self) {}
    fn clear(&self) {}
    fn enable(&self) {}
    fn disable(&self) {}
}
pub struct NoClock;
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

/// A clock that advances 1 ms each time it is read; waits return at once. Its value is
/// the number of reads so far (a wait reads it once to start and once per attempt).
#[derive(Default)]
pub struct TickingClock(pub std::cell::Cell<u32>);
impl Platform for TickingClock {
    fn now_ms(&self) -> u32 {
        self.0.set(self.0.get() + 1);
        self.0.get()
    }
    fn delay_us(&self, _: u32) {}
    fn interrupts_enable(&self) {}
    fn interrupts_disable(&self) {}
    fn irq_epoch(&self) -> u32 {
        0
    }
    fn wait_irq(&self, _: u32, _: Option<u32>) {}
}

/// An ESP app image with `entry`, the header's `chip_id` and `segments` (address, data).
pub fn esp_image(entry: u32, chip_id: u16, segments: &[(u32, &[u8])]) -> Vec<u8> {
    let mut buf = vec![0u8; 64 + segments.iter().map(|s| s.1.len() + 16).sum::<usize>()];
    let mut w = EspImageWriter::new(&mut buf, entry, chip_id).unwrap();
    for (addr, data) in segments {
        w.segment(*addr, data).unwrap();
    }
    let len = w.finish().unwrap();
    buf.truncate(len);
    buf
}
