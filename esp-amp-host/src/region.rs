//! The shared region on a PC: a memfd or a named file, mapped `MAP_SHARED`, so a second
//! thread, process or program in another language can map the same bytes.
//!
//! File layout (all little-endian):
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 4096 | control page: the `ControlHeader` and the two doorbell words |
//! | 4096 | `hp_len` | HP shared region (`[SHARED_START, SHARED_END)` on the chip) |
//! | … | `dump_len` | panic-dump region |
//! | … | `rtc_len` | RTC SysInfo pool (0 bytes on chips without one) |
//!
//! The control page is not part of any device address space; only this port uses it.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;

use esp_amp::layout::{MemoryLayout, Region};
use esp_amp::shm::Shm;
use esp_amp::sys_info::HEADER_SIZE;
use memmap2::MmapRaw;

/// Environment variable through which a child process learns the region's path.
pub const ENV_REGION_PATH: &str = "ESP_AMP_HOST_REGION";

const MAGIC: [u8; 8] = *b"ESPAMPH1";
const CONTROL_HEADER_LEN: usize = 36;
const CONTROL_SIZE: u64 = 4096;
/// Offsets of the doorbell words in the control page.
pub(crate) const DOORBELL_MAIN: usize = 64;
pub(crate) const DOORBELL_SUB: usize = 128;

/// Which device ranges the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLayout {
    /// The HP shared region (header + SysInfo pool).
    pub shared: Region,
    /// The panic-dump region.
    pub panic_dump: Region,
    /// The RTC SysInfo pool, if the configuration has one.
    pub rtc_pool: Option<Region>,
}

impl From<&MemoryLayout> for HostLayout {
    fn from(l: &MemoryLayout) -> Self {
        HostLayout { shared: l.shared, panic_dump: l.panic_dump, rtc_pool: l.rtc.map(|r| r.pool) }
    }
}

impl Default for HostLayout {
    /// The ESP32-C6 layout at the default configuration.
    fn default() -> Self {
        use esp_amp::layout::{AmpConfig, Chip};
        let l = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6))
            .expect("the default configuration is valid");
        HostLayout::from(&l)
    }
}

impl HostLayout {
    fn file_len(&self) -> u64 {
        CONTROL_SIZE
            + self.shared.len() as u64
            + self.panic_dump.len() as u64
            + self.rtc_pool.map_or(0, |r| r.len()) as u64
    }

    /// The control-page header: magic and the device ranges.
    fn control(&self) -> [u8; CONTROL_HEADER_LEN] {
        let mut header = [0u8; CONTROL_HEADER_LEN];
        header[..8].copy_from_slice(&MAGIC);
        let rtc = self.rtc_pool.unwrap_or(Region { start: 0, end: 0 });
        let words = [
            self.shared.start,
            self.shared.end,
            self.panic_dump.start,
            self.panic_dump.end,
            rtc.start,
            rtc.end,
            u32::from(self.rtc_pool.is_some()),
        ];
        for (i, v) in words.into_iter().enumerate() {
            header[8 + 4 * i..12 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        header
    }

    /// Decodes and checks a control-page header against the file's length.
    fn from_control(header: &[u8; CONTROL_HEADER_LEN], file_len: u64) -> io::Result<Self> {
        if header[..8] != MAGIC {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "host region: bad magic"));
        }
        let w = |i: usize| {
            let b = &header[8 + 4 * i..12 + 4 * i];
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        let layout = HostLayout {
            shared: Region { start: w(0), end: w(1) },
            panic_dump: Region { start: w(2), end: w(3) },
            rtc_pool: (w(6) != 0).then_some(Region { start: w(4), end: w(5) }),
        };
        layout.validate(file_len)?;
        Ok(layout)
    }

    /// Checks what a peer process wrote into the control page before we trust it.
    fn validate(&self, file_len: u64) -> io::Result<()> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("host region: {what}"));
        for r in [Some(self.shared), Some(self.panic_dump), self.rtc_pool].into_iter().flatten() {
            if r.end < r.start || r.start % 4 != 0 || r.len() % 4 != 0 {
                return Err(bad("region bounds are invalid"));
            }
        }
        if self.shared.len() < 0x20 + HEADER_SIZE {
            return Err(bad("shared region too small"));
        }
        if self.file_len() != file_len {
            return Err(bad("file size does not match the layout in its control page"));
        }
        Ok(())
    }
}

/// A mapped host region.
pub struct HostRegion {
    map: MmapRaw,
    _file: File,
    path: PathBuf,
    layout: HostLayout,
}

impl std::fmt::Debug for HostRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostRegion").field("path", &self.path).field("layout", &self.layout).finish()
    }
}

impl HostRegion {
    /// Creates an anonymous region (memfd), zero-filled. Other processes open it through
    /// [`HostRegion::path`] while this process lives.
    ///
    /// The memfd is sealed against shrinking and growing (`F_SEAL_SHRINK | F_SEAL_GROW`)
    /// once it has its size: a subcore process that opens it read-write cannot truncate it
    /// under this process's mapping (which would kill this process with `SIGBUS` at its
    /// next access); its `ftruncate` fails with `EPERM` instead. A region made with
    /// [`HostRegion::create_file`] is an ordinary file, which cannot be sealed: use this one
    /// when the subcore process is not trusted.
    pub fn create(layout: impl Into<HostLayout>) -> io::Result<Self> {
        use rustix::fs::{MemfdFlags, SealFlags};
        let fd = rustix::fs::memfd_create("esp-amp-shm", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
        let file = File::from(fd);
        use std::os::fd::AsRawFd;
        let path = PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd()));
        let layout = layout.into();
        file.set_len(layout.file_len())?;
        rustix::fs::fcntl_add_seals(&file, SealFlags::SHRINK | SealFlags::GROW)?;
        Self::init(file, path, layout)
    }

    /// Creates (or truncates) a named file as the region, zero-filled.
    pub fn create_file(path: &Path, layout: impl Into<HostLayout>) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        Self::init(file, path.to_owned(), layout.into())
    }

    fn init(file: File, path: PathBuf, layout: HostLayout) -> io::Result<Self> {
        if file.metadata()?.len() != layout.file_len() {
            file.set_len(layout.file_len())?;
        }
        let map = MmapRaw::map_raw(&file)?;
        let this = HostRegion { map, _file: file, path, layout };
        this.control().write_bytes(0, &layout.control()).map_err(io::Error::other)?;
        Ok(this)
    }

    /// Opens an existing region (created by another process) and validates its control page.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let file_len = file.metadata()?.len();
        if file_len < CONTROL_SIZE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "host region: file too small"));
        }
        let map = MmapRaw::map_raw(&file)?;
        let placeholder = HostLayout {
            shared: Region { start: 0, end: 0 },
            panic_dump: Region { start: 0, end: 0 },
            rtc_pool: None,
        };
        let mut this = HostRegion { map, _file: file, path: path.to_owned(), layout: placeholder };
        let mut header = [0u8; CONTROL_HEADER_LEN];
        this.control().read_bytes(0, &mut header).map_err(io::Error::other)?;
        this.layout = HostLayout::from_control(&header, file_len)?;
        Ok(this)
    }

    /// Opens the region named by [`ENV_REGION_PATH`] (what a subcore child process does).
    pub fn open_from_env() -> io::Result<Self> {
        let path = std::env::var_os(ENV_REGION_PATH).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{ENV_REGION_PATH} is not set"))
        })?;
        Self::open(Path::new(&path))
    }

    /// A path another process can open.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The device ranges held.
    pub fn layout(&self) -> &HostLayout {
        &self.layout
    }

    fn window(&self, offset: u64, device_base: u32, len: u32) -> Shm<'_> {
        assert!(offset + len as u64 <= self.map.len() as u64);
        // SAFETY: `[offset, offset + len)` lies inside the mapping (asserted above), which
        // is page-aligned and lives as long as `self`; the region is shared with other
        // processes by design and `Shm` only accesses it volatilely or atomically.
        unsafe { Shm::from_raw(self.map.as_mut_ptr().add(offset as usize), device_base, len) }
    }

    /// The control page as a window (device addresses = file offsets; not a device range).
    fn control(&self) -> Shm<'_> {
        self.window(0, 0, CONTROL_SIZE as u32)
    }

    pub(crate) fn doorbell(&self, offset: usize) -> &AtomicU32 {
        self.control().atomic_u32(offset as u32).expect("doorbell offsets are inside the control page")
    }

    /// The whole HP shared region `[SHARED_START, SHARED_END)`.
    pub fn shared(&self) -> Shm<'_> {
        let r = self.layout.shared;
        self.window(CONTROL_SIZE, r.start, r.len())
    }

    /// The fixed 0x20-byte header (software-interrupt words).
    pub fn sw_intr_header(&self) -> Shm<'_> {
        self.shared().slice(self.layout.shared.start, 0x20).expect("validated layout")
    }

    /// The HP SysInfo pool `[SHARED_START + 0x20, SHARED_END)`.
    pub fn sys_info_pool(&self) -> Shm<'_> {
        let r = self.layout.shared;
        self.shared().slice(r.start + 0x20, r.len() - 0x20).expect("validated layout")
    }

    /// The panic-dump region.
    pub fn panic_dump(&self) -> Shm<'_> {
        let r = self.layout.panic_dump;
        self.window(CONTROL_SIZE + self.layout.shared.len() as u64, r.start, r.len())
    }

    /// The RTC SysInfo pool, if any.
    pub fn rtc_pool(&self) -> Option<Shm<'_>> {
        let r = self.layout.rtc_pool?;
        let off = CONTROL_SIZE + self.layout.shared.len() as u64 + self.layout.panic_dump.len() as u64;
        Some(self.window(off, r.start, r.len()))
    }
}

/// A copy of a host region file's device ranges, read without mapping it (for tools such
/// as `espamp shm dump`, which must not disturb a running pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSnapshot {
    /// The device ranges the file holds.
    pub layout: HostLayout,
    /// `[SHARED_START, SHARED_END)`.
    pub shared: Vec<u8>,
    /// The panic-dump region.
    pub panic_dump: Vec<u8>,
    /// The RTC SysInfo pool, if the configuration has one.
    pub rtc_pool: Option<Vec<u8>>,
}

impl RegionSnapshot {
    /// `true` if `file` starts like a host region file (its magic).
    pub fn is_region_file(file: &[u8]) -> bool {
        file.starts_with(&MAGIC)
    }

    /// Splits the bytes of a whole host region file, after checking its control page.
    pub fn parse(file: &[u8]) -> io::Result<Self> {
        let header: &[u8; CONTROL_HEADER_LEN] = file
            .get(..CONTROL_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "host region: file too small"))?;
        let layout = HostLayout::from_control(header, file.len() as u64)?;
        // The lengths add up to the file length (checked by `from_control`).
        let mut at = CONTROL_SIZE as usize;
        let mut take = |len: u32| {
            let part = file[at..at + len as usize].to_vec();
            at += len as usize;
            part
        };
        let shared = take(layout.shared.len());
        let panic_dump = take(layout.panic_dump.len());
        let rtc_pool = layout.rtc_pool.map(|r| take(r.len()));
        Ok(RegionSnapshot { layout, shared, panic_dump, rtc_pool })
    }
}
