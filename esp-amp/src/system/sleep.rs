//! Light-sleep coordination (docs/protocol.md §8.6, LP-core chips with auto light sleep).
//!
//! The maincore keeps a counter in SysInfo block 0xFF05 of the **RTC** pool (4 bytes; the
//! counter is the byte at offset 0) and skips light sleep while it is non-zero. The
//! subcore raises it around work that needs the maincore awake and, when it goes from 0
//! to non-zero, pulses the interrupt line so a sleeping maincore wakes up.
//!
//! Differences from C: guards are RAII values that nest locally (a [`SleepGuard`] cannot
//! be left unbalanced), and the shared byte is only ever 0 or 1 (C counts in a `u8` that
//! wraps at 256 nested entries). RTC RAM has no atomics, so the byte is written with plain
//! volatile stores by the subcore alone and read by the maincore.
//!
//! ```
//! # use esp_amp::shm::Shm;
//! # use esp_amp::sys_info::SysInfoAllocator;
//! # use esp_amp::port::InterruptLine;
//! use esp_amp::system::sleep::{LightSleep, SleepGuards};
//! # struct Line; impl InterruptLine for Line { fn raise(&self) {} fn clear(&self) {} fn enable(&self) {} fn disable(&self) {} }
//! # let (mut hp, mut rtc) = ([0u32; 64], [0u32; 64]);
//! # // SAFETY: both arrays are aligned, valid and outlive the pools.
//! # let hp = unsafe { Shm::from_raw(hp.as_mut_ptr().cast(), 0x4087_A580, 256) };
//! # let rtc = unsafe { Shm::from_raw(rtc.as_mut_ptr().cast(), 0x5000_0F00, 256) };
//! let mut sys = SysInfoAllocator::init(hp, Some(rtc)).unwrap();
//! let main = LightSleep::create(&mut sys).unwrap();      // maincore
//! let sub = SleepGuards::attach(&sys.info(), Line).unwrap(); // subcore
//! assert!(main.may_sleep());
//! {
//!     let _awake = sub.enter();
//!     let _nested = sub.enter();
//!     assert!(!main.may_sleep());
//! }
//! assert!(main.may_sleep());
//! ```

use core::cell::Cell;
use core::sync::atomic::{fence, Ordering};

use crate::port::InterruptLine;
use crate::shm::Shm;
use crate::sys_info::{Pool, SysInfo, SysInfoAllocator, SysInfoError, SysInfoId};

/// SysInfo id of the counter.
pub const PM_ID: SysInfoId = SysInfoId::PM;
/// Size of the SysInfo block.
pub const PM_SIZE: u16 = 4;

/// Maincore: the skip-light-sleep check.
pub struct LightSleep<'r> {
    shm: Shm<'r>,
    addr: u32,
}

impl<'r> LightSleep<'r> {
    /// Allocates the counter in the RTC pool and zeroes it (before the subcore starts).
    pub fn create(sys: &mut SysInfoAllocator<'r>) -> Result<Self, SysInfoError> {
        let b = sys.alloc(PM_ID, usize::from(PM_SIZE), Pool::Rtc)?;
        let _ = b.shm().fill(b.addr(), u32::from(PM_SIZE), 0);
        Ok(LightSleep { shm: b.shm(), addr: b.addr() })
    }

    /// `true` when the subcore holds no guard: the maincore may enter light sleep (the
    /// IDF skip-light-sleep callback returns `!may_sleep()`).
    pub fn may_sleep(&self) -> bool {
        let mut b = [0u8];
        let _ = self.shm.read_bytes(self.addr, &mut b);
        fence(Ordering::Acquire);
        b[0] == 0
    }
}

/// Subcore: hands out [`SleepGuard`]s.
pub struct SleepGuards<'r, L: InterruptLine> {
    shm: Shm<'r>,
    addr: u32,
    line: L,
    depth: Cell<u32>,
}

impl<'r, L: InterruptLine> SleepGuards<'r, L> {
    /// Finds the counter (`Err` when the maincore has no light-sleep support). `line`
    /// pulses the maincore awake.
    pub fn attach(info: &SysInfo<'r>, line: L) -> Result<Self, SysInfoError> {
        let b = info.get(PM_ID, Pool::Rtc)?.expect_size(PM_SIZE)?;
        Ok(SleepGuards { shm: b.shm(), addr: b.addr(), line, depth: Cell::new(0) })
    }

    /// Keeps the maincore out of light sleep until the guard drops (guards nest).
    pub fn enter(&self) -> SleepGuard<'_, 'r, L> {
        critical_section::with(|_| {
            let d = self.depth.get();
            self.depth.set(d + 1);
            if d == 0 {
                let _ = self.shm.write_bytes(self.addr, &[1]);
                // The store must be visible before the maincore wakes and looks.
                fence(Ordering::SeqCst);
                self.line.raise();
            }
        });
        SleepGuard { guards: self }
    }

    /// Guards currently held.
    pub fn depth(&self) -> u32 {
        self.depth.get()
    }
}

/// Holds the maincore awake while alive.
pub struct SleepGuard<'g, 'r, L: InterruptLine> {
    guards: &'g SleepGuards<'r, L>,
}

impl<L: InterruptLine> Drop for SleepGuard<'_, '_, L> {
    fn drop(&mut self) {
        let g = self.guards;
        critical_section::with(|_| {
            let d = g.depth.get().saturating_sub(1);
            g.depth.set(d);
            if d == 0 {
                fence(Ordering::Release);
                let _ = g.shm.write_bytes(g.addr, &[0]);
            }
        });
    }
}
