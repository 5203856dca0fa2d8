#![no_main]
//! Any bytes: the image parser and the loader's plan never panic, and an accepted plan
//! keeps every segment inside the allowed windows.

use esp_amp::image::load::{plan, LoadTarget};
use esp_amp::image::Image;
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for chip in Chip::ALL {
        let layout = MemoryLayout::new(chip, &AmpConfig::default_for(chip)).unwrap();
        let target = LoadTarget::for_layout(&layout);
        if let (Ok(image), Ok(_)) = (Image::parse(data), plan(data, &target)) {
            for s in image.segments().iter().filter(|s| s.mem_len > 0) {
                let r = s.range();
                let inside = |w: Option<esp_amp::layout::Region>| {
                    w.is_some_and(|w| w.start <= r.start && r.end <= w.end)
                };
                assert!(inside(target.hp) || inside(target.rtc) || inside(target.app_desc));
            }
        }
    }
});
