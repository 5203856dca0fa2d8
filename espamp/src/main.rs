//! `espamp`: the esp-amp command-line tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use esp_amp::layout::Chip;

mod demo;

#[derive(Parser)]
#[command(
    name = "espamp",
    version,
    about = "esp-amp for Rust: tools for ESP32 asymmetric multiprocessing",
    after_help = "Example:\n  espamp demo                 run the host simulator demo (maincore here, subcore as a child process)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the host simulator: a maincore in this process and a subcore in a child process,
    /// exercising SysInfo, software interrupts and events with a live log.
    #[command(after_help = "Example:\n  espamp demo --chip esp32p4")]
    Demo {
        /// Chip whose memory layout (device addresses) the simulated region uses.
        #[arg(long, default_value = "esp32c6", value_parser = parse_chip)]
        chip: Chip,
    },
    /// The subcore half of `demo` (started by `demo` itself).
    #[command(hide = true)]
    DemoSubcore,
}

fn parse_chip(s: &str) -> Result<Chip, String> {
    s.parse().map_err(|()| format!("unknown chip '{s}' (expected esp32c5, esp32c6 or esp32p4)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { chip } => demo::run_maincore(chip),
        Command::DemoSubcore => demo::run_subcore(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
