//! The `firmware/qemu` example pairs on two emulated RISC-V harts
//! (`qemu-system-riscv32 -machine virt -smp 2 -bios none`).
//!
//! Each pair is a maincore binary of `qemu-main` and the `qemu-sub` binary of the same
//! name, which the maincore embeds and loads. [`Firmware::build`] builds all subcores
//! first, then the maincores; [`Firmware::run`] boots one maincore ELF with a time limit
//! and turns QEMU's exit status (the `virt` test device) and console into an [`Outcome`].

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use esp_amp_host::firmware::build_package;

/// The firmware target (the QEMU `virt` harts are RV32IMAC here).
pub const TARGET: &str = "riscv32imac-unknown-none-elf";

/// Time limit for one run, wall clock.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(120);

/// How QEMU schedules the two harts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Multi-threaded TCG: the harts really run at the same time.
    Parallel,
    /// `-icount shift=0,sleep=off`: deterministic, one instruction per virtual ns.
    Icount,
}

impl Mode {
    /// Both modes, as the test suite runs them.
    pub const ALL: [Mode; 2] = [Mode::Parallel, Mode::Icount];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Parallel => "parallel",
            Mode::Icount => "icount",
        }
    }
}

/// What one run gave.
#[derive(Debug)]
pub struct Outcome {
    /// The example.
    pub name: String,
    /// How it ran.
    pub mode: Mode,
    /// QEMU's exit status (`None`: killed by a signal or at the time limit).
    pub code: Option<i32>,
    /// `true` if the time limit was reached (QEMU was killed).
    pub timed_out: bool,
    /// Console output (UART), then QEMU's own error output.
    pub output: String,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl Outcome {
    /// The firmware's own verdict: exit status 0 through the test device and a `PASS` line.
    pub fn passed(&self) -> bool {
        !self.timed_out && self.code == Some(0) && self.output.lines().any(|l| l.trim_end() == "PASS")
    }

    /// Why the run failed, in one line (`None` if it passed).
    pub fn failure(&self) -> Option<String> {
        if self.timed_out {
            return Some(format!("no exit within the time limit ({:.1?})", self.elapsed));
        }
        match self.code {
            Some(0) if self.passed() => None,
            Some(0) => Some("exit status 0 without a PASS line (output cut short?)".into()),
            Some(code) => {
                let why = self.output.lines().find(|l| l.starts_with("FAIL") || l.contains("panic"));
                Some(format!("exit status {code}{}", why.map(|w| format!(": {w}")).unwrap_or_default()))
            }
            None => Some("QEMU was killed by a signal".into()),
        }
    }
}

/// The built pairs.
#[derive(Debug, Clone)]
pub struct Firmware {
    /// The directory of the maincore ELFs (each embeds its subcore).
    pub main_dir: PathBuf,
    /// The directory of the subcore ELFs.
    pub sub_dir: PathBuf,
    /// The example names, sorted.
    pub examples: Vec<String>,
}

/// The repository root (this crate's parent directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repository").to_path_buf()
}

/// The example pairs: the binaries of `firmware/qemu/qemu-main/src/bin`, each of which must have
/// a subcore of the same name.
pub fn examples() -> std::io::Result<Vec<String>> {
    let ws = repo_root().join("firmware/qemu");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(ws.join("qemu-main/src/bin"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if !ws.join("qemu-sub/src/bin").join(format!("{name}.rs")).is_file() {
                return Err(std::io::Error::other(format!(
                    "maincore example {name} has no qemu-sub/src/bin/{name}.rs"
                )));
            }
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

impl Firmware {
    /// Builds every pair (release, into `target/firmware-qemu`): the subcores first, then
    /// the maincores that embed them.
    pub fn build() -> std::io::Result<Firmware> {
        let root = repo_root();
        let ws = root.join("firmware/qemu");
        let target_dir = root.join("target/firmware-qemu");
        let sub_dir = build_package(&ws, Some("qemu-sub"), &[], TARGET, &target_dir, &[])?;
        let main_dir = build_package(
            &ws,
            Some("qemu-main"),
            &[],
            TARGET,
            &target_dir.join("main"),
            &[("ESP_AMP_QEMU_SUB_DIR", sub_dir.as_os_str())],
        )?;
        Ok(Firmware { main_dir, sub_dir, examples: examples()? })
    }

    /// Runs example `name` in `mode` with a time limit.
    pub fn run(&self, name: &str, mode: Mode, limit: Duration) -> std::io::Result<Outcome> {
        let elf = self.main_dir.join(name);
        if !elf.is_file() {
            return Err(std::io::Error::other(format!(
                "no maincore example {name:?} (have: {})",
                self.examples.join(", ")
            )));
        }
        let mut cmd = Command::new(qemu()?);
        cmd.args(["-machine", "virt", "-smp", "2", "-bios", "none", "-nographic", "-monitor", "none"]);
        cmd.args(["-serial", "stdio"]);
        if mode == Mode::Icount {
            cmd.args(["-icount", "shift=0,sleep=off"]);
        }
        cmd.arg("-kernel").arg(&elf).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd.spawn()?;
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        // Both pipes drain on their own threads, so a chatty QEMU never blocks on a full pipe.
        let out = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = stdout.read_to_end(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = stderr.read_to_end(&mut s);
            s
        });
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if start.elapsed() > limit {
                timed_out = true;
                let _ = child.kill();
                break child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut output = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
        output.push_str(&String::from_utf8_lossy(&err.join().unwrap_or_default()));
        Ok(Outcome {
            name: name.into(),
            mode,
            code: status.code(),
            timed_out,
            output,
            elapsed: start.elapsed(),
        })
    }
}

/// `qemu-system-riscv32` from `PATH`, or an error that says how to install it.
pub fn qemu() -> std::io::Result<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("qemu-system-riscv32"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            std::io::Error::other(
                "qemu-system-riscv32 not found: install the Debian package qemu-system-misc \
                 (`sudo apt-get install qemu-system-misc`; ./test.sh does so when run as root)",
            )
        })
}
