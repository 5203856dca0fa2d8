//! `espamp image info|check`: a subcore image (ESP app image or ELF) against a layout.

use std::path::Path;

use esp_amp::image::load::{plan_image, LoadTarget};
use esp_amp::image::{esp_chip_id, Image};
use esp_amp::layout::MemoryLayout;
use serde::Serialize;

use crate::layout_cmd::{memory_layout, LayoutOptions};

/// One segment and where it goes.
#[derive(Serialize, Debug)]
pub struct SegmentInfo {
    pub index: u8,
    pub addr: u32,
    pub end: u32,
    pub file_bytes: usize,
    pub mem_bytes: u32,
    /// `hp`, `rtc`, `app-descriptor` or `outside`.
    pub placement: &'static str,
}

/// What `image info` and `image check` report.
#[derive(Serialize, Debug)]
pub struct ImageReport {
    pub file: String,
    pub format: &'static str,
    pub entry: u32,
    pub chip_id: Option<u16>,
    pub expected_chip_id: u16,
    pub segments: Vec<SegmentInfo>,
    pub app_project: Option<String>,
    pub app_version: Option<String>,
    /// `None` when the image fits; the loader's reason otherwise.
    pub error: Option<String>,
    /// Where the layout came from: `image` (the configuration record the image carries,
    /// when no layout option was given) or `options`.
    pub layout_from: &'static str,
    /// Bytes the image occupies in HP RAM and what the maincore gets back.
    pub hp_used: Option<u32>,
    pub hp_given_back: Option<u32>,
}

/// Reads `path` and checks it against the layout of `o`. `Err` only for I/O and
/// configuration errors; a refused image is a report with `error` set.
pub fn report(path: &Path, o: &LayoutOptions) -> Result<ImageReport, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let image = Image::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    // An image built by esp-amp's runtimes records its configuration: without layout
    // options, check it against that one (for the chip asked for); with them, against
    // theirs, so that a mismatch is named.
    let recorded = image.config_record().and_then(|r| r.config()).filter(|(chip, _)| *chip == o.chip);
    let (layout, layout_from) = match recorded {
        Some((chip, config)) if !o.any_layout_option() => (
            MemoryLayout::new(chip, &config).map_err(|e| format!("the image's configuration record: {e}"))?,
            "image",
        ),
        _ => (memory_layout(o)?, "options"),
    };
    let target = LoadTarget::for_layout(&layout);
    let segments = image
        .segments()
        .iter()
        .map(|s| SegmentInfo {
            index: s.index,
            addr: s.addr,
            end: s.range().end,
            file_bytes: s.data.len(),
            mem_bytes: s.mem_len,
            placement: target.placement(s.range()).name(),
        })
        .collect();
    let plan = plan_image(&image, &target);
    let (desc, hp_used, hp_back) = match &plan {
        Ok(p) => (
            p.app_desc,
            p.hp_end.zip(layout.subcore_hp).map(|(e, hp)| e - hp.start),
            p.unused_hp.map(|r| r.len()),
        ),
        Err(_) => (None, None, None),
    };
    Ok(ImageReport {
        file: path.display().to_string(),
        format: image.format().name(),
        entry: image.entry(),
        chip_id: image.chip_id(),
        expected_chip_id: esp_chip_id(layout.chip),
        segments,
        app_project: desc.map(|d| d.project_name.to_owned()),
        app_version: desc.map(|d| d.version.to_owned()),
        error: plan.err().map(|e| e.to_string()),
        layout_from,
        hp_used,
        hp_given_back: hp_back,
    })
}

/// The report as text.
pub fn text(r: &ImageReport, chip: &str) -> String {
    let mut out = format!("{} ({}), entry 0x{:08x}", r.file, r.format, r.entry);
    if let Some(id) = r.chip_id {
        out += &format!(", chip id {id}");
    }
    out += "\n";
    if let (Some(p), Some(v)) = (&r.app_project, &r.app_version) {
        out += &format!("app descriptor: project \"{p}\", version \"{v}\"\n");
    }
    out += "  seg        start          end   file B    mem B  placement\n";
    for s in &r.segments {
        out += &format!(
            "  {:>3}  0x{:08x}   0x{:08x} {:>8} {:>8}  {}\n",
            s.index, s.addr, s.end, s.file_bytes, s.mem_bytes, s.placement
        );
    }
    match &r.error {
        None => {
            out += &format!("ok: the image fits the {chip} layout");
            if r.layout_from == "image" {
                out += " its configuration record names";
            }
            if let (Some(u), Some(b)) = (r.hp_used, r.hp_given_back) {
                out += &format!(" ({u} B of the HP subcore region used, {b} B go back to the heap)");
            }
            out += "\n";
        }
        Some(e) => out += &format!("refused: {e}\n"),
    }
    out
}
