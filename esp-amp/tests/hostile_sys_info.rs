//! Arbitrary bytes as a SysInfo pool: lookups, walks and allocations never panic, never
//! loop, and every block they return lies inside the pool. The pool is an exact-size
//! allocation, so any access outside it is also caught when run under miri.

use esp_amp::shm::Shm;
use esp_amp::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoError, SysInfoId};
use proptest::prelude::*;

const BASE: u32 = 0x4087_A580;

fn check_pool(words: &mut [u32], id: u16, size: u16) {
    let len = (words.len() * 4) as u32;
    let original: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    // SAFETY: `words` is aligned, valid and outlives the handle.
    let shm = unsafe { Shm::from_raw(words.as_mut_ptr().cast(), BASE, len) };
    let inside = |addr: u32, n: u32| addr >= BASE && addr.checked_add(n).is_some_and(|e| e <= BASE + len);

    let info = SysInfo::attach(shm, None);
    let mut count = 0u32;
    for entry in info.entries(Pool::Hp).unwrap() {
        match entry {
            Ok(b) => {
                assert!(inside(b.addr() - 8, 8 + b.shm().len()));
                assert!(b.shm().len() >= b.size() as u32);
                count += 1;
                assert!(count <= len / 8, "walk does not terminate");
            }
            Err(e) => assert!(matches!(e, SysInfoError::Corrupt { .. })),
        }
    }
    match info.get(SysInfoId(id), Pool::Hp) {
        Ok(b) => assert!(inside(b.addr(), b.shm().len()) && b.id() == SysInfoId(id)),
        Err(e) => assert!(matches!(e, SysInfoError::NotFound(_) | SysInfoError::Corrupt { .. })),
    }
    // The maincore's allocator over a pool the peer scribbled on after init.
    let mut alloc = SysInfoAllocator::init(shm, None).unwrap();
    shm.write_bytes(BASE, &original).unwrap();
    let _ =
        alloc.alloc(SysInfoId(id), size as usize, Pool::Hp).map(|b| assert!(inside(b.addr(), b.shm().len())));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 16 } else { 2048 }))]

    #[test]
    fn arbitrary_pool_bytes(mut words in proptest::collection::vec(any::<u32>(), 2..96), id: u16, size: u16) {
        check_pool(&mut words, id, size);
    }

    /// Mostly well-formed chains with one field flipped: reaches deeper than pure noise.
    #[test]
    fn one_corrupted_field(n in 1usize..6, sizes in proptest::collection::vec(0u16..40, 6),
                           victim in 0usize..48, value: u32, id: u16) {
        let mut words = vec![0u32; 96];
        let len = (words.len() * 4) as u32;
        {
            // SAFETY: `words` is aligned, valid and outlives the handle.
            let shm = unsafe { Shm::from_raw(words.as_mut_ptr().cast(), BASE, len) };
            let mut a = SysInfoAllocator::init(shm, None).unwrap();
            for (i, s) in sizes.iter().take(n).enumerate() {
                a.alloc(SysInfoId(i as u16), *s as usize, Pool::Hp).unwrap();
            }
        }
        words[victim] = value;
        check_pool(&mut words, id, 4);
    }
}
