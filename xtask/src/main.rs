//! `cargo xtask`: project tasks.
//!
//! ```text
//! cargo xtask qemu                 # build every example pair, run each on both schedulers
//! cargo xtask qemu rpc --icount    # one pair, deterministic (-icount) only
//! cargo xtask qemu --list
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
    }
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
