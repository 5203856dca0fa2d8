//! `espamp`: the esp-amp command-line tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use esp_amp::layout::Chip;

mod config_cmd;
mod demo;
mod image_cmd;
mod layout_cmd;
mod panic_cmd;
mod shm_cmd;

#[derive(Parser)]
#[command(
    name = "espamp",
    version,
    about = "esp-amp for Rust: tools for ESP32 asymmetric multiprocessing",
    after_help = "Examples:\n  espamp demo                                     run the host simulator (maincore here, subcore as a child process)\n  espamp layout --chip esp32p4                    the memory map of the default ESP32-P4 configuration\n  espamp image check sub.elf --chip esp32c6       check a subcore image against the layout\n  espamp shm dump rpmsg_main_sent.bin             decode a shared region: SysInfo, queues, RPMsg messages\n  espamp panic decode dump.bin --elf subcore.elf  a subcore panic with a symbolised backtrace\n  espamp config from-sdkconfig sdkconfig          the build settings matching an ESP-IDF project"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the host simulator: a maincore in this process and a subcore in a child process,
    /// exercising SysInfo, software interrupts, events, RPMsg and RPC with a live log.
    #[command(after_help = "Example:\n  espamp demo --chip esp32p4")]
    Demo {
        /// Chip whose memory layout (device addresses) the simulated region uses.
        #[arg(long, default_value = "esp32c6", value_parser = parse_chip)]
        chip: Chip,
    },
    /// Show the memory map of a configuration: every region with start, end and size, what
    /// the maincore heap gives up, and a text diagram. Impossible configurations are errors.
    #[command(
        after_help = "Examples:\n  espamp layout --chip esp32c6\n  espamp layout --chip esp32p4 --subcore-hp-mem 128K --diagram\n  espamp layout --chip esp32c6 --svg c6.svg\n  espamp layout --chip esp32c5 --pure-rtc --ulp-reserve-mem 14500 --json"
    )]
    Layout {
        #[command(flatten)]
        options: layout_cmd::LayoutOptions,
        /// Also draw the regions as a text diagram.
        #[arg(long)]
        diagram: bool,
        /// Print JSON instead of text.
        #[arg(long, conflicts_with = "diagram")]
        json: bool,
        /// Also write the diagram as an SVG picture to this file.
        #[arg(long, value_name = "FILE")]
        svg: Option<std::path::PathBuf>,
    },
    /// Read a subcore firmware image (ESP app image or ELF) and check it against a layout.
    #[command(
        after_help = "Examples:\n  espamp image info subcore.elf --chip esp32c6\n  espamp image check subcore.bin --chip esp32p4 --json"
    )]
    Image {
        #[command(subcommand)]
        action: ImageAction,
    },
    /// Decode a shared region: SysInfo entries, software-interrupt and event words, queue
    /// states and RPMsg messages in flight.
    #[command(after_help = "Example:\n  espamp shm dump rpmsg_main_sent.bin --json")]
    Shm {
        #[command(subcommand)]
        action: ShmAction,
    },
    /// Decode a subcore panic dump into its message, registers and a symbolised backtrace.
    #[command(after_help = "Example:\n  espamp panic decode dump.bin --elf subcore.elf")]
    Panic {
        #[command(subcommand)]
        action: PanicAction,
    },
    /// Settings for pairing with ESP-IDF + ESP-AMP C: read an ESP-IDF `sdkconfig` and print
    /// the esp-amp build settings that match it; refuses, by name, options the Rust side
    /// does not support.
    #[command(
        after_help = "Example:\n  espamp config from-sdkconfig ../idf-project/sdkconfig >> .cargo/config.toml"
    )]
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// The subcore half of `demo` (started by `demo` itself).
    #[command(hide = true)]
    DemoSubcore,
    /// The subcore half of `demo` after its restart (started by `demo` itself).
    #[command(hide = true)]
    DemoSubcoreRestarted,
}

#[derive(Subcommand)]
enum ImageAction {
    /// Show the image's segments and where they load in the layout; exits 0 even when the
    /// loader would refuse it (the reason is shown).
    #[command(after_help = "Example:\n  espamp image info subcore.elf --chip esp32c6")]
    Info {
        /// The image file.
        file: std::path::PathBuf,
        #[command(flatten)]
        options: layout_cmd::LayoutOptions,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the loader's validation (regions, overlaps, entry point, chip id, checksum)
    /// without loading; exits non-zero with the reason when the image is refused.
    #[command(
        after_help = "Examples:\n  espamp image check subcore.bin --chip esp32c6\n  espamp image check subcore.elf --chip esp32p4 --subcore-hp-mem 128K --json"
    )]
    Check {
        /// The image file.
        file: std::path::PathBuf,
        #[command(flatten)]
        options: layout_cmd::LayoutOptions,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PanicAction {
    /// Decode a panic dump (raw bytes of the dump region as read from a chip, or a host-port
    /// region file): the report in the C format, then a backtrace with function names and
    /// source lines from the subcore ELF (pc, ra, and code addresses found on the stack).
    #[command(
        after_help = "Examples:\n  espamp panic decode dump.bin --elf target/riscv32imac-unknown-none-elf/release/subcore\n  espamp panic decode /tmp/esp-amp-region --elf subcore.elf --json\n  espamp panic decode dump.bin --chip esp32p4          (registers only, with the P4 CSRs)"
    )]
    Decode {
        /// The dump: the dump region's bytes (1536 used of 4096) or a host-port region file.
        dump: std::path::PathBuf,
        /// The subcore ELF that was running (with symbols; debug line info adds file:line).
        #[arg(long)]
        elf: Option<std::path::PathBuf>,
        /// Chip the dump comes from (esp32p4 dumps carry 10 extra CSRs).
        #[arg(long, default_value = "esp32c6", value_parser = parse_chip)]
        chip: Chip,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Decode the file even when its fields are impossible for a panic dump.
        #[arg(long)]
        force: bool,
    },
}

fn panic(action: &PanicAction) -> Result<(), Box<dyn std::error::Error>> {
    let PanicAction::Decode { dump, elf, chip, json, force } = action;
    let hp_subcore = chip.subcore_type() == esp_amp::layout::SubcoreType::HpCore;
    let d = panic_cmd::decode(dump, elf.as_deref(), hp_subcore, *force)?;
    if *json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", panic_cmd::text(&d, elf.is_some()));
    }
    Ok(())
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print the `[env]` settings (for `.cargo/config.toml`) that give the Rust builds the
    /// shared-memory layout of an ESP-IDF project's `sdkconfig`, and what its other
    /// ESP-AMP options ask of the Rust code; exits non-zero, naming each one, when it uses
    /// an option the Rust side does not support.
    #[command(
        after_help = "Examples:\n  espamp config from-sdkconfig sdkconfig\n  espamp config from-sdkconfig sdkconfig --json"
    )]
    FromSdkconfig {
        /// The `sdkconfig` file of the ESP-IDF project.
        sdkconfig: std::path::PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn config(action: &ConfigAction) -> Result<(), Box<dyn std::error::Error>> {
    let ConfigAction::FromSdkconfig { sdkconfig, json } = action;
    let b = config_cmd::from_file(sdkconfig)?;
    if *json {
        println!("{}", serde_json::to_string_pretty(&b)?);
    } else {
        print!("{}", config_cmd::text(&b, &sdkconfig.display().to_string()));
    }
    Ok(())
}

#[derive(Subcommand)]
enum ShmAction {
    /// Decode a raw image of the shared region `[SHARED_START, SHARED_END)` (read from a
    /// chip, or a golden image) or a host-port region file; nothing is modified.
    #[command(
        after_help = "Examples:\n  espamp shm dump rpmsg_main_sent.bin                 a C6 region (its start follows from its length)\n  espamp shm dump region.bin --chip esp32p4 --json\n  espamp shm dump /tmp/esp-amp-region                 a host-port region file (layout read from it)"
    )]
    Dump {
        /// The file: a raw shared region or a host-port region file (recognised by its magic).
        file: std::path::PathBuf,
        /// Chip of a raw image: its region ends at the chip's fixed SHARED_END.
        #[arg(long, default_value = "esp32c6", value_parser = parse_chip)]
        chip: Chip,
        /// Device address of the raw image's first byte, instead of SHARED_END − length.
        #[arg(long, value_parser = parse_size)]
        base: Option<u32>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Decode what can be decoded even when the file does not look like a shared region
        /// (no valid SysInfo chain): for a region a faulty or hostile peer damaged.
        #[arg(long)]
        force: bool,
    },
}

fn shm(action: &ShmAction) -> Result<(), Box<dyn std::error::Error>> {
    let ShmAction::Dump { file, chip, base, json, force } = action;
    let r = shm_cmd::report(file, *chip, *base)?;
    if let (Some(why), false) = (shm_cmd::implausible(&r), *force) {
        return Err(format!("{}: {why} (--force shows what can be decoded)", file.display()).into());
    }
    if *json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", shm_cmd::text(&r));
    }
    Ok(())
}

fn image(action: &ImageAction) -> Result<(), Box<dyn std::error::Error>> {
    let (file, options, json, strict) = match action {
        ImageAction::Info { file, options, json } => (file, options, *json, false),
        ImageAction::Check { file, options, json } => (file, options, *json, true),
    };
    let r = image_cmd::report(file, options)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", image_cmd::text(&r, options.chip.name()));
    }
    match (&r.error, strict) {
        (Some(e), true) => Err(format!("{}: refused: {e}", file.display()).into()),
        _ => Ok(()),
    }
}

pub(crate) fn parse_chip(s: &str) -> Result<Chip, String> {
    s.parse().map_err(|()| format!("unknown chip '{s}' (expected esp32c5, esp32c6 or esp32p4)"))
}

/// A size in bytes: decimal or `0x` hex, optionally with a `K`/`KiB` or `M`/`MiB` suffix.
pub(crate) fn parse_size(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (digits, scale) = if let Some(d) = t.strip_suffix("KiB").or_else(|| t.strip_suffix(['K', 'k'])) {
        (d, 1024)
    } else if let Some(d) = t.strip_suffix("MiB").or_else(|| t.strip_suffix('M')) {
        (d, 1024 * 1024)
    } else {
        (t, 1)
    };
    let value = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => digits.parse(),
    };
    value
        .ok()
        .and_then(|v| v.checked_mul(scale))
        .ok_or_else(|| format!("'{s}' is not a size (examples: 16384, 16K, 0x4000)"))
}

fn layout(
    o: &layout_cmd::LayoutOptions,
    diagram: bool,
    json: bool,
    svg: Option<&std::path::Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let r = layout_cmd::report(o)?;
    if let Some(path) = svg {
        std::fs::write(path, layout_cmd::svg(&r)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", layout_cmd::table(&r));
        if diagram {
            print!("{}", layout_cmd::diagram(&r));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { chip } => demo::run_maincore(chip),
        Command::Layout { options, diagram, json, svg } => layout(&options, diagram, json, svg.as_deref()),
        Command::Image { action } => image(&action),
        Command::Shm { action } => shm(&action),
        Command::Panic { action } => panic(&action),
        Command::Config { action } => config(&action),
        Command::DemoSubcore => demo::run_subcore(),
        Command::DemoSubcoreRestarted => demo::run_subcore_restarted(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
