//! A checked window onto a shared-memory region.
//!
//! Shared structures hold 32-bit *device* addresses (the address both cores use on the
//! chip). A [`Shm`] knows the device base of its region and where the region is mapped
//! locally, so it can translate in both directions. Every access goes through a bounds
//! and alignment check: a value the peer wrote can at worst produce an [`ShmError`], never
//! an access outside the region.

use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU32};

#[cfg(target_endian = "big")]
compile_error!("esp-amp shared memory is little-endian; big-endian hosts are not supported");

/// Why a device address could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ShmError {
    /// `[addr, addr + len)` is not wholly inside the region (or overflows).
    OutOfBounds {
        /// The device address.
        addr: u32,
        /// The access length in bytes.
        len: u32,
    },
    /// `addr` is not a multiple of the access size.
    Misaligned {
        /// The device address.
        addr: u32,
        /// The alignment the access needs.
        align: u32,
    },
}

impl core::fmt::Display for ShmError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ShmError::OutOfBounds { addr, len } => {
                write!(f, "range 0x{addr:08x}+{len} is outside the shared region")
            }
            ShmError::Misaligned { addr, align } => {
                write!(f, "address 0x{addr:08x} is not {align}-byte aligned")
            }
        }
    }
}

/// A shared-memory region: device base address, local mapping and length.
///
/// `Shm` is a cheap `Copy` handle; the lifetime `'r` ties it to whatever owns the
/// mapping (`'static` on a chip, the host mapping on a PC).
///
/// ```
/// use esp_amp::shm::Shm;
/// let mut backing = [0u32; 16];
/// // SAFETY: `backing` is valid, 4-byte aligned and outlives `shm`; nothing else
/// // accesses it while `shm` is in use.
/// let shm = unsafe { Shm::from_raw(backing.as_mut_ptr().cast(), 0x4087_A560, 64) };
/// shm.write_u32(0x4087_A564, 0xdead_beef).unwrap();
/// assert_eq!(shm.read_u32(0x4087_A564), Ok(0xdead_beef));
/// assert!(shm.read_u32(0x4087_A5A0).is_err()); // past the end
/// assert!(shm.read_u32(0x4087_A562).is_err()); // misaligned
/// ```
#[derive(Clone, Copy)]
pub struct Shm<'r> {
    local: NonNull<u8>,
    base: u32,
    len: u32,
    _region: PhantomData<&'r [core::cell::UnsafeCell<u8>]>,
}

// SAFETY: `Shm` is a pointer + bounds into memory that is shared *by design* between
// execution contexts; every access through it is volatile or atomic, never a Rust
// reference to non-atomic data, so sending or sharing the handle cannot create a data
// race in the Rust sense beyond what atomics/volatile already permit.
unsafe impl Send for Shm<'_> {}
// SAFETY: see `Send` above.
unsafe impl Sync for Shm<'_> {}

impl core::fmt::Debug for Shm<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shm")
            .field("device_base", &format_args!("0x{:08x}", self.base))
            .field("len", &self.len)
            .field("local", &self.local)
            .finish()
    }
}

impl<'r> Shm<'r> {
    /// Creates a handle for `len` bytes mapped at `local`, seen by the cores at `device_base`.
    ///
    /// # Safety
    /// - `local..local + len` must be valid for reads and writes for `'r`, 4-byte aligned;
    /// - that memory may be changed by another core or process at any time, and must only
    ///   be accessed through volatile/atomic operations (as this type does) while `'r` lasts;
    /// - `device_base + len` must not overflow `u32`.
    pub unsafe fn from_raw(local: *mut u8, device_base: u32, len: u32) -> Self {
        assert!(device_base.checked_add(len).is_some(), "region wraps the address space");
        assert!(local as usize % 4 == 0, "local mapping must be 4-byte aligned");
        Shm {
            local: NonNull::new(local).expect("null mapping"),
            base: device_base,
            len,
            _region: PhantomData,
        }
    }

    /// Device address of the first byte.
    pub fn device_base(&self) -> u32 {
        self.base
    }

    /// Device address one past the last byte.
    pub fn device_end(&self) -> u32 {
        // Cannot overflow: checked in `from_raw`.
        self.base + self.len
    }

    /// Length in bytes.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// `true` when the region has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `true` if `[addr, addr + len)` lies wholly inside the region.
    pub fn contains(&self, addr: u32, len: u32) -> bool {
        self.offset_of(addr, len).is_ok()
    }

    /// A sub-window `[addr, addr + len)` of this region, with the same lifetime.
    pub fn slice(&self, addr: u32, len: u32) -> Result<Shm<'r>, ShmError> {
        let off = self.offset_of(addr, len)?;
        if addr % 4 != 0 {
            return Err(ShmError::Misaligned { addr, align: 4 });
        }
        Ok(Shm {
            // SAFETY: `off + len <= self.len`, so the pointer stays inside the mapping.
            local: unsafe { self.local.add(off) },
            base: addr,
            len,
            _region: PhantomData,
        })
    }

    fn offset_of(&self, addr: u32, len: u32) -> Result<usize, ShmError> {
        let oob = ShmError::OutOfBounds { addr, len };
        let off = addr.checked_sub(self.base).ok_or(oob)?;
        let end = off.checked_add(len).ok_or(oob)?;
        if end > self.len {
            return Err(oob);
        }
        Ok(off as usize)
    }

    /// Translates a checked device range to a local pointer (`align` must be a power of two).
    pub fn local_ptr(&self, addr: u32, len: u32, align: u32) -> Result<*mut u8, ShmError> {
        let off = self.offset_of(addr, len)?;
        if addr & (align - 1) != 0 {
            return Err(ShmError::Misaligned { addr, align });
        }
        // SAFETY: `off + len <= self.len`, so the result is inside the mapping.
        Ok(unsafe { self.local.as_ptr().add(off) })
    }

    /// Translates a local pointer back to a device address, if it points into the region.
    pub fn device_addr(&self, ptr: *const u8) -> Option<u32> {
        let off = (ptr as usize).checked_sub(self.local.as_ptr() as usize)?;
        (off < self.len as usize).then(|| self.base + off as u32)
    }

    /// The 32-bit atomic word at `addr` (4-byte aligned, inside the region).
    pub fn atomic_u32(&self, addr: u32) -> Result<&'r AtomicU32, ShmError> {
        let p = self.local_ptr(addr, 4, 4)?;
        // SAFETY: `p` is in bounds, 4-byte aligned and valid for `'r` (contract of
        // `from_raw`); the region is only accessed atomically or volatilely, so handing
        // out a shared `&AtomicU32` cannot alias a non-atomic Rust reference.
        Ok(unsafe { AtomicU32::from_ptr(p.cast()) })
    }

    /// The 16-bit atomic halfword at `addr` (2-byte aligned, inside the region).
    pub fn atomic_u16(&self, addr: u32) -> Result<&'r AtomicU16, ShmError> {
        let p = self.local_ptr(addr, 2, 2)?;
        // SAFETY: as for `atomic_u32`: in bounds, aligned, valid for `'r`, and the region
        // is only ever accessed atomically or volatilely.
        Ok(unsafe { AtomicU16::from_ptr(p.cast()) })
    }

    /// Volatile little-endian `u32` read.
    pub fn read_u32(&self, addr: u32) -> Result<u32, ShmError> {
        let p = self.local_ptr(addr, 4, 4)?;
        // SAFETY: in bounds and aligned (checked above), valid for reads for `'r`.
        Ok(u32::from_le(unsafe { p.cast::<u32>().read_volatile() }))
    }

    /// `N` consecutive volatile little-endian `u32` reads from `addr` (4-byte aligned),
    /// with one bounds check: for headers and configurations read as a whole.
    ///
    /// ```
    /// # use esp_amp::shm::Shm;
    /// # let mut backing = [0u32; 4];
    /// # // SAFETY: `backing` is valid, aligned and outlives `shm`.
    /// # let shm = unsafe { Shm::from_raw(backing.as_mut_ptr().cast(), 0x1000, 16) };
    /// shm.write_u32(0x1008, 9).unwrap();
    /// assert_eq!(shm.read_words::<2>(0x1008), Ok([9, 0]));
    /// assert!(shm.read_words::<2>(0x100C).is_err()); // the second word is outside
    /// ```
    pub fn read_words<const N: usize>(&self, addr: u32) -> Result<[u32; N], ShmError> {
        let p = self.local_ptr(addr, 4 * N as u32, 4)?.cast::<u32>();
        // SAFETY: `[p, p + 4·N)` is in bounds and aligned (checked above), valid for reads
        // for `'r`; `i < N`.
        Ok(core::array::from_fn(|i| u32::from_le(unsafe { p.add(i).read_volatile() })))
    }

    /// Volatile little-endian `u16` read.
    pub fn read_u16(&self, addr: u32) -> Result<u16, ShmError> {
        let p = self.local_ptr(addr, 2, 2)?;
        // SAFETY: in bounds and aligned (checked above), valid for reads for `'r`.
        Ok(u16::from_le(unsafe { p.cast::<u16>().read_volatile() }))
    }

    /// Volatile little-endian `u32` write.
    pub fn write_u32(&self, addr: u32, value: u32) -> Result<(), ShmError> {
        let p = self.local_ptr(addr, 4, 4)?;
        // SAFETY: in bounds and aligned (checked above), valid for writes for `'r`.
        unsafe { p.cast::<u32>().write_volatile(value.to_le()) };
        Ok(())
    }

    /// Volatile little-endian `u16` write.
    pub fn write_u16(&self, addr: u32, value: u16) -> Result<(), ShmError> {
        let p = self.local_ptr(addr, 2, 2)?;
        // SAFETY: in bounds and aligned (checked above), valid for writes for `'r`.
        unsafe { p.cast::<u16>().write_volatile(value.to_le()) };
        Ok(())
    }

    /// Copies `out.len()` bytes starting at `addr` out of the region (volatile, byte-wise).
    pub fn read_bytes(&self, addr: u32, out: &mut [u8]) -> Result<(), ShmError> {
        let len = u32::try_from(out.len()).map_err(|_| ShmError::OutOfBounds { addr, len: u32::MAX })?;
        let p = self.local_ptr(addr, len, 1)?;
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: `i < len` and `[p, p + len)` is in bounds (checked above).
            *b = unsafe { p.add(i).read_volatile() };
        }
        Ok(())
    }

    /// Copies `data` into the region at `addr` (volatile, byte-wise).
    pub fn write_bytes(&self, addr: u32, data: &[u8]) -> Result<(), ShmError> {
        let len = u32::try_from(data.len()).map_err(|_| ShmError::OutOfBounds { addr, len: u32::MAX })?;
        let p = self.local_ptr(addr, len, 1)?;
        for (i, b) in data.iter().enumerate() {
            // SAFETY: `i < len` and `[p, p + len)` is in bounds (checked above).
            unsafe { p.add(i).write_volatile(*b) };
        }
        Ok(())
    }

    /// Sets `len` bytes at `addr` to `value`.
    pub fn fill(&self, addr: u32, len: u32, value: u8) -> Result<(), ShmError> {
        let p = self.local_ptr(addr, len, 1)?;
        for i in 0..len as usize {
            // SAFETY: `i < len` and `[p, p + len)` is in bounds (checked above).
            unsafe { p.add(i).write_volatile(value) };
        }
        Ok(())
    }
}

impl core::error::Error for ShmError {}

/// Rounds `v` up to a multiple of 4, `None` on overflow.
pub(crate) fn round_up4(v: u32) -> Option<u32> {
    v.checked_add(3).map(|x| x & !3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_shm<R>(f: impl FnOnce(Shm<'_>) -> R) -> R {
        let mut mem = [0u32; 8];
        // SAFETY: `mem` is aligned, valid and outlives the handle used inside `f`.
        let shm = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0xFFFF_FFC0, 32) };
        f(shm)
    }

    #[test]
    fn bounds_and_alignment() {
        with_shm(|shm| {
            assert_eq!(shm.device_end(), 0xFFFF_FFE0);
            assert!(shm.write_u32(0xFFFF_FFDC, 7).is_ok());
            assert_eq!(shm.read_u32(0xFFFF_FFDC), Ok(7));
            assert_eq!(shm.read_u16(0xFFFF_FFDC), Ok(7));
            assert!(matches!(shm.read_u32(0xFFFF_FFDE), Err(ShmError::OutOfBounds { .. })));
            assert!(matches!(shm.read_u32(0xFFFF_FFC2), Err(ShmError::Misaligned { .. })));
            assert!(matches!(shm.read_u32(0x10), Err(ShmError::OutOfBounds { .. })));
            assert!(matches!(shm.read_u32(0xFFFF_FFFC), Err(ShmError::OutOfBounds { .. })));
            assert!(shm.read_bytes(0xFFFF_FFD0, &mut [0; 17]).is_err());
            let mut out = [0u8; 4];
            shm.read_bytes(0xFFFF_FFDC, &mut out).unwrap();
            assert_eq!(out, [7, 0, 0, 0]);
            let sub = shm.slice(0xFFFF_FFD0, 16).unwrap();
            assert_eq!(sub.read_u32(0xFFFF_FFDC), Ok(7));
            assert!(sub.read_u32(0xFFFF_FFC0).is_err());
            assert!(shm.slice(0xFFFF_FFD0, 17).is_err());
        });
    }

    #[test]
    fn device_local_round_trip() {
        with_shm(|shm| {
            let p = shm.local_ptr(0xFFFF_FFC8, 4, 4).unwrap();
            assert_eq!(shm.device_addr(p), Some(0xFFFF_FFC8));
            assert_eq!(shm.device_addr(p.wrapping_add(24)), None);
        });
    }
}
