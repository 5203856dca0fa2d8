#![no_main]
//! Any bytes decode into a report that prints, with bounded lengths.

use esp_amp::system::panic::PanicReport;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for p4 in [false, true] {
        let r = PanicReport::decode(data).with_p4_extra(p4);
        assert!(r.message().len() <= 248 && r.stack().len() <= 1024);
        let _ = r.to_string();
    }
});
