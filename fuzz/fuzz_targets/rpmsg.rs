#![no_main]
//! RPMsg headers and dispatch from a hostile peer. The input is a shared region (seeded
//! with the golden RPMsg images) and operations: we attach as the maincore or the subcore,
//! with mailbox and callback endpoints, receive (`try_recv`, `dispatch`, `try_recv_where`),
//! send, and the peer rewrites bytes in between. Nothing panics; every payload handed to
//! us fits the buffer; every callback run is counted as a delivery.

use std::sync::atomic::{AtomicUsize, Ordering};

use esp_amp::queue::QueueError;
use esp_amp::rpmsg::{Inbound, Pick, Receiver, Rpmsg, RpmsgError};
use esp_amp::sys_info::SysInfo;
use esp_amp::{MainCore, Role, SubCore};
use esp_amp_fuzz::{peer_write, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let region = input.region();
    let info = SysInfo::attach(region.pool(), None);
    if input.u8() % 2 == 0 {
        run::<MainCore>(&region, &info, &mut input);
    } else {
        run::<SubCore>(&region, &info, &mut input);
    }
});

fn run<R: Role>(region: &esp_amp_fuzz::Region, info: &SysInfo<'_>, input: &mut Input<'_>) {
    let Ok(dev) = Rpmsg::<'_, R>::attach(info) else { return };
    let max = dev.max_payload();
    let seen = AtomicUsize::new(0);
    let on_msg = |m: Inbound<'_>| {
        assert!(m.data.len() <= max);
        seen.fetch_add(1, Ordering::Relaxed);
    };
    // The golden images address endpoints 0, 1 and 0x400 (C's first dynamic address).
    let mailbox = dev.create_endpoint(1, Receiver::Mailbox).unwrap();
    let other = dev.create_endpoint(0x400, Receiver::Mailbox).unwrap();
    let _callback = dev.create_endpoint(0, Receiver::Callback(&on_msg)).unwrap();
    let mut held = Vec::new();
    for _ in 0..256 {
        if input.is_empty() {
            break;
        }
        match input.u8() % 6 {
            0 => peer_write(region, input),
            1 => {
                let ept = if input.u8() % 2 == 0 { mailbox } else { other };
                if let Some(m) = dev.try_recv(ept) {
                    assert!(m.len() <= max);
                    held.push(m);
                }
            }
            2 => {
                let _ = dev.dispatch();
            }
            3 => {
                if !held.is_empty() {
                    let i = usize::from(input.u8()) % held.len();
                    drop(held.swap_remove(i));
                }
            }
            4 => {
                let len = usize::from(input.u8());
                let dst = input.u16();
                match dev.send(mailbox, dst, &vec![0x5A; len]) {
                    Ok(()) => assert!(len <= max),
                    Err(RpmsgError::Queue(
                        QueueError::Full | QueueError::TooLarge { .. } | QueueError::Peer(_),
                    )) => {}
                    Err(e) => panic!("send: unexpected {e:?}"),
                }
            }
            _ => {
                let keep = input.u8();
                let _ = dev.try_recv_where(other, |m| match (m.len() as u8) ^ keep {
                    x if x % 3 == 0 => Pick::Take,
                    x if x % 3 == 1 => Pick::Keep,
                    _ => Pick::Drop,
                });
            }
        }
    }
    drop(held);
    let s = dev.stats();
    // Every callback run was counted as delivered.
    assert!(s.delivered as usize >= seen.load(Ordering::Relaxed));
}
