//! `espamp shm dump`: decode a shared region (a raw image of `[SHARED_START, SHARED_END)`,
//! such as the C golden images, or a host-port region file) without changing it.

use std::fmt::Write as _;
use std::path::Path;

use esp_amp::inspect::{Direction, QueueView, RpmsgView, SlotState};
use esp_amp::layout::{Chip, SHARED_HEADER_SIZE};
use esp_amp::queue::{CONF_SIZE, DESC_SIZE};
use esp_amp::shm::Shm;
use esp_amp::sw_intr::SwIntrId;
use esp_amp::sys_info::{Block, Pool, SysInfo, SysInfoId};
use esp_amp::system::panic::PanicReport;
use esp_amp_host::RegionSnapshot;
use serde::Serialize;

/// How many payload bytes a message or item line shows.
const PREVIEW: usize = 32;

#[derive(Serialize)]
pub struct ShmReport {
    /// "raw shared region" or "host region file".
    pub source: &'static str,
    pub shared: Range,
    pub sw_intr: SwIntrWords,
    pub pools: Vec<PoolReport>,
    /// Only for host region files (a raw image has no dump region).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panic_dump: Option<DumpSummary>,
}

#[derive(Serialize)]
pub struct Range {
    pub start: u32,
    pub end: u32,
    pub size: u32,
}

#[derive(Serialize)]
pub struct SwIntrWords {
    /// Pending bits for the maincore (set by the subcore).
    pub for_maincore: u32,
    pub for_maincore_ids: Vec<String>,
    /// Pending bits for the subcore (set by the maincore).
    pub for_subcore: u32,
    pub for_subcore_ids: Vec<String>,
}

#[derive(Serialize)]
pub struct PoolReport {
    pub pool: &'static str,
    pub start: u32,
    pub end: u32,
    pub entries: Vec<EntryReport>,
    /// Why the walk stopped early, if it did (a corrupted chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize)]
pub struct EntryReport {
    pub id: u16,
    pub name: Option<&'static str>,
    pub addr: u32,
    pub size: u16,
    /// "event", "word", "queue", "rpmsg" or "data".
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub word: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpmsg: Option<RpmsgReport>,
    /// First bytes of a "data" entry, in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[derive(Serialize)]
pub struct QueueReport {
    pub len: u16,
    pub item_size: u16,
    pub conf: u32,
    pub descriptors: u32,
    pub buffers: u32,
    pub descriptors_in_rtc: bool,
    pub filled: usize,
    pub free: usize,
    pub slots: Vec<SlotReport>,
    /// Filled slots, oldest first.
    pub in_flight: Vec<ItemReport>,
}

#[derive(Serialize)]
pub struct SlotReport {
    pub index: u16,
    pub addr: u32,
    pub len: u16,
    pub flags: u16,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

#[derive(Serialize)]
pub struct ItemReport {
    pub slot: u16,
    pub addr: u32,
    pub len: u16,
    /// The first bytes (hex), for a plain queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

#[derive(Serialize)]
pub struct RpmsgReport {
    pub max_payload: usize,
    pub queues: Vec<RpmsgQueueReport>,
}

#[derive(Serialize)]
pub struct RpmsgQueueReport {
    /// "maincore -> subcore" or "subcore -> maincore".
    pub direction: &'static str,
    pub queue: QueueReport,
    pub messages: Vec<MessageReport>,
}

#[derive(Serialize)]
pub struct MessageReport {
    pub slot: u16,
    pub src: u16,
    pub dst: u16,
    pub data_len: u16,
    pub flags: u16,
    /// The payload as text when it is printable ASCII.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The payload's first bytes in hex.
    pub hex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

#[derive(Serialize)]
pub struct DumpSummary {
    pub start: u32,
    /// `false` when the dump region is all zeros.
    pub written: bool,
    pub is_abort: bool,
    pub message: String,
    pub reason: &'static str,
}

/// Why the decoded file does not look like a shared region, if it does not: the HP
/// SysInfo pool must hold a valid chain (every region a maincore initialised does, even an
/// empty one).
pub fn implausible(r: &ShmReport) -> Option<String> {
    let hp = r.pools.first()?;
    hp.error.as_ref().map(|e| format!("not a shared region: its SysInfo pool is not a valid chain ({e})"))
}

/// Reads `file` and decodes it. A raw image ends at the chip's fixed `SHARED_END`, so its
/// length gives its start; `base` overrides that.
pub fn report(file: &Path, chip: Chip, base: Option<u32>) -> Result<ShmReport, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if RegionSnapshot::is_region_file(&bytes) {
        let snap = RegionSnapshot::parse(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut r = decode(
            "host region file",
            &snap.shared,
            snap.layout.shared.start,
            snap.rtc_pool.as_deref().zip(snap.layout.rtc_pool.map(|p| p.start)),
        )?;
        let report = PanicReport::decode(&snap.panic_dump);
        r.panic_dump = Some(DumpSummary {
            start: snap.layout.panic_dump.start,
            written: snap.panic_dump.iter().any(|&b| b != 0),
            is_abort: report.is_abort(),
            message: String::from_utf8_lossy(report.message()).into_owned(),
            reason: report.reason(),
        });
        return Ok(r);
    }
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|&l| l >= SHARED_HEADER_SIZE + 8 && l % 4 == 0)
        .ok_or_else(|| {
            format!(
                "{}: {} bytes is not a shared region (a multiple of 4, at least 40)",
                file.display(),
                bytes.len()
            )
        })?;
    let start = match base {
        Some(b) => b,
        None => chip.shared_end().checked_sub(len).ok_or_else(|| {
            format!("{}: {len} bytes do not fit below {}'s SHARED_END", file.display(), chip.name())
        })?,
    };
    if start.checked_add(len).is_none() || start % 4 != 0 {
        return Err(format!("base 0x{start:08x} does not fit a {len}-byte region"));
    }
    decode("raw shared region", &bytes, start, None)
}

/// A 4-byte aligned copy of `bytes` that a [`Shm`] can read.
struct Words(Vec<u32>);

impl Words {
    fn new(bytes: &[u8]) -> Self {
        Words(bytes.chunks(4).map(|c| c.iter().rev().fold(0, |w, &b| (w << 8) | u32::from(b))).collect())
    }
    fn shm(&mut self, base: u32) -> Shm<'_> {
        let len = (self.0.len() * 4) as u32;
        // SAFETY: the vector is 4-byte aligned, `len` bytes long and borrowed mutably for
        // the handle's lifetime, so nothing else touches it; `base + len` was checked by
        // the caller not to overflow.
        unsafe { Shm::from_raw(self.0.as_mut_ptr().cast(), base, len) }
    }
}

fn decode(
    source: &'static str,
    shared: &[u8],
    start: u32,
    rtc: Option<(&[u8], u32)>,
) -> Result<ShmReport, String> {
    let mut hp_words = Words::new(shared);
    let mut rtc_words = rtc.map(|(b, base)| (Words::new(b), base));
    let hp = hp_words.shm(start);
    let rtc_shm = rtc_words.as_mut().map(|(w, base)| w.shm(*base));
    let end = hp.device_end();
    let pool =
        hp.slice(start + SHARED_HEADER_SIZE, hp.len() - SHARED_HEADER_SIZE).map_err(|e| e.to_string())?;
    let info = SysInfo::attach(pool, rtc_shm);
    let word = |off| hp.read_u32(start + off).unwrap_or(0);
    let (main, sub) = (word(0), word(4));
    let mut pools = vec![walk(&info, Pool::Hp, pool)];
    if let Some(r) = rtc_shm {
        pools.push(walk(&info, Pool::Rtc, r));
    }
    Ok(ShmReport {
        source,
        shared: Range { start, end, size: end - start },
        sw_intr: SwIntrWords {
            for_maincore: main,
            for_maincore_ids: intr_names(main),
            for_subcore: sub,
            for_subcore_ids: intr_names(sub),
        },
        pools,
        panic_dump: None,
    })
}

fn intr_names(word: u32) -> Vec<String> {
    (0..32u8)
        .filter(|b| word & (1 << b) != 0)
        .map(|b| match SwIntrId::new(b) {
            Some(SwIntrId::SYS_SVC) => "SYS_SVC(27)".to_string(),
            Some(SwIntrId::PANIC) => "PANIC(28)".to_string(),
            Some(SwIntrId::RPMSG) => "RPMSG(29)".to_string(),
            Some(SwIntrId::EVENT) => "EVENT(30)".to_string(),
            _ => b.to_string(),
        })
        .collect()
}

fn reserved_name(id: SysInfoId) -> Option<&'static str> {
    Some(match id {
        SysInfoId::EVENT_MAIN => "EVENT_MAIN",
        SysInfoId::EVENT_SUB => "EVENT_SUB",
        SysInfoId::VQUEUE => "VQUEUE",
        SysInfoId::SYSTEM => "SYSTEM",
        SysInfoId::PM => "PM",
        SysInfoId::RESERVED => "RESERVED",
        _ => return None,
    })
}

fn walk(info: &SysInfo<'_>, pool: Pool, shm: Shm<'_>) -> PoolReport {
    let mut report = PoolReport {
        pool: if pool == Pool::Hp { "hp" } else { "rtc" },
        start: shm.device_base(),
        end: shm.device_end(),
        entries: Vec::new(),
        error: None,
    };
    match info.entries(pool) {
        Err(e) => report.error = Some(e.to_string()),
        Ok(entries) => {
            for e in entries {
                match e {
                    Ok(block) => report.entries.push(entry(info, pool, block)),
                    Err(e) => report.error = Some(e.to_string()),
                }
            }
        }
    }
    report
}

fn entry(info: &SysInfo<'_>, pool: Pool, block: Block<'_>) -> EntryReport {
    let id = block.id();
    let mut e = EntryReport {
        id: id.0,
        name: reserved_name(id),
        addr: block.addr(),
        size: block.size(),
        kind: "data",
        word: None,
        queue: None,
        rpmsg: None,
        data: None,
    };
    // A queue's or device's descriptors may be in the RTC block of the same id.
    let rtc = if pool == Pool::Hp { info.get(id, Pool::Rtc).ok().map(|b| b.shm()) } else { None };
    if pool == Pool::Hp {
        if let Some(r) = rpmsg_device(block, rtc) {
            e.kind = "rpmsg";
            e.rpmsg = Some(r);
            return e;
        }
        if let Some(q) = plain_queue(block, rtc) {
            e.kind = "queue";
            e.queue = Some(q);
            return e;
        }
    }
    if block.size() == 4 {
        e.word = block.shm().read_u32(block.addr()).ok();
        e.kind = if matches!(id, SysInfoId::EVENT_MAIN | SysInfoId::EVENT_SUB) { "event" } else { "word" };
        return e;
    }
    let mut head = vec![0u8; usize::from(block.size()).min(PREVIEW)];
    if block.shm().read_bytes(block.addr(), &mut head).is_ok() {
        e.data = Some(hex(&head));
    }
    e
}

/// The block is a queue when a configuration at its start checks out and the block has
/// exactly the size C gives such a queue (normal or light-sleep placement).
fn plain_queue(block: Block<'_>, rtc: Option<Shm<'_>>) -> Option<QueueReport> {
    let q = QueueView::attach(block.shm(), block.addr(), rtc).ok()?;
    let (n, s) = (u32::from(q.capacity()), u32::from(q.item_size()));
    let expected = if q.descriptors_in_rtc() { CONF_SIZE + s * n } else { CONF_SIZE + DESC_SIZE * n + s * n };
    (u32::from(block.size()) == expected).then(|| queue_report(&q, true))
}

fn rpmsg_device(block: Block<'_>, rtc: Option<Shm<'_>>) -> Option<RpmsgReport> {
    let v = RpmsgView::attach_block(block.shm(), rtc).ok()?;
    let q0 = v.queue(Direction::MainToSub);
    let (n, s) = (u32::from(q0.capacity()), u32::from(q0.item_size()));
    let expected = if q0.descriptors_in_rtc() {
        2 * (CONF_SIZE + s * n) + DESC_SIZE * n
    } else {
        2 * (CONF_SIZE + DESC_SIZE * n + s * n)
    };
    if u32::from(block.size()) != expected {
        return None;
    }
    let queues =
        [(Direction::MainToSub, "maincore -> subcore"), (Direction::SubToMain, "subcore -> maincore")]
            .into_iter()
            .map(|(d, direction)| RpmsgQueueReport {
                direction,
                queue: queue_report(v.queue(d), false),
                messages: v
                    .messages(d)
                    .map(|m| {
                        let mut payload = vec![0u8; usize::from(m.data_len)];
                        let got = v.read_payload(d, &m, &mut payload);
                        payload.truncate(got);
                        MessageReport {
                            slot: m.slot.index,
                            src: m.src,
                            dst: m.dst,
                            data_len: m.data_len,
                            flags: m.flags,
                            text: printable(&payload),
                            hex: hex(&payload[..payload.len().min(PREVIEW)]),
                            fault: m.fault.map(|f| f.to_string()),
                        }
                    })
                    .collect(),
            })
            .collect();
    Some(RpmsgReport { max_payload: v.max_payload(Direction::MainToSub), queues })
}

fn queue_report(q: &QueueView<'_>, items: bool) -> QueueReport {
    QueueReport {
        len: q.capacity(),
        item_size: q.item_size(),
        conf: q.conf_addr(),
        descriptors: q.desc_addr(),
        buffers: q.buf_addr(),
        descriptors_in_rtc: q.descriptors_in_rtc(),
        filled: q.filled(),
        free: q.free(),
        slots: q
            .slots()
            .map(|s| SlotReport {
                index: s.index,
                addr: s.addr,
                len: s.len,
                flags: s.flags,
                state: if s.state == SlotState::Filled { "filled" } else { "free" },
                fault: s.fault.map(|f| f.to_string()),
            })
            .collect(),
        in_flight: if items {
            q.in_flight()
                .map(|s| {
                    let mut head = vec![0u8; usize::from(s.len).min(PREVIEW)];
                    let data = s
                        .fault
                        .is_none()
                        .then(|| q.read_buffer(s.addr, &mut head))
                        .flatten()
                        .map(|n| hex(&head[..n]));
                    ItemReport {
                        slot: s.index,
                        addr: s.addr,
                        len: s.len,
                        data,
                        fault: s.fault.map(|f| f.to_string()),
                    }
                })
                .collect()
        } else {
            Vec::new()
        },
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

fn printable(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty() && bytes.iter().all(|&b| (0x20..0x7f).contains(&b)))
        .then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// The report as text for a person.
pub fn text(r: &ShmReport) -> String {
    let mut o = String::new();
    let s = &r.shared;
    let _ = writeln!(o, "{} 0x{:08x}..0x{:08x} ({} bytes)", r.source, s.start, s.end, s.size);
    let ids = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(" ") };
    let _ = writeln!(o, "software interrupts pending");
    let _ = writeln!(
        o,
        "  for the maincore  0x{:08x}  {}",
        r.sw_intr.for_maincore,
        ids(&r.sw_intr.for_maincore_ids)
    );
    let _ = writeln!(
        o,
        "  for the subcore   0x{:08x}  {}",
        r.sw_intr.for_subcore,
        ids(&r.sw_intr.for_subcore_ids)
    );
    for p in &r.pools {
        let _ = writeln!(
            o,
            "SysInfo {} pool 0x{:08x}..0x{:08x}: {} {}",
            p.pool.to_uppercase(),
            p.start,
            p.end,
            p.entries.len(),
            if p.entries.len() == 1 { "entry" } else { "entries" }
        );
        for e in &p.entries {
            let _ = write!(
                o,
                "  0x{:04x} {:<10} at 0x{:08x} {:>6} B  ",
                e.id,
                e.name.unwrap_or(""),
                e.addr,
                e.size
            );
            match e.kind {
                "event" | "word" => {
                    let _ = writeln!(o, "{} 0x{:08x}", e.kind, e.word.unwrap_or(0));
                }
                "queue" => {
                    let q = e.queue.as_ref().expect("kind queue has a queue");
                    let _ = writeln!(o, "queue of {} x {} B", q.len, q.item_size);
                    queue_text(&mut o, q, "    ");
                    for i in &q.in_flight {
                        let what = i.fault.clone().or(i.data.clone()).unwrap_or_default();
                        let _ = writeln!(o, "      slot {:<3} {:>5} B  {}", i.slot, i.len, what);
                    }
                }
                "rpmsg" => {
                    let d = e.rpmsg.as_ref().expect("kind rpmsg has a device");
                    let q0 = &d.queues[0].queue;
                    let _ = writeln!(
                        o,
                        "RPMsg device: 2 queues of {} x {} B (payload up to {} B)",
                        q0.len, q0.item_size, d.max_payload
                    );
                    for q in &d.queues {
                        let _ = write!(o, "    {}: ", q.direction);
                        queue_text(&mut o, &q.queue, "");
                        for m in &q.messages {
                            let body = match (&m.fault, &m.text) {
                                (Some(f), _) => format!("dropped: {f}"),
                                (None, Some(t)) => format!("{t:?}"),
                                (None, None) => m.hex.clone(),
                            };
                            let _ = writeln!(
                                o,
                                "      slot {:<3} {:>5} -> {:<5} {:>4} B  {}",
                                m.slot, m.src, m.dst, m.data_len, body
                            );
                        }
                    }
                }
                _ => {
                    let _ = writeln!(o, "data {}", e.data.as_deref().unwrap_or(""));
                }
            }
        }
        if let Some(err) = &p.error {
            let _ = writeln!(o, "  walk stopped: {err}");
        }
    }
    if let Some(d) = &r.panic_dump {
        let _ = write!(o, "panic dump at 0x{:08x}: ", d.start);
        let _ = match (d.written, d.is_abort) {
            (false, _) => writeln!(o, "empty"),
            (true, true) => writeln!(o, "abort: {}", d.message),
            (true, false) => writeln!(o, "exception: {}", d.reason),
        };
    }
    o
}

fn queue_text(o: &mut String, q: &QueueReport, indent: &str) {
    let place = if q.descriptors_in_rtc { ", descriptors in RTC" } else { "" };
    let _ = writeln!(o, "{indent}{} in flight, {} free{place}", q.filled, q.free);
    for s in q.slots.iter().filter(|s| s.fault.is_some()) {
        let _ = writeln!(o, "{indent}  slot {} is bad: {}", s.index, s.fault.as_deref().unwrap_or(""));
    }
}
