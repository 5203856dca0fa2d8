#![no_main]
//! Queue descriptors from a hostile peer, both sides. The input is a shared region (seeded
//! with the golden queue images) and a list of operations: our consumer and producer ends
//! of every queue in the region work while the peer rewrites bytes in between. Whatever
//! the bytes, nothing panics, a received buffer never exceeds the item size, and every
//! buffer handed out is one of the queue's own.

use esp_amp::queue::{Consumer, Producer, QueueError, RxBuf, TxBuf};
use esp_amp::sys_info::{Pool, SysInfo};
use esp_amp_fuzz::{peer_write, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let region = input.region();
    let info = SysInfo::attach(region.pool(), None);
    let Ok(entries) = info.entries(Pool::Hp) else { return };
    let Some(Ok(block)) = entries.take(8).find(|b| b.as_ref().is_ok_and(|b| b.size() >= 24)) else { return };
    let id = block.id();
    // Either end may attach (or neither): we play both roles of the same queue, the
    // peer's bytes come from the input.
    let rx = Consumer::<'_, 32>::attach(&info, id).ok();
    let tx = Producer::<'_, 32>::attach(&info, id).ok();
    let mut held: Vec<RxBuf<'_, '_, 32>> = Vec::new();
    let mut kept: Vec<TxBuf<'_, '_, 32>> = Vec::new();
    for _ in 0..256 {
        if input.is_empty() {
            break;
        }
        match input.u8() % 6 {
            0 => peer_write(&region, &mut input),
            1 => {
                if let Some(rx) = &rx {
                    match rx.try_recv() {
                        Ok(buf) => {
                            assert!(buf.len() <= rx.item_size());
                            // The view reads the whole message, whatever the peer wrote.
                            let mut local = [0u8; esp_amp_fuzz::SIZE];
                            assert_eq!(buf.bytes().copy_to(&mut local), buf.len());
                            let base = block.addr();
                            assert!(
                                buf.device_addr() >= base
                                    && buf.device_addr() < base + u32::from(block.size())
                            );
                            held.push(buf);
                        }
                        Err(QueueError::Empty | QueueError::Peer(_)) => {}
                        Err(e) => panic!("consumer: unexpected {e:?}"),
                    }
                }
            }
            2 => {
                // Free in any order.
                if !held.is_empty() {
                    let i = usize::from(input.u8()) % held.len();
                    drop(held.swap_remove(i));
                }
            }
            3 => {
                if let Some(tx) = &tx {
                    match tx.alloc() {
                        Ok(mut buf) => {
                            let n = buf.len().min(usize::from(input.u8()));
                            buf.bytes_mut().slice_mut(..n).expect("n is within the buffer").fill(0xA5);
                            if input.u8() % 2 == 0 {
                                buf.send(n).expect("a length within the buffer is sent");
                            } else {
                                kept.push(buf);
                            }
                        }
                        Err(QueueError::Full | QueueError::Peer(_)) => {}
                        Err(e) => panic!("producer: unexpected {e:?}"),
                    }
                }
            }
            4 => {
                // Drop an allocated buffer unsent: kept for the next alloc.
                kept.pop();
            }
            _ => {
                if let Some(rx) = &rx {
                    let _ = rx.has_data();
                    assert!(rx.outstanding() <= rx.capacity());
                }
                if let Some(tx) = &tx {
                    assert!(tx.outstanding() <= tx.capacity());
                }
            }
        }
    }
});
