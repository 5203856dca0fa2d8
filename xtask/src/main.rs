//! `cargo xtask`: project tasks.
//!
//! ```text
//! cargo xtask qemu                 # build every example pair, run each on both schedulers
//! cargo xtask qemu rpc --icount    # one pair, deterministic (-icount) only
//! cargo xtask qemu --list
//! cargo xtask fuzz                 # seeds, then a short run of every fuzz target
//! cargo xtask fuzz rpc --runs 10000000
//! cargo xtask soak --duration 30m  # both cores, every service, both ways; then a report
//! cargo xtask esp32                # ESP32 images (maincore + LP): build, check against the layout, sizes
//! cargo xtask template             # generate the project template for each chip and build it
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use xtask::qemu::{Firmware, Mode, DEFAULT_TIME_LIMIT};

#[derive(Parser)]
#[command(about = "esp-amp project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the firmware/qemu example pairs and run them in qemu-system-riscv32 (two harts),
    /// each with a time limit; the exit status is the verdict.
    #[command(after_help = "Example:\n  cargo xtask qemu rpmsg print --icount --show-output")]
    Qemu {
        /// Examples to run (default: all).
        examples: Vec<String>,
        /// Only multi-threaded TCG (harts in parallel).
        #[arg(long, conflicts_with = "icount")]
        parallel: bool,
        /// Only `-icount shift=0,sleep=off` (deterministic).
        #[arg(long)]
        icount: bool,
        /// Time limit per run, in seconds.
        #[arg(long, default_value_t = DEFAULT_TIME_LIMIT.as_secs())]
        timeout: u64,
        /// Print each run's console output (failed runs always print it).
        #[arg(long)]
        show_output: bool,
        /// List the example pairs and exit.
        #[arg(long)]
        list: bool,
    },
    /// Write the fuzz seeds (golden images, recorded traffic) and run the cargo-fuzz
    /// targets of fuzz/ (nightly, cargo-fuzz); a crash or a hang fails.
    #[command(after_help = "Examples:\n  cargo xtask fuzz\n  cargo xtask fuzz queue rpmsg --runs 10000000")]
    Fuzz {
        /// Targets to run (default: all).
        targets: Vec<String>,
        /// Executions per target.
        #[arg(long, default_value_t = 20_000)]
        runs: u64,
        /// Only write the seeds (to target/fuzz-seeds).
        #[arg(long)]
        seeds_only: bool,
    },
    /// Soak run on the host port: the maincore here, the subcore as a child process, RPMsg
    /// streams, RPC calls, event pings both ways and the subcore's print lines, for the
    /// given time; then a report of every path (sent, received, lost), errors by kind and
    /// high-water marks. Fails on any loss or error.
    #[command(
        after_help = "Examples:\n  cargo xtask soak --duration 30m\n  cargo xtask soak --duration 20s --progress 5"
    )]
    Soak {
        /// How long: seconds, or with a unit (`90s`, `30m`, `1h`).
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        duration: Duration,
        /// A progress line this often, in seconds (0: none).
        #[arg(long, default_value_t = 60)]
        progress: u64,
    },
    /// Build the ESP32 firmware (firmware/esp32) for each chip: the maincore examples on
    /// esp-hal and the LP images they embed. Check every image against the layout (the
    /// loader accepts the LP images; maincores stay out of the AMP regions; the exported
    /// addresses match), make the maincores' app images with esptool, print sizes and the
    /// size budgets.
    #[command(after_help = "Examples:\n  cargo xtask esp32\n  cargo xtask esp32 --symbols 20")]
    Esp32 {
        /// Fail when a held size budget is exceeded: the echo image, the IPC code the echo
        /// links, the ceiling of the IPC code `stack` links (otherwise only link checks
        /// fail; the whole stack against the 3,000-byte budget is reported only).
        #[arg(long)]
        enforce_budgets: bool,
        /// Also list the N largest symbols of the C6 `rpmsg_echo` image.
        #[arg(long, value_name = "N")]
        symbols: Option<usize>,
    },
    /// Generate a pair from templates/esp-amp-pair (as `cargo generate` would, esp-amp from
    /// this repository) and build it with `cargo build --release`: by default every chip
    /// with the blocking maincore and the C6 with the embassy one, into target/template
    /// (built in the chip's firmware target directory, whose dependencies it shares).
    #[command(
        after_help = "Examples:\n  cargo xtask template\n  cargo xtask template --chip esp32p4 --maincore embassy --out /tmp/my-pair"
    )]
    Template {
        /// One chip (esp32c6, esp32c5, esp32p4) instead of the CI set.
        #[arg(long, value_parser = parse_chip)]
        chip: Option<esp_amp::layout::Chip>,
        /// The maincore program: blocking or embassy.
        #[arg(long, default_value = "blocking")]
        maincore: String,
        /// Where to write the project (with --chip; default target/template/<chip>-<maincore>).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Only generate, do not build.
        #[arg(long)]
        no_build: bool,
    },
    /// Our host IPC benchmark side by side with ESP-AMP C's (../shared/bench/esp-amp-c-ipc,
    /// run only when it is there), alternating cell by cell for several rounds, and the
    /// per-round ratios as a Markdown table.
    #[command(
        name = "vs-c",
        after_help = "Examples:\n  cargo xtask vs-c\n  cargo xtask vs-c --rounds 9 --messages 2000000\n  cargo xtask vs-c --coherent"
    )]
    VsC {
        /// Rounds (each runs every cell once per binary).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Messages per throughput run (ESP_AMP_BENCH_MESSAGES; default: the benchmark's).
        #[arg(long)]
        messages: Option<u64>,
        /// Ours with the host port's cache tuning (reserve-ahead, batch-free) instead of
        /// the chips' queue code.
        #[arg(long)]
        coherent: bool,
    },
    /// The soak's subcore (started by `soak`).
    #[command(hide = true)]
    SoakSubcore,
}

fn parse_chip(s: &str) -> Result<esp_amp::layout::Chip, String> {
    s.parse().map_err(|()| format!("{s:?}: esp32c6, esp32c5 or esp32p4"))
}

fn template(
    chip: Option<esp_amp::layout::Chip>,
    maincore: &str,
    out: Option<std::path::PathBuf>,
    no_build: bool,
) -> ExitCode {
    use xtask::template::{build, generate, VARIANTS};
    let root = xtask::qemu::repo_root().join("target/template");
    let variants: Vec<_> = match chip {
        Some(c) => vec![(c, maincore)],
        None => VARIANTS.to_vec(),
    };
    for (chip, maincore) in variants {
        let name = format!("amp-{}-{maincore}", chip.name());
        let dir = out.clone().unwrap_or_else(|| root.join(&name));
        if let Err(e) = generate(chip, maincore, &name, &dir) {
            return fail(&e);
        }
        println!("generated {} ({}, {maincore} maincore)", dir.display(), chip.name());
        if no_build {
            continue;
        }
        match build(&dir, chip, &name, &xtask::template::target_dir(chip), &[]) {
            Ok(elf) => println!("built {}", elf.display()),
            Err(e) => return fail(&e),
        }
    }
    ExitCode::SUCCESS
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("{s:?}: expected a number of seconds, or 90s, 30m, 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (s, m or h)")),
    };
    Ok(Duration::from_secs(secs))
}

fn soak(duration: Duration, progress: u64) -> ExitCode {
    use esp_amp_host::harness::soak::{run_maincore, SoakConfig};
    use esp_amp_host::subcore::HostFirmware;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(&e),
    };
    let cfg = SoakConfig { duration, progress_every: (progress > 0).then(|| Duration::from_secs(progress)) };
    eprintln!("soak: {} s, maincore pid {}", duration.as_secs(), std::process::id());
    match run_maincore(&cfg, &HostFirmware::new(exe).arg("soak-subcore")) {
        Ok(report) => {
            print!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => fail(&e),
    }
}

fn esp32(enforce_budgets: bool, symbols: Option<usize>) -> ExitCode {
    use xtask::esp32::{budgets, run_all};
    let xtask::esp32::Results { sub: results, main: mains, pure_rtc } = match run_all() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    println!("maincore images (esp-hal; each embeds the subcore image of the same name):");
    println!(
        "{:<9} {:<11} {:>6} {:>7} {:>5} {:>5} {:>7}  checks",
        "chip", "example", ".text", ".rodata", ".data", ".bss", "loaded"
    );
    let mut failed = false;
    for (chip, bin, m) in &mains {
        let s = m.sizes;
        let problems = m.problems();
        failed |= !problems.is_empty();
        let verdict = match (&m.esp_image, problems.is_empty()) {
            (Ok((path, project)), true) => {
                format!("ok; app image {} (app descriptor: {project})", path.display())
            }
            _ => problems.join("; "),
        };
        println!(
            "{:<9} {:<11} {:>6} {:>7} {:>5} {:>5} {:>7}  {}",
            chip.name(),
            bin,
            s.text,
            s.rodata,
            s.data,
            s.bss,
            s.loaded,
            verdict
        );
    }
    println!("subcore images (LP core on C6/C5, HP core 1 on P4; rtc: the LP runtime in RTC RAM):");
    failed |= print_subcore_table(&results);
    println!(
        "pure-RTC LP images (ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP=y, ULP_COPROC_RESERVE_MEM={}; \
         everything in RTC RAM):",
        xtask::esp32::pure_rtc_config(esp_amp::layout::Chip::Esp32C6).ulp_coproc_reserve_mem
    );
    failed |= print_subcore_table(&pure_rtc);
    if let Some((chip, bin, c)) = results.iter().find(|(_, b, _)| *b == "rpmsg_echo") {
        if let Ok(image) = &c.esp_image {
            println!(
                "subcore ESP images: target/firmware-esp32/<chip>/esp-amp-subcore/<target>/release/<example>.bin; \
                 for a flash partition ({} {bin}): `{}`",
                chip.name(),
                xtask::esp32::partition_line("subcore", image.len())
            );
        }
    }
    let c6 = esp_amp::layout::Chip::Esp32C6;
    if let Some(n) = symbols {
        let path = xtask::esp32::build_sub(c6).map(|d| d.join("rpmsg_echo"));
        match path
            .and_then(std::fs::read)
            .map_err(|e| e.to_string())
            .and_then(|f| xtask::esp32::largest_symbols(&f, n))
        {
            Ok(list) => {
                println!("largest symbols of esp32c6 rpmsg_echo:");
                for (size, name) in list {
                    println!("{size:>7}  {name}");
                }
            }
            Err(e) => return fail(&e),
        }
    }
    let mut over = false;
    for b in budgets(&results) {
        let verdict = match (b.met(), b.held) {
            (true, _) => "met",
            (false, true) => "NOT MET",
            (false, false) => "NOT MET (reported; the ceiling below holds it)",
        };
        over |= b.held && !b.met();
        println!("budget: {}: {} of {} bytes: {verdict}", b.what, b.got, b.limit);
    }
    if failed || (enforce_budgets && over) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Prints one row per subcore image (sizes, IPC code against the `bare` image of the same
/// rows, verdict); returns whether any image has a problem.
fn print_subcore_table(rows: &[xtask::esp32::Report<xtask::esp32::Checked>]) -> bool {
    println!(
        "{:<9} {:<11} {:>6} {:>7} {:>5} {:>5} {:>5} {:>7} {:>7}  checks",
        "chip", "example", ".text", ".rodata", ".data", ".bss", "rtc", "loaded", "ipc"
    );
    let mut failed = false;
    for (chip, bin, c) in rows {
        let s = c.sizes;
        let ipc = xtask::esp32::ipc_code(rows, *chip, bin).map_or("-".into(), |n| n.to_string());
        let problems = c.problems();
        failed |= !problems.is_empty();
        println!(
            "{:<9} {:<11} {:>6} {:>7} {:>5} {:>5} {:>5} {:>7} {:>7}  {}",
            chip.name(),
            bin,
            s.text,
            s.rodata,
            s.data,
            s.bss,
            s.rtc,
            s.loaded,
            ipc,
            if problems.is_empty() { "ok".to_string() } else { problems.join("; ") }
        );
    }
    failed
}

fn main() -> ExitCode {
    match Cli::parse().task {
        Task::Qemu { examples, parallel, icount, timeout, show_output, list } => {
            if list {
                return match xtask::qemu::examples() {
                    Ok(names) => {
                        names.iter().for_each(|n| println!("{n}"));
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(&e),
                };
            }
            let modes: &[Mode] = match (parallel, icount) {
                (true, _) => &[Mode::Parallel],
                (_, true) => &[Mode::Icount],
                _ => &Mode::ALL,
            };
            qemu(examples, modes, Duration::from_secs(timeout), show_output)
        }
        Task::Fuzz { targets, runs, seeds_only } => fuzz(targets, runs, seeds_only),
        Task::Soak { duration, progress } => soak(duration, progress),
        Task::Esp32 { enforce_budgets, symbols } => esp32(enforce_budgets, symbols),
        Task::Template { chip, maincore, out, no_build } => template(chip, &maincore, out, no_build),
        Task::VsC { rounds, messages, coherent } => match xtask::vs_c::run(rounds, messages, coherent) {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Task::SoakSubcore => match esp_amp_host::harness::soak::run_subcore() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
    }
}

fn fuzz(names: Vec<String>, runs: u64, seeds_only: bool) -> ExitCode {
    use xtask::fuzz::{run, write_seeds, TARGETS};
    let seeds = xtask::qemu::repo_root().join("target/fuzz-seeds");
    match write_seeds(&seeds) {
        Ok(counts) => {
            let list: Vec<String> = counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
            eprintln!("seeds in {}: {}", seeds.display(), list.join(", "));
        }
        Err(e) => return fail(&e),
    }
    if seeds_only {
        return ExitCode::SUCCESS;
    }
    if let Some(bad) = names.iter().find(|n| !TARGETS.iter().any(|(t, _)| t == n)) {
        let all: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
        return fail(&format!("no fuzz target {bad:?} (have: {})", all.join(", ")));
    }
    let mut failed = 0;
    for &(target, max_len) in TARGETS.iter().filter(|(t, _)| names.is_empty() || names.iter().any(|n| n == t))
    {
        let r = match run(target, max_len, runs, &seeds) {
            Ok(r) => r,
            Err(e) => {
                return fail(&format!(
                    "cargo +{} fuzz run {target}: {e} (install with `cargo install cargo-fuzz`)",
                    esp_amp_host::firmware::NIGHTLY
                ))
            }
        };
        let runs = r.runs.map_or("?".to_string(), |n| n.to_string());
        let rate = r.runs.map_or(0.0, |n| n as f64 / r.seconds.max(1e-3));
        if r.ok {
            let rss = r.peak_rss_mb.map_or("?".to_string(), |m| m.to_string());
            println!(
                "{target:<11} ok      {runs:>10} runs {:>8.1} s {rate:>9.0}/s  peak {rss} MB  {}",
                r.seconds, r.summary
            );
        } else {
            failed += 1;
            println!(
                "{target:<11} FAILED  after {:.1} s (log: {})\n{}",
                r.seconds,
                r.log.display(),
                r.summary
            );
        }
    }
    if failed > 0 {
        eprintln!("{failed} fuzz target(s) failed; the input is in fuzz/artifacts/<target>/");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

fn qemu(mut names: Vec<String>, modes: &[Mode], limit: Duration, show_output: bool) -> ExitCode {
    eprintln!("building firmware/qemu (subcores, then maincores)...");
    let fw = match Firmware::build() {
        Ok(fw) => fw,
        Err(e) => return fail(&e),
    };
    if names.is_empty() {
        names = fw.examples.clone();
    }
    let mut failed = 0;
    for name in &names {
        for &mode in modes {
            let outcome = match fw.run(name, mode, limit) {
                Ok(o) => o,
                Err(e) => return fail(&e),
            };
            let verdict = match outcome.failure() {
                None => "ok".to_string(),
                Some(why) => {
                    failed += 1;
                    format!("FAILED: {why}")
                }
            };
            if show_output || !outcome.passed() {
                println!("----- {name} ({}) -----\n{}", mode.name(), outcome.output.trim_end());
            }
            println!("{name:<12} {:<9} {:>6.1?}  {verdict}", mode.name(), outcome.elapsed);
        }
    }
    if failed > 0 {
        eprintln!("{failed} run(s) failed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
