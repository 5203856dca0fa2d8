//! The `firmware/qemu` examples on two emulated RISC-V harts (`qemu-system-riscv32 -machine
//! virt -smp 2 -bios none`): each pair is built (subcore first, then the maincore that
//! embeds it), run with a time limit, and judged by QEMU's exit status (the test device)
//! and its console output. Every example runs twice: multi-threaded TCG (the harts really
//! run at once) and `-icount shift=0,sleep=off` (deterministic; instruction counts).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use esp_amp_host::firmware::build_package;

const TARGET: &str = "riscv32imac-unknown-none-elf";
const TIME_LIMIT: Duration = Duration::from_secs(120);

fn qemu() -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("qemu-system-riscv32"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("qemu-system-riscv32 not found: install the Debian package qemu-system-misc (./test.sh does so when run as root)")
    })
}

/// Builds the pairs once; returns the directory of the maincore ELFs.
fn firmware() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let ws = root.join("firmware/qemu");
        let target_dir = root.join("target/firmware-qemu");
        let sub = build_package(&ws, Some("qemu-sub"), TARGET, &target_dir, &[])
            .expect("building the qemu-sub firmware");
        build_package(
            &ws,
            Some("qemu-main"),
            TARGET,
            &target_dir.join("main"),
            &[("ESP_AMP_QEMU_SUB_DIR", sub.as_os_str())],
        )
        .expect("building the qemu-main firmware")
    })
}

/// Runs maincore example `name`; returns (exit status code, console output).
fn run(name: &str, icount: bool) -> (Option<i32>, String) {
    let elf = firmware().join(name);
    let mut cmd = Command::new(qemu());
    cmd.args(["-machine", "virt", "-smp", "2", "-bios", "none", "-nographic", "-monitor", "none"]);
    cmd.args(["-serial", "stdio"]);
    if icount {
        cmd.args(["-icount", "shift=0,sleep=off"]);
    }
    cmd.arg("-kernel").arg(&elf).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("starting qemu-system-riscv32");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let out = reader.join().unwrap();
            panic!("{name} (icount {icount}) did not finish within {TIME_LIMIT:?}; output:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    let out = reader.join().unwrap();
    (status.code(), format!("{out}{err}"))
}

fn assert_basic(out: &str, code: Option<i32>) {
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "corrupted subcore image refused: Port(Load(Segment { index: 0",
        "fault: Overlaps(SharedMemory)",
        "[hart 1] subcore up",
        "software interrupts 0..3 sent, 4..7 received; events both ways",
        "both harts added 20000 to one counter (total 40000)",
        "subcore panic reported:\npanic on subcore: asked to panic (6-byte request) at sub/src/bin/basic.rs:",
        "subcore exception reported:\nGuru Meditation Error: ON Subcore panic'ed Store access fault",
        "MTVAL   : 0x00000004",
        "life 3: subcore loaded from its ELF and released",
        "PASS",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    assert_eq!(out.matches("RPMsg echo: 200 round trips").count(), 3, "{out}");
}

#[test]
fn basic_pair_on_two_parallel_harts() {
    let (code, out) = run("basic", false);
    assert_basic(&out, code);
}

#[test]
fn basic_pair_under_icount_reports_instructions_per_round_trip() {
    let (code, out) = run("basic", true);
    assert_basic(&out, code);
    let line = out.lines().find(|l| l.contains("minstret per round trip")).unwrap();
    let number = |after: &str| -> u64 {
        let rest = &line[line.find(after).unwrap() + after.len()..];
        rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let (main, sub) = (number("maincore "), number("subcore "));
    // Counted instructions, not time: both sides do real work, and far less than a spin
    // through a whole time slice would show.
    assert!((100..20_000).contains(&main), "maincore {main} per round trip: {line}");
    assert!((100..5_000).contains(&sub), "subcore {sub} per round trip: {line}");
    eprintln!("{line}");
}
