//! Views of payload bytes in shared memory: [`PeerBytes`] to read, [`PeerBytesMut`] to
//! write.
//!
//! A received buffer stays in shared memory until it is given back (zero-copy), and the
//! peer is not trusted: a faulty or hostile peer may write a buffer it has handed over
//! while we read it. A Rust reference (`&[u8]`, `&mut [u8]`) promises the compiler that
//! nobody else writes the bytes while it lives; with a peer that breaks that promise the
//! compiler may, for example, load a byte once for a bounds check and again for its use,
//! and the check no longer protects the use. So the guards do not hand out references;
//! they hand out these views, whose every access is a volatile load or store of its own:
//! a value read once is the value used, whatever the peer does meanwhile. The usual way
//! to look at a payload is to copy what is needed out of it ([`PeerBytes::copy_to`],
//! [`PeerBytes::read_array`], [`PeerBytes::get`]) and check the copy. The zero-copy
//! reference is still there, behind `unsafe` ([`PeerBytes::as_slice`],
//! [`PeerBytesMut::as_mut_slice`]), for a caller that can promise the peer leaves the
//! buffer alone (an honest peer does; see docs/reliability.md, "Payload access").
//!
//! On 64-bit targets the copies move aligned words where both sides allow it, and cost no
//! more than `copy_from_slice`; on the 32-bit RISC-V cores they are byte loops, smaller
//! than a `memcpy` call site (docs/benchmarks.md, "Payload views").

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Bound, RangeBounds};

/// Read-only view of `len` bytes of shared memory that the peer may write.
///
/// Every access reads the memory again (volatile), so copy out what you check.
///
/// ```
/// # use esp_amp::queue::{Consumer, Placement, Producer, QueueSpec};
/// # use esp_amp::sys_info::{SysInfoAllocator, SysInfoId};
/// # use esp_amp::shm::Shm;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # let tx: Producer = Producer::create(&mut sys, SysInfoId(0x100), QueueSpec::new(4, 32).unwrap(), Placement::Normal).unwrap();
/// # let rx: Consumer = Consumer::attach(&sys.info(), SysInfoId(0x100)).unwrap();
/// tx.send(&[7, 1, 2, 3]).unwrap();
/// let buf = rx.try_recv().unwrap();
/// let bytes = buf.bytes();
/// assert_eq!(bytes, [7, 1, 2, 3]); // compares byte by byte, volatile
/// // Copy, then check the copy: the peer cannot change it behind the check.
/// let mut local = [0u8; 16];
/// let n = bytes.copy_to(&mut local);
/// assert_eq!(&local[..n], &[7, 1, 2, 3]);
/// assert_eq!(bytes.read_array::<2>(1), Some([1, 2]));
/// assert_eq!(bytes.get(9), None);
/// ```
#[derive(Clone, Copy)]
pub struct PeerBytes<'a> {
    ptr: *const u8,
    len: usize,
    _life: PhantomData<&'a [u8]>,
}

/// Writable view of `len` bytes of shared memory that the peer may also access.
///
/// ```
/// # use esp_amp::queue::{Consumer, Placement, Producer, QueueSpec};
/// # use esp_amp::sys_info::{SysInfoAllocator, SysInfoId};
/// # use esp_amp::shm::Shm;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # let tx: Producer = Producer::create(&mut sys, SysInfoId(0x100), QueueSpec::new(4, 32).unwrap(), Placement::Normal).unwrap();
/// # let rx: Consumer = Consumer::attach(&sys.info(), SysInfoId(0x100)).unwrap();
/// let mut buf = tx.alloc().unwrap();
/// let mut bytes = buf.bytes_mut();
/// assert_eq!(bytes.len(), 32);
/// bytes.write(0, b"head").unwrap();
/// bytes.write(4, &42u32.to_le_bytes()).unwrap();
/// assert!(bytes.write(30, b"too long").is_err()); // nothing written
/// buf.send(8).unwrap();
/// assert_eq!(rx.try_recv().unwrap().bytes(), *b"head\x2a\0\0\0");
/// ```
pub struct PeerBytesMut<'a> {
    ptr: *mut u8,
    len: usize,
    _life: PhantomData<&'a mut [u8]>,
}

/// A write that does not fit the view: nothing was written.
///
/// ```
/// # use esp_amp::queue::{Consumer, Placement, Producer, QueueSpec};
/// # use esp_amp::sys_info::{SysInfoAllocator, SysInfoId};
/// # use esp_amp::shm::Shm;
/// use esp_amp::payload::OutOfBounds;
/// # let mut mem = [0u32; 256];
/// # // SAFETY: `mem` is aligned, valid and outlives `pool`.
/// # let pool = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_A580, 1024) };
/// # let mut sys = SysInfoAllocator::init(pool, None).unwrap();
/// # let tx: Producer = Producer::create(&mut sys, SysInfoId(0x100), QueueSpec::new(4, 8).unwrap(), Placement::Normal).unwrap();
/// let mut buf = tx.alloc().unwrap(); // 8 bytes
/// let err = buf.bytes_mut().write(6, b"four").unwrap_err();
/// assert_eq!(err, OutOfBounds { offset: 6, len: 4, view_len: 8 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutOfBounds {
    /// Where the write would have started.
    pub offset: usize,
    /// Bytes it would have written.
    pub len: usize,
    /// Bytes in the view.
    pub view_len: usize,
}

impl fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes at offset {} do not fit a view of {} bytes", self.len, self.offset, self.view_len)
    }
}

impl core::error::Error for OutOfBounds {}

const WORD: usize = core::mem::size_of::<u32>();

/// Whether copies move whole words where they can. Not on 32-bit RISC-V, the subcores'
/// (and the ESP32 maincores') architecture: there the word loop costs about 58 bytes of
/// code more than the byte loop, which the 16 KiB LP core feels, while its messages are
/// short and its shared SRAM is uncached (docs/benchmarks.md, "Payload views").
const WORD_COPIES: bool = !cfg!(target_arch = "riscv32");

/// `start..end` of `range` inside `0..len`, if it is inside.
fn resolve(range: impl RangeBounds<usize>, len: usize) -> Option<(usize, usize)> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.checked_add(1)?,
        Bound::Excluded(&e) => e,
        Bound::Unbounded => len,
    };
    (start <= end && end <= len).then_some((start, end))
}

/// Copies `n` bytes from `src` to `dst`, each byte loaded once and stored once, with
/// volatile accesses: where [`WORD_COPIES`] allows, aligned 64-bit words (64-bit targets)
/// and 32-bit words while both addresses are aligned for them, then bytes. The one loop behind every copy of this module.
///
/// # Safety
/// `src..src + n` is valid for reads and `dst..dst + n` for writes. (Overlapping ranges
/// give unspecified bytes, never undefined behaviour: every access is a volatile one.)
#[inline]
unsafe fn copy_volatile(src: *const u8, dst: *mut u8, n: usize) {
    let mut i = 0;
    if WORD_COPIES && cfg!(target_pointer_width = "64") && (src as usize | dst as usize) % 8 == 0 {
        while n - i >= 8 {
            // SAFETY: `i + 8 <= n`: inside both ranges; both addresses are 8-aligned
            // (the bases are, and `i` is a multiple of 8).
            unsafe { dst.add(i).cast::<u64>().write_volatile(src.add(i).cast::<u64>().read_volatile()) };
            i += 8;
        }
    }
    if WORD_COPIES && (src as usize | dst as usize) % WORD == 0 {
        while n - i >= WORD {
            // SAFETY: `i + 4 <= n`: inside both ranges; both addresses are 4-aligned
            // (the bases are, and `i` is a multiple of 4).
            unsafe { dst.add(i).cast::<u32>().write_volatile(src.add(i).cast::<u32>().read_volatile()) };
            i += WORD;
        }
    }
    while i < n {
        // SAFETY: `i < n`: inside both ranges.
        unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
        i += 1;
    }
}

/// Copies `dst.len()` bytes from `src` (see [`copy_volatile`]).
///
/// # Safety
/// `src..src + dst.len()` is valid for reads.
#[inline]
unsafe fn copy_out(src: *const u8, dst: &mut [u8]) {
    // SAFETY: `dst` is writable for its length; `src` readable by the caller's promise.
    unsafe { copy_volatile(src, dst.as_mut_ptr(), dst.len()) }
}

/// Copies `src` to `dst` (see [`copy_volatile`]).
///
/// # Safety
/// `dst..dst + src.len()` is valid for writes.
#[inline]
unsafe fn copy_in(dst: *mut u8, src: &[u8]) {
    // SAFETY: `src` is readable for its length; `dst` writable by the caller's promise.
    unsafe { copy_volatile(src.as_ptr(), dst, src.len()) }
}

impl<'a> PeerBytes<'a> {
    /// A view of `len` bytes at `ptr`.
    ///
    /// # Safety
    /// `ptr..ptr + len` is valid for reads for `'a` (it may be written by the peer: that
    /// is what the view is for, but not freed or unmapped).
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: *const u8, len: usize) -> Self {
        PeerBytes { ptr, len, _life: PhantomData }
    }

    /// An empty view.
    pub const fn empty() -> Self {
        PeerBytes { ptr: core::ptr::NonNull::<u8>::dangling().as_ptr(), len: 0, _life: PhantomData }
    }

    /// Number of bytes in the view.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` if the view has no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Byte `i`, or `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<u8> {
        // SAFETY: `i < len`: inside the readable range (`from_raw`'s contract).
        (i < self.len).then(|| unsafe { self.ptr.add(i).read_volatile() })
    }

    /// The sub-view `range`, or `None` if it is not inside the view.
    #[inline]
    pub fn slice(&self, range: impl RangeBounds<usize>) -> Option<PeerBytes<'a>> {
        let (start, end) = resolve(range, self.len)?;
        // SAFETY: `start..end` is inside this view's readable range.
        Some(unsafe { PeerBytes::from_raw(self.ptr.add(start), end - start) })
    }

    /// Copies the first `min(len, dst.len())` bytes into `dst`; returns how many.
    #[inline]
    pub fn copy_to(&self, dst: &mut [u8]) -> usize {
        let n = self.len.min(dst.len());
        if let Some(d) = dst.get_mut(..n) {
            // SAFETY: `n <= len` bytes from `ptr` are readable.
            unsafe { copy_out(self.ptr, d) };
        }
        n
    }

    /// The `N` bytes at `offset`, or `None` if they are not all inside the view.
    #[inline]
    pub fn read_array<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let mut out = [0u8; N];
        let (start, _) = resolve(offset..offset.checked_add(N)?, self.len)?;
        // SAFETY: `start..start + N` is inside the readable range (checked just above).
        unsafe { copy_out(self.ptr.add(start), &mut out) };
        Some(out)
    }

    /// The bytes one by one (each read when the iterator reaches it).
    pub fn iter(&self) -> impl Iterator<Item = u8> + 'a {
        let this = *self;
        // `i < len`: `get` cannot miss.
        (0..this.len).map(move |i| this.get(i).unwrap_or_default())
    }

    /// `true` if the view holds exactly `other` (read once, byte by byte).
    pub fn equals(&self, other: &[u8]) -> bool {
        self.len == other.len() && self.iter().zip(other).all(|(a, &b)| a == b)
    }

    /// The bytes as a plain slice, zero-copy.
    ///
    /// # Safety
    /// Nobody may write these bytes while the returned slice lives: the caller promises
    /// that the peer leaves the buffer alone until it is given back (an honest peer does,
    /// as the protocol requires). If the peer may break the protocol, use the copying
    /// accessors instead.
    #[inline]
    pub unsafe fn as_slice(&self) -> &'a [u8] {
        // SAFETY: readable for `'a` (`from_raw`); no concurrent writes (the caller's
        // promise); `ptr` is non-null (a real buffer, or dangling with `len == 0`).
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<'a> PeerBytesMut<'a> {
    /// A view of `len` bytes at `ptr`.
    ///
    /// # Safety
    /// `ptr..ptr + len` is valid for reads and writes for `'a`, and no other view or
    /// reference of ours covers it meanwhile.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: *mut u8, len: usize) -> Self {
        PeerBytesMut { ptr, len, _life: PhantomData }
    }

    /// An empty view.
    pub const fn empty() -> Self {
        PeerBytesMut { ptr: core::ptr::NonNull::<u8>::dangling().as_ptr(), len: 0, _life: PhantomData }
    }

    /// Number of bytes in the view.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` if the view has no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A read-only view of the same bytes.
    #[inline]
    pub fn as_bytes(&self) -> PeerBytes<'_> {
        // SAFETY: the same range, readable while `self` is borrowed.
        unsafe { PeerBytes::from_raw(self.ptr, self.len) }
    }

    /// The writable sub-view `range`, or `None` if it is not inside the view.
    #[inline]
    pub fn slice_mut(&mut self, range: impl RangeBounds<usize>) -> Option<PeerBytesMut<'_>> {
        let (start, end) = resolve(range, self.len)?;
        // SAFETY: `start..end` is inside this view's range; `&mut self` is borrowed for
        // as long as the sub-view lives, so it is the only one.
        Some(unsafe { PeerBytesMut::from_raw(self.ptr.add(start), end - start) })
    }

    /// The writable sub-view `range` for the rest of the view's life (the view is used
    /// up), or `None` if it is not inside the view.
    #[inline]
    pub fn into_slice(self, range: impl RangeBounds<usize>) -> Option<PeerBytesMut<'a>> {
        let (start, end) = resolve(range, self.len)?;
        // SAFETY: `start..end` is inside this view's range, and `self` is given up, so the
        // sub-view is the only one.
        Some(unsafe { PeerBytesMut::from_raw(self.ptr.add(start), end - start) })
    }

    /// Writes `src` at `offset`, all of it or (if it does not fit) nothing.
    #[inline]
    pub fn write(&mut self, offset: usize, src: &[u8]) -> Result<(), OutOfBounds> {
        let err = OutOfBounds { offset, len: src.len(), view_len: self.len };
        let (start, _) = resolve(offset..offset.checked_add(src.len()).ok_or(err)?, self.len).ok_or(err)?;
        // SAFETY: `start..start + src.len()` is inside the writable range.
        unsafe { copy_in(self.ptr.add(start), src) };
        Ok(())
    }

    /// Copies as much of `src` as fits to the start of the view; returns how many bytes.
    #[inline]
    pub fn copy_from(&mut self, src: &[u8]) -> usize {
        let n = self.len.min(src.len());
        if let Some(s) = src.get(..n) {
            // SAFETY: `n <= len` bytes from `ptr` are writable.
            unsafe { copy_in(self.ptr, s) };
        }
        n
    }

    /// Copies as much of `src` (another view, of this or another buffer) as fits to the
    /// start of this view; returns how many bytes. Each byte is loaded once and stored
    /// once. (Overlapping views give unspecified bytes, never undefined behaviour.)
    #[inline]
    pub fn copy_from_peer(&mut self, src: PeerBytes<'_>) -> usize {
        let n = self.len.min(src.len);
        // SAFETY: `n` bytes are inside both views (readable; writable by this view alone).
        unsafe { copy_volatile(src.ptr, self.ptr, n) };
        n
    }

    /// Sets byte `i`; `false` (nothing written) past the end.
    #[inline]
    pub fn set(&mut self, i: usize, value: u8) -> bool {
        if i < self.len {
            // SAFETY: `i < len`: inside the writable range.
            unsafe { self.ptr.add(i).write_volatile(value) };
        }
        i < self.len
    }

    /// Sets every byte to `value`.
    pub fn fill(&mut self, value: u8) {
        for i in 0..self.len {
            // SAFETY: `i < len`: inside the writable range.
            unsafe { self.ptr.add(i).write_volatile(value) };
        }
    }

    /// The bytes as a plain mutable slice, zero-copy.
    ///
    /// # Safety
    /// Nobody else may read or write these bytes while the returned slice lives: the
    /// caller promises that the peer does not touch a buffer it has not been handed (an
    /// honest peer does not, as the protocol requires).
    #[inline]
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: readable and writable, ours alone while `self` is borrowed (`from_raw`);
        // no access by the peer (the caller's promise); `ptr` is non-null.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl PartialEq<[u8]> for PeerBytes<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.equals(other)
    }
}

impl PartialEq<&[u8]> for PeerBytes<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.equals(other)
    }
}

impl<const N: usize> PartialEq<[u8; N]> for PeerBytes<'_> {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.equals(other)
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for PeerBytes<'_> {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.equals(*other)
    }
}

impl PartialEq for PeerBytes<'_> {
    fn eq(&self, other: &PeerBytes<'_>) -> bool {
        self.len == other.len && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl fmt::Debug for PeerBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for PeerBytesMut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_bytes().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(mem: &[u8]) -> PeerBytes<'_> {
        // SAFETY: `mem` is readable for the borrow.
        unsafe { PeerBytes::from_raw(mem.as_ptr(), mem.len()) }
    }

    #[test]
    fn copies_read_every_byte_aligned_or_not() {
        let mem: [u32; 4] = [0x0403_0201, 0x0807_0605, 0x0c0b_0a09, 0x100f_0e0d];
        // SAFETY: `mem` is 16 readable bytes.
        let all = unsafe { core::slice::from_raw_parts(mem.as_ptr().cast::<u8>(), 16) };
        let want: Vec<u8> = all.to_vec();
        for start in 0..16 {
            for len in 0..=16 - start {
                let v = view(&all[start..start + len]);
                let mut out = [0xEEu8; 20];
                assert_eq!(v.copy_to(&mut out), len);
                assert_eq!(&out[..len], &want[start..start + len]);
                assert!(out[len..].iter().all(|&b| b == 0xEE), "wrote past the copy");
                assert_eq!(v, &want[start..start + len]);
            }
        }
        let v = view(all);
        assert_eq!(v.copy_to(&mut [0u8; 3]), 3);
        assert_eq!(v.read_array::<4>(12), Some([13, 14, 15, 16]));
        assert_eq!(v.read_array::<4>(13), None);
        assert_eq!(v.read_array::<1>(usize::MAX), None);
        assert_eq!(v.slice(2..4).unwrap(), [3, 4]);
        assert_eq!(v.slice(..=0).unwrap(), [1]);
        let (from, to) = (3, 2);
        assert!(v.slice(15..17).is_none() && v.slice(from..to).is_none());
        assert_eq!(v.iter().map(u32::from).sum::<u32>(), 136);
        assert_eq!(format!("{:?}", v.slice(..3).unwrap()), "[1, 2, 3]");
        assert!(PeerBytes::empty().is_empty() && PeerBytes::empty() == [0u8; 0]);
    }

    #[test]
    fn writes_fit_or_do_nothing() {
        let mut mem = [0u32; 3];
        for start in 0..12 {
            for len in 0..=12 - start {
                mem = [0; 3];
                // SAFETY: `mem` is 12 writable bytes, not otherwise borrowed meanwhile.
                let mut v = unsafe { PeerBytesMut::from_raw(mem.as_mut_ptr().cast(), 12) };
                let src: Vec<u8> = (1..=len as u8).collect();
                v.write(start, &src).unwrap();
                let mut want = [0u8; 12];
                want[start..start + len].copy_from_slice(&src);
                assert_eq!(v.as_bytes(), want);
            }
        }
        // SAFETY: as above.
        let mut v = unsafe { PeerBytesMut::from_raw(mem.as_mut_ptr().cast(), 12) };
        v.fill(9);
        assert_eq!(v.write(10, b"abc"), Err(OutOfBounds { offset: 10, len: 3, view_len: 12 }));
        assert_eq!(v.write(usize::MAX, b"a").unwrap_err().offset, usize::MAX);
        assert_eq!(v.as_bytes(), [9u8; 12]);
        assert_eq!(v.copy_from(&[1; 20]), 12);
        assert!(v.set(11, 5) && !v.set(12, 5));
        v.slice_mut(0..2).unwrap().fill(0);
        assert_eq!(v.as_bytes(), [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5]);
        // SAFETY: nobody else touches `mem` while the slice lives.
        unsafe { v.as_mut_slice()[3] = 7 };
        assert_eq!(v.as_bytes().get(3), Some(7));
        assert_eq!(
            OutOfBounds { offset: 1, len: 2, view_len: 2 }.to_string(),
            "2 bytes at offset 1 do not fit a view of 2 bytes"
        );
    }
}
