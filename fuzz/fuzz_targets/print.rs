#![no_main]
//! Print packets from a hostile subcore. The harness creates the service queue (the
//! maincore's supplicant) and attaches the subcore's printer; the input mixes printed
//! text, raw service requests with any id and length, and bytes rewritten in the region.
//! Nothing panics; a delivered line never exceeds a request's parameter space; every
//! request taken is a line, an unknown service, malformed, or a fault.

use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::print::Printer;
use esp_amp::system::service::{self, parse_request, Supplicant, MAX_PARAM};
use esp_amp_fuzz::{peer_write, Input, Region};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let region = Region::default();
    let mut sys = SysInfoAllocator::init(region.pool(), None).unwrap();
    let supplicant = Supplicant::create(&mut sys).unwrap();
    let info = sys.info();
    let Ok(tx) = service::attach(&info) else { panic!("the service queue is there") };
    let raw = service::attach(&info).unwrap();
    let mut printer = Printer::new(Some(tx));
    let mut taken = 0usize;
    for _ in 0..256 {
        if input.is_empty() {
            break;
        }
        match input.u8() % 5 {
            0 => {
                let n = usize::from(input.u8());
                for &b in input.bytes(n) {
                    printer.put(b);
                }
            }
            1 => peer_write(&region, &mut input),
            2 => {
                taken += supplicant.dispatch(|line| assert!(line.len() <= MAX_PARAM));
            }
            3 => {
                let srv = input.u16();
                let n = usize::from(input.u8());
                let _ = service::send_request(&raw, srv, input.bytes(n));
            }
            _ => {
                let n = usize::from(input.u8());
                if let Some((_, param)) = parse_request(input.bytes(n)) {
                    assert!(param.len() <= MAX_PARAM);
                }
            }
        }
    }
    let s = supplicant.stats();
    let counted = (s.lines + s.unknown + s.malformed) as usize;
    assert!(counted <= taken, "{s:?} but {taken} taken");
});
