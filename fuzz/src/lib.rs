//! The harness the fuzz targets share: a shared region in local memory, at the device
//! address of the golden images (ESP32-C6, 16 KiB), and a reader for the inputs.
//!
//! Input formats (what `cargo xtask fuzz` writes as seeds):
//! - region targets (`sys_info`, `queue`, `rpmsg`): `[u16 LE n][n bytes: the start of the
//!   shared region][ops]`; the rest of the region is zero. The golden images of the C
//!   implementation use less than 512 bytes, so they fit whole.
//! - op targets (`rpc`, `print`): ops only; the harness builds the legitimate state.

use esp_amp::shm::Shm;

/// Device address of the region (the golden images' `shared_start`).
pub const BASE: u32 = 0x4087_A560;
/// Its size: the golden images use less than 512 bytes, and the harnesses' own devices fit.
pub const SIZE: usize = 4 * 1024;
/// The software-interrupt header before the SysInfo pool.
pub const HEADER: u32 = 0x20;

/// A zeroed, 4-byte aligned shared region.
pub struct Region {
    mem: Box<[u32]>,
}

impl Default for Region {
    fn default() -> Self {
        Region { mem: vec![0u32; SIZE / 4].into_boxed_slice() }
    }
}

impl Region {
    /// A region whose first bytes are `prefix` (cut at [`SIZE`]).
    pub fn with_prefix(prefix: &[u8]) -> Self {
        let r = Region::default();
        let n = prefix.len().min(SIZE);
        let _ = r.shm().write_bytes(BASE, &prefix[..n]);
        r
    }

    /// The whole region. Every access goes through `Shm` (volatile or atomic).
    pub fn shm(&self) -> Shm<'_> {
        // SAFETY: `mem` is a live, 4-byte aligned allocation of SIZE bytes owned by `self`
        // for the handle's lifetime; it is only ever accessed through `Shm` (volatile and
        // atomic operations), never through a Rust reference; BASE + SIZE fits in u32.
        unsafe { Shm::from_raw(self.mem.as_ptr() as *mut u8, BASE, SIZE as u32) }
    }

    /// The SysInfo pool (after the header).
    pub fn pool(&self) -> Shm<'_> {
        self.shm().slice(BASE + HEADER, SIZE as u32 - HEADER).expect("inside the region")
    }
}

/// Reads an input front to back; every read past the end gives zeros, so any bytes are a
/// valid input.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        let (b, rest) = self.data.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.data = rest;
        b
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// A region target's input: the region prefix, then the ops.
    pub fn region(&mut self) -> Region {
        let n = usize::from(self.u16());
        Region::with_prefix(self.bytes(n))
    }
}

/// A hostile write by the peer: up to 8 bytes anywhere in the region.
pub fn peer_write(region: &Region, input: &mut Input<'_>) {
    let offset = u32::from(input.u16()) % SIZE as u32;
    let len = usize::from(input.u8() % 9);
    let bytes = input.bytes(len);
    let _ = region.shm().write_bytes(BASE + offset, bytes);
}
