//! `cargo xtask vs-c`: our host IPC benchmark side by side with ESP-AMP C's, in one run.
//!
//! `../shared/bench/esp-amp-c-ipc` (next to the project's directory) is ESP-AMP C's side
//! of `cargo bench -p esp-amp-host --features harness --bench ipc`: the same cells, arguments and output
//! lines. The two binaries run alternately, cell by cell, round after round (which one
//! goes first alternates too), because these machines are noisy: a per-round ratio
//! compares two runs a second apart. Without the C binary only ours runs.
//!
//! Ours is built with the chips' queue code by default (`esp-amp-host` without its
//! `coherent-caches` feature, i.e. without `reserve-ahead`/`batch-free`), the fair
//! comparison of the protocol code; `--coherent` measures the host port as it ships.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cells compared: C receives only through callbacks, so our receiver is the
/// callback one (`0`).
pub const CELLS: &[&[&str]] = &[
    &["throughput", "8", "Copy", "0"],
    &["throughput", "64", "Copy", "0"],
    &["throughput", "512", "Copy", "0"],
    &["throughput", "8", "ZeroCopy", "0"],
    &["throughput", "64", "ZeroCopy", "0"],
    &["throughput", "512", "ZeroCopy", "0"],
    &["latency", "Polling"],
    &["rpc", "1"],
];

/// What a cell measures and which way is better.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    /// Million messages per second (higher is better).
    MessagesPerSec(f64),
    /// Median round trip in ns (lower is better).
    RoundTripNs(f64),
    /// Calls per second (higher is better).
    CallsPerSec(f64),
}

impl Figure {
    fn value(self) -> f64 {
        match self {
            Figure::MessagesPerSec(v) | Figure::RoundTripNs(v) | Figure::CallsPerSec(v) => v,
        }
    }
}

/// Reads the figure from a benchmark's output (the last line that has one).
pub fn parse(output: &str) -> Option<Figure> {
    let number_before = |line: &str, unit: &str| -> Option<f64> {
        let head = &line[..line.find(unit)?];
        head.rsplit(' ').find(|w| !w.is_empty())?.parse().ok()
    };
    output.lines().rev().find_map(|line| {
        if line.contains(" M msg/s") {
            number_before(line, " M msg/s").map(Figure::MessagesPerSec)
        } else if line.contains(": median ") {
            let rest = &line[line.find(": median ")? + ": median ".len()..];
            number_before(rest, " ns").map(Figure::RoundTripNs)
        } else if line.contains(" calls/s") {
            number_before(line, " calls/s").map(Figure::CallsPerSec)
        } else {
            None
        }
    })
}

/// Ours against C in one round: above 1 is better for ours, in every kind of cell
/// (throughput and calls: ours / C; round trip: C / ours, so "1.2" reads the same way).
pub fn advantage(ours: Figure, c: Figure) -> f64 {
    match (ours, c) {
        (Figure::RoundTripNs(o), Figure::RoundTripNs(c)) => c / o,
        _ => ours.value() / c.value(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The C binary, when the project sits next to `shared/bench`.
pub fn c_binary() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/esp-amp-c-ipc");
    std::fs::canonicalize(p).ok().filter(|p| p.is_file())
}

/// Builds our benchmark binary and returns its path.
pub fn build_ours(coherent: bool) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&root).args([
        "bench",
        "--quiet",
        "-p",
        "esp-amp-host",
        "--features",
        "harness",
        "--bench",
        "ipc",
        "--no-run",
        "--message-format=json",
    ]);
    if !coherent {
        cmd.arg("--no-default-features");
    }
    let out = cmd.output().map_err(|e| format!("running cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("building the benchmark failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"]["name"] == "ipc")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo named no benchmark executable".to_string())
}

fn run_cell(binary: &Path, cell: &[&str], messages: Option<u64>) -> Result<Figure, String> {
    let mut cmd = Command::new(binary);
    cmd.args(cell);
    if let Some(n) = messages {
        cmd.env("ESP_AMP_BENCH_MESSAGES", n.to_string());
    }
    let out = cmd.output().map_err(|e| format!("{}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text).ok_or_else(|| format!("{} {}: no figure in {text:?}", binary.display(), cell.join(" ")))
}

/// Runs `rounds` alternating rounds and returns the report (Markdown).
pub fn run(rounds: usize, messages: Option<u64>, coherent: bool) -> Result<String, String> {
    let ours = build_ours(coherent)?;
    let c = c_binary();
    let mut results: Vec<(Vec<Figure>, Vec<Figure>)> = vec![(Vec::new(), Vec::new()); CELLS.len()];
    for round in 0..rounds {
        for (cell, (o, cs)) in CELLS.iter().zip(results.iter_mut()) {
            let c_first = round % 2 == 0;
            if let (Some(c), true) = (&c, c_first) {
                cs.push(run_cell(c, cell, messages)?);
            }
            o.push(run_cell(&ours, cell, messages)?);
            if let (Some(c), false) = (&c, c_first) {
                cs.push(run_cell(c, cell, messages)?);
            }
        }
    }
    let mut report = format!(
        "ours: {} ({}); ESP-AMP C: {}; {rounds} alternating rounds\n\n",
        ours.display(),
        if coherent { "host features" } else { "the chips' queue code" },
        c.as_ref().map_or("not here (../shared/bench/esp-amp-c-ipc)".into(), |p| p.display().to_string()),
    );
    report.push_str(
        "| cell | unit | C, median (range) | ours, median (range) | ours vs C, per-round median | target |\n",
    );
    report.push_str("|---|---|---|---|---:|---|\n");
    for (cell, (o, cs)) in CELLS.iter().zip(&results) {
        let (unit, target) = match o.first() {
            Some(Figure::RoundTripNs(_)) => ("ns", "≤ 0.9× C's time (≥ 1.11)"),
            Some(Figure::CallsPerSec(_)) => ("calls/s", "—"),
            _ => ("M msg/s", "≥ 1.2"),
        };
        let show = |v: &[Figure]| {
            if v.is_empty() {
                return "—".to_string();
            }
            let vals: Vec<f64> = v.iter().map(|f| f.value()).collect();
            let (lo, hi) = vals.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            let m = median(vals);
            if m >= 1000.0 {
                format!("{m:.0} ({lo:.0}–{hi:.0})")
            } else {
                format!("{m:.2} ({lo:.2}–{hi:.2})")
            }
        };
        let ratio = if cs.is_empty() {
            "—".to_string()
        } else {
            format!("{:.2}", median(o.iter().zip(cs).map(|(&o, &c)| advantage(o, c)).collect()))
        };
        report.push_str(&format!(
            "| `{}` | {unit} | {} | {} | {ratio} | {target} |\n",
            cell.join(" "),
            show(cs),
            show(o)
        ));
    }
    report.push_str(
        "\n\"ours vs C\" is the median over the rounds of ours/C (throughput, calls) or C/ours \
         (round trip): above 1, ours is better.\n",
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_from_either_binarys_lines() {
        assert_eq!(
            parse("Copy 64 B, give back 0: 8.80 M msg/s, 563 MB/s\n"),
            Some(Figure::MessagesPerSec(8.80))
        );
        assert_eq!(
            parse("Polling: median 710 ns p99 851 ns (3.36× the atomic round trip, 211 ns)"),
            Some(Figure::RoundTripNs(710.0))
        );
        assert_eq!(parse("RPC, 1 in flight: 1079534 calls/s"), Some(Figure::CallsPerSec(1079534.0)));
        assert_eq!(parse("no figure here"), None);
    }

    #[test]
    fn above_one_is_better_for_ours_in_every_kind_of_cell() {
        assert_eq!(advantage(Figure::MessagesPerSec(12.0), Figure::MessagesPerSec(10.0)), 1.2);
        assert_eq!(advantage(Figure::RoundTripNs(500.0), Figure::RoundTripNs(600.0)), 1.2);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
