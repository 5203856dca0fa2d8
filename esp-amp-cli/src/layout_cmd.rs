//! `espamp layout`: the memory map of one configuration, as a table, a text diagram, or
//! JSON.

use esp_amp::layout::{AmpConfig, Chip, MemoryLayout, SubcoreType};
use serde::Serialize;

/// The options of `espamp layout` that change the map (defaults: the chip's Kconfig
/// defaults).
#[derive(clap::Args)]
pub struct LayoutOptions {
    /// Chip: esp32c5, esp32c6 or esp32p4.
    #[arg(long, value_parser = crate::parse_chip)]
    pub chip: Chip,
    /// HP shared memory size (ESP_AMP_HP_SHARED_MEM_SIZE), e.g. 16384, 16K or 0x4000.
    #[arg(long, value_parser = crate::parse_size)]
    pub shared_mem: Option<u32>,
    /// HP memory for the subcore firmware (ESP_AMP_SUBCORE_USE_HP_MEM_SIZE).
    #[arg(long, value_parser = crate::parse_size)]
    pub subcore_hp_mem: Option<u32>,
    /// RTC shared memory size (ESP_AMP_RTC_SHARED_MEM_SIZE; LP-core chips).
    #[arg(long, value_parser = crate::parse_size)]
    pub rtc_shared_mem: Option<u32>,
    /// RTC memory reserved for the LP core (ULP_COPROC_RESERVE_MEM; LP-core chips).
    #[arg(long, value_parser = crate::parse_size)]
    pub ulp_reserve_mem: Option<u32>,
    /// Subcore firmware wholly in RTC RAM (no HP region; LP-core chips).
    #[arg(long)]
    pub pure_rtc: bool,
}

/// One named address range of the map.
#[derive(Serialize, Debug)]
pub struct Entry {
    /// Memory it lives in: `hp` or `rtc`.
    pub memory: &'static str,
    pub name: &'static str,
    pub start: u32,
    pub end: u32,
    pub size: u32,
    /// Nesting level: 1 for parts of the entry before it.
    pub depth: u8,
    pub note: &'static str,
}

/// The whole report.
#[derive(Serialize, Debug)]
pub struct LayoutReport {
    pub chip: &'static str,
    pub subcore: &'static str,
    pub entries: Vec<Entry>,
    /// Bytes taken from the maincore heap at boot (shared region, panic dump, subcore HP
    /// region).
    pub heap_reserved: u32,
    /// Bytes of that which go back to the heap after a load: the subcore HP region above
    /// the image's end (known only once an image is loaded), or all of it on a failed load.
    pub heap_returnable_max: u32,
}

/// Computes the report, or says why the configuration is impossible.
impl LayoutOptions {
    /// Whether any option beyond the chip was given.
    pub fn any_layout_option(&self) -> bool {
        self.shared_mem.is_some()
            || self.subcore_hp_mem.is_some()
            || self.rtc_shared_mem.is_some()
            || self.ulp_reserve_mem.is_some()
            || self.pure_rtc
    }
}

/// The layout the options describe (the defaults of the chip, overridden).
pub fn memory_layout(o: &LayoutOptions) -> Result<MemoryLayout, String> {
    let mut config = AmpConfig::default_for(o.chip);
    if let Some(v) = o.shared_mem {
        config.hp_shared_mem_size = v;
    }
    if let Some(v) = o.subcore_hp_mem {
        config.subcore_use_hp_mem_size = v;
    }
    if let Some(v) = o.rtc_shared_mem {
        config.rtc_shared_mem_size = v;
    }
    if let Some(v) = o.ulp_reserve_mem {
        config.ulp_coproc_reserve_mem = v;
    }
    config.pure_rtc_ram_app = o.pure_rtc;
    MemoryLayout::new(o.chip, &config).map_err(|e| format!("impossible configuration: {e}"))
}

pub fn report(o: &LayoutOptions) -> Result<LayoutReport, String> {
    let l = memory_layout(o)?;
    let mut entries = Vec::new();
    let mut add = |memory, name, r: esp_amp::layout::Region, depth, note| {
        entries.push(Entry { memory, name, start: r.start, end: r.end, size: r.len(), depth, note });
    };
    if let Some(sub) = l.subcore_hp {
        add(
            "hp",
            "subcore firmware (HP)",
            sub,
            0,
            "reserved at boot; the part above the loaded image goes back to the heap",
        );
    }
    add("hp", "shared memory", l.shared, 0, "excluded from the maincore heap");
    let header = esp_amp::layout::Region { start: l.shared.start, end: l.sys_info_pool.start };
    add("hp", "header (software-interrupt words)", header, 1, "main word at +0, sub word at +4");
    add("hp", "SysInfo pool", l.sys_info_pool, 1, "");
    add("hp", "panic dump", l.panic_dump, 0, "reserved at boot, never cleared");
    if let Some(rtc) = l.rtc {
        let vectors = esp_amp::layout::Region { start: rtc.mem.start, end: rtc.app.start };
        add("rtc", "RTC memory for the subcore", rtc.mem, 0, "");
        add("rtc", "LP vector table", vectors, 1, "");
        add("rtc", "subcore firmware (RTC): code, data, stack", rtc.app, 1, "the stack ends at the top");
        add("rtc", "ULP shared config", rtc.ulp_shared_cfg, 1, "");
        add("rtc", "RTC SysInfo pool", rtc.pool, 1, "");
    }
    let sub_hp = l.subcore_hp.map_or(0, |r| r.len());
    Ok(LayoutReport {
        chip: o.chip.name(),
        subcore: match o.chip.subcore_type() {
            SubcoreType::LpCore => "LP core",
            SubcoreType::HpCore => "HP core 1",
        },
        heap_reserved: l.shared.len() + l.panic_dump.len() + sub_hp,
        heap_returnable_max: sub_hp,
        entries,
    })
}

fn human(n: u32) -> String {
    if n >= 1024 && n % 1024 == 0 {
        format!("{n} B ({} KiB)", n / 1024)
    } else if n >= 1024 {
        format!("{n} B ({:.1} KiB)", f64::from(n) / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// The table, with notes.
pub fn table(r: &LayoutReport) -> String {
    let mut out = format!("{} memory map (subcore: {})\n", r.chip, r.subcore);
    for memory in ["hp", "rtc"] {
        let rows: Vec<&Entry> = r.entries.iter().filter(|e| e.memory == memory).collect();
        if rows.is_empty() {
            continue;
        }
        out += &format!("\n{} RAM\n", memory.to_uppercase());
        out += &format!("  {:<46} {:>10}   {:>10}   {}\n", "region", "start", "end", "size");
        for e in rows {
            let name = format!("{}{}", "  ".repeat(usize::from(e.depth)), e.name);
            out += &format!("  {:<46} 0x{:08x}   0x{:08x}   {}", name, e.start, e.end, human(e.size));
            if !e.note.is_empty() {
                out += &format!("  ({})", e.note);
            }
            out.push('\n');
        }
    }
    out += &format!(
        "\nmaincore heap: {} reserved at boot; up to {} go back after a subcore load\n",
        human(r.heap_reserved),
        human(r.heap_returnable_max)
    );
    out
}

/// A text picture of each memory, lowest address at the top: the innermost regions (an
/// entry is drawn unless the next one is a part of it).
pub fn diagram(r: &LayoutReport) -> String {
    const W: usize = 44;
    let mut out = String::new();
    for memory in ["hp", "rtc"] {
        let all: Vec<&Entry> = r.entries.iter().filter(|e| e.memory == memory).collect();
        let leaf = |i: usize| all.get(i + 1).is_none_or(|next| next.depth <= all[i].depth);
        let rows: Vec<&Entry> = (0..all.len()).filter(|&i| leaf(i)).map(|i| all[i]).collect();
        if rows.is_empty() {
            continue;
        }
        out += &format!("\n{} RAM\n", memory.to_uppercase());
        let mut last_end = None;
        for e in &rows {
            if last_end != Some(e.start) {
                if last_end.is_some() {
                    out += &format!("{:>12} {}\n", "", format_args!("~{:~<W$}~", ""));
                }
                out += &format!("  0x{:08x} +{:-<W$}+\n", e.start, "");
            }
            out += &format!("{:>12} |{:^W$}|\n", "", e.name);
            out += &format!("{:>12} |{:^W$}|\n", "", human(e.size));
            out += &format!("  0x{:08x} +{:-<W$}+\n", e.end, "");
            last_end = Some(e.end);
        }
    }
    out
}

/// The diagram as an SVG picture: one column per memory, one box per region (equal
/// heights, so small regions stay readable), addresses on the left edge.
pub fn svg(r: &LayoutReport) -> String {
    const ROW: u32 = 44;
    const COL: u32 = 360;
    const LEFT: u32 = 110;
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut body = String::new();
    let mut height = 0;
    for (c, memory) in ["hp", "rtc"].into_iter().enumerate() {
        let all: Vec<&Entry> = r.entries.iter().filter(|e| e.memory == memory).collect();
        let leaf = |i: usize| all.get(i + 1).is_none_or(|next| next.depth <= all[i].depth);
        let rows: Vec<&Entry> = (0..all.len()).filter(|&i| leaf(i)).map(|i| all[i]).collect();
        let x = 10 + c as u32 * (LEFT + COL + 30);
        body += &format!(
            "<text x=\"{}\" y=\"24\" font-weight=\"bold\">{} RAM</text>\n",
            x + LEFT,
            memory.to_uppercase()
        );
        for (i, e) in rows.iter().enumerate() {
            let y = 40 + i as u32 * ROW;
            let fill =
                if e.name.contains("shared") || e.name.contains("SysInfo") { "#d7e8fb" } else { "#eef2e6" };
            body += &format!(
                "<rect x=\"{}\" y=\"{y}\" width=\"{COL}\" height=\"{ROW}\" fill=\"{fill}\" stroke=\"#333\"/>\n",
                x + LEFT
            );
            body += &format!(
                "<text x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n<text x=\"{cx}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\n",
                y + 19,
                esc(e.name),
                y + 35,
                esc(&human(e.size)),
                cx = x + LEFT + COL / 2,
            );
            body += &format!("<text x=\"{x}\" y=\"{}\" font-size=\"11\">0x{:08x}</text>\n", y + 11, e.start);
            if rows.get(i + 1).is_none_or(|n| n.start != e.end) {
                body +=
                    &format!("<text x=\"{x}\" y=\"{}\" font-size=\"11\">0x{:08x}</text>\n", y + ROW, e.end);
            }
            height = height.max(y + ROW + 20);
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"monospace\" font-size=\"13\">\n<title>{} memory layout ({} subcore)</title>\n{body}</svg>\n",
        2 * (LEFT + COL + 30) + 10,
        r.chip,
        r.subcore
    )
}
