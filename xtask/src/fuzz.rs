//! `cargo xtask fuzz`: seeds for the `fuzz/` targets from real traffic, and runs of them.
//!
//! Seeds (written to `target/fuzz-seeds/<target>`, read-only for libFuzzer; the growing
//! corpus lives in `fuzz/corpus/<target>`):
//! - `sys_info`, `queue`, `rpmsg`: the golden shared-region images of the C
//!   implementation (`compat/esp-amp-c`, or `ESP_AMP_COMPAT_DIR`), in the
//!   region-input format of `fuzz/src/lib.rs`, alone and followed by ordinary operations;
//! - `rpc`, `print`: operation lists of ordinary traffic (calls and polls, printed lines),
//!   and packets with the real headers;
//! - `panic_dump`: dumps written by `PanicDump` (an abort, an exception frame);
//! - `image`: the riscv32 fixture ELF (`firmware/tiny-subcore`) and the ESP image made of it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use esp_amp::image::esp::write_image;
use esp_amp::image::{esp_chip_id, Image};
use esp_amp::layout::Chip;
use esp_amp::rpc::{PacketHeader, Status};
use esp_amp::shm::Shm;
use esp_amp::system::panic::{PanicDump, DUMP_SIZE};

use crate::qemu::repo_root;

/// Every fuzz target, with the longest input worth generating.
pub const TARGETS: [(&str, usize); 7] = [
    ("sys_info", 1024),
    ("queue", 1024),
    ("rpmsg", 1024),
    ("rpc", 1024),
    ("print", 1024),
    ("panic_dump", 2048),
    ("image", 65536),
];

/// The golden images' directory.
pub fn compat_dir() -> PathBuf {
    std::env::var_os("ESP_AMP_COMPAT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("compat/esp-amp-c"))
}

/// A region input: `[u16 n][first n bytes of the region][ops]`, with `n` just past the
/// last non-zero byte.
fn region_input(image: &[u8], ops: &[u8]) -> Vec<u8> {
    let n = image.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1).min(1000);
    let mut v = (n as u16).to_le_bytes().to_vec();
    v.extend_from_slice(&image[..n]);
    v.extend_from_slice(ops);
    v
}

fn rpc_seeds() -> Vec<(String, Vec<u8>)> {
    let call = |a: u16, b: u16| {
        let mut v = vec![2, 4];
        v.extend_from_slice(&a.to_le_bytes());
        v.extend_from_slice(&b.to_le_bytes());
        v.extend_from_slice(&[0x10, 0x00, 0x03]); // the typed Div arguments
        v
    };
    let mut traffic = Vec::new();
    for k in 0..4u16 {
        traffic.extend(call(k, 1000 + k));
    }
    traffic.extend([3, 7, 5, 5]); // serve, drain, take responses
    let mut forged_req = vec![1, 12];
    forged_req
        .extend(PacketHeader { msg_id: 1, cmd_id: 0x10, status: Status::PENDING, msg_len: 4 }.to_bytes());
    forged_req.extend([1, 0, 2, 0, 3]);
    let forged_resp = [call(1, 2), vec![4, 1, 0, 0, 0, 2, 2, 0xAA, 0xBB, 5]].concat();
    vec![
        ("traffic".into(), traffic),
        ("forged_request".into(), forged_req),
        ("forged_response".into(), forged_resp),
    ]
}

fn print_seeds() -> Vec<(String, Vec<u8>)> {
    let text = |s: &str| [vec![0, s.len() as u8], s.as_bytes().to_vec()].concat();
    let lines = [text("hello from the subcore\n"), text(&"x".repeat(200)), vec![2]].concat();
    let mut request = vec![3, 1, 0, 7];
    request.extend(b"hello\0\0");
    request.push(2);
    vec![("lines".into(), lines), ("request".into(), request)]
}

fn panic_seeds() -> Vec<(String, Vec<u8>)> {
    let dump = |f: &dyn Fn(&PanicDump<'_>)| {
        let mut mem = vec![0u32; DUMP_SIZE / 4];
        // SAFETY: `mem` is a live, aligned allocation of DUMP_SIZE bytes, only accessed
        // through the handle until it is read back below (after the handle's last use).
        let shm = unsafe { Shm::from_raw(mem.as_mut_ptr().cast(), 0x4087_E560, DUMP_SIZE as u32) };
        f(&PanicDump::new(shm).expect("aligned, large enough"));
        mem.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>()
    };
    let frame: Vec<u32> = (0..37).map(|i| 0x4080_0000 + 4 * i).collect();
    vec![
        ("abort".into(), dump(&|d| d.write_abort(format_args!("panic on subcore: seed at src/main.rs:1")))),
        (
            "exception".into(),
            dump(&|d| {
                d.write_frame(&frame, &[0x11; 64]);
                d.mark_exception();
            }),
        ),
    ]
}

fn image_seeds() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let elf = std::fs::read(esp_amp_host::firmware::build_workspace_firmware(
        "tiny-subcore",
        "riscv32imac-unknown-none-elf",
    )?)?;
    let image = Image::parse(&elf).map_err(|e| std::io::Error::other(format!("fixture ELF: {e}")))?;
    let mut esp = vec![0u8; 256 * 1024];
    let n = write_image(&image, esp_chip_id(Chip::Esp32C6), &mut esp)
        .map_err(|e| std::io::Error::other(format!("ESP image: {e:?}")))?;
    esp.truncate(n);
    Ok(vec![("tiny_subcore.elf".into(), elf), ("tiny_subcore.bin".into(), esp)])
}

/// Writes the seeds of every target under `dir/<target>`; returns how many per target.
pub fn write_seeds(dir: &Path) -> std::io::Result<Vec<(&'static str, usize)>> {
    let mut golden = Vec::new();
    for entry in std::fs::read_dir(compat_dir())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "bin") {
            golden.push((path.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read(&path)?));
        }
    }
    golden.sort();
    if golden.is_empty() {
        return Err(std::io::Error::other(format!("no golden images in {}", compat_dir().display())));
    }
    // Ordinary operations after the image: receive, free, send, poll (queue and rpmsg op
    // codes of their targets).
    let queue_ops = [1, 1, 2, 0, 3, 16, 0, 5, 1, 2, 0];
    let rpmsg_ops = [0, 1, 0, 2, 3, 0, 4, 5, 1, 0, 1, 1, 5, 7];
    let mut counts = Vec::new();
    for (target, _) in TARGETS {
        let seeds: Vec<(String, Vec<u8>)> = match target {
            "sys_info" => golden.iter().map(|(n, b)| (n.clone(), region_input(b, &[]))).collect(),
            "queue" => golden
                .iter()
                .flat_map(|(n, b)| {
                    [(n.clone(), region_input(b, &[])), (format!("{n}+ops"), region_input(b, &queue_ops))]
                })
                .collect(),
            "rpmsg" => golden
                .iter()
                .filter(|(n, _)| n.starts_with("rpmsg"))
                .flat_map(|(n, b)| {
                    [
                        (format!("{n}+main"), region_input(b, &rpmsg_ops)),
                        (format!("{n}+sub"), region_input(b, &[&[1][..], &rpmsg_ops[1..]].concat())),
                    ]
                })
                .collect(),
            "rpc" => rpc_seeds(),
            "print" => print_seeds(),
            "panic_dump" => panic_seeds(),
            _ => image_seeds()?,
        };
        let out = dir.join(target);
        std::fs::create_dir_all(&out)?;
        for (name, bytes) in &seeds {
            std::fs::write(out.join(name), bytes)?;
        }
        counts.push((target, seeds.len()));
    }
    Ok(counts)
}

/// What one run gave.
#[derive(Debug)]
pub struct FuzzRun {
    pub target: &'static str,
    pub ok: bool,
    pub runs: Option<u64>,
    pub seconds: f64,
    /// libFuzzer's last status line (coverage, corpus), and the crash report if any.
    pub summary: String,
    /// libFuzzer's `stat::peak_rss_mb`.
    pub peak_rss_mb: Option<u64>,
    /// libFuzzer's whole output (`target/fuzz-logs/<target>.log`).
    pub log: PathBuf,
}

/// Runs `target` for `runs` executions on the seeds in `seeds` and its corpus.
pub fn run(target: &'static str, max_len: usize, runs: u64, seeds: &Path) -> std::io::Result<FuzzRun> {
    let fuzz = repo_root().join("fuzz");
    let corpus = fuzz.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    // libFuzzer's progress goes to a log as it runs, so a long run can be followed
    // (`tail -f`) and its final statistics kept.
    let logs = repo_root().join("target/fuzz-logs");
    std::fs::create_dir_all(&logs)?;
    let log = logs.join(format!("{target}.log"));
    let start = Instant::now();
    let status = Command::new("cargo")
        .current_dir(&fuzz)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_TARGET_DIR")
        .arg(format!("+{}", esp_amp_host::firmware::NIGHTLY))
        .args(["fuzz", "run", "--release", target])
        .arg(&corpus)
        .arg(seeds.join(target))
        .arg("--")
        .arg(format!("-runs={runs}"))
        .arg(format!("-max_len={max_len}"))
        .args(["-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"])
        .stdout(std::fs::File::create(logs.join(format!("{target}.stdout")))?)
        .stderr(std::fs::File::create(&log)?)
        .status()?;
    let err = String::from_utf8_lossy(&std::fs::read(&log)?).into_owned();
    let done =
        err.lines().find(|l| l.starts_with("Done ")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    let peak_rss_mb =
        err.lines().find_map(|l| l.strip_prefix("stat::peak_rss_mb:")).and_then(|v| v.trim().parse().ok());
    let last_status = err
        .lines()
        .rev()
        .find(|l| l.starts_with('#') && l[1..].starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or("")
        .to_string();
    let summary = if status.success() {
        last_status
    } else {
        let tail: Vec<&str> = err.lines().rev().take(60).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    Ok(FuzzRun {
        target,
        ok: status.success(),
        runs: done,
        seconds: start.elapsed().as_secs_f64(),
        summary,
        peak_rss_mb,
        log,
    })
}
