//! Every `firmware/qemu` example pair on two emulated RISC-V harts, as `cargo xtask qemu`
//! runs them: multi-threaded TCG (the harts really run at once) and
//! `-icount shift=0,sleep=off` (deterministic; instruction counts). Each run is bounded by
//! the time limit; beyond the firmware's own verdict (exit status and `PASS`), each test
//! checks the lines that show the example did what it says.

use std::sync::OnceLock;

use xtask::qemu::{Firmware, Mode, Outcome, DEFAULT_TIME_LIMIT};

fn firmware() -> &'static Firmware {
    static FW: OnceLock<Firmware> = OnceLock::new();
    FW.get_or_init(|| Firmware::build().expect("building the firmware/qemu pairs"))
}

fn run(name: &str, mode: Mode) -> Outcome {
    let outcome = firmware().run(name, mode, DEFAULT_TIME_LIMIT).expect("running qemu-system-riscv32");
    if let Some(why) = outcome.failure() {
        panic!("{name} ({}): {why}\n{}", mode.name(), outcome.output);
    }
    outcome
}

fn assert_lines(outcome: &Outcome, lines: &[&str]) {
    for line in lines {
        assert!(
            outcome.output.contains(line),
            "{} ({}): missing {line:?} in\n{}",
            outcome.name,
            outcome.mode.name(),
            outcome.output
        );
    }
}

/// The number after `after` in the first line containing `key`.
fn number(out: &Outcome, key: &str, after: &str) -> u64 {
    let line = out.output.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("no {key:?} line"));
    let rest = &line[line.find(after).unwrap_or_else(|| panic!("no {after:?} in {line:?}")) + after.len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[test]
fn every_maincore_example_has_a_test_here() {
    let names = xtask::qemu::examples().unwrap();
    let this = include_str!("qemu.rs");
    for name in names {
        assert!(
            this.contains(&format!("fn {name}_pair_")),
            "example {name} has no test in xtask/tests/qemu.rs"
        );
    }
}

fn check_basic(mode: Mode) -> Outcome {
    let out = run("basic", mode);
    assert_lines(
        &out,
        &[
            "corrupted subcore image refused: Port(Load(Segment { index: 0",
            "fault: Overlaps(SharedMemory)",
            "[hart 1] subcore up",
            "software interrupts 0..3 sent, 4..7 received; events both ways",
            "both harts added 20000 to one counter (total 40000)",
            "subcore panic reported:\npanic on subcore: asked to panic (6-byte request) at sub/src/bin/basic.rs:",
            // The abort carries the frame of its `unimp` trap, as C's abort() does.
            "MCAUSE  : 0x00000002",
            "subcore exception reported:\nGuru Meditation Error: ON Subcore panic'ed Store access fault",
            "MTVAL   : 0x00000004",
            "life 3: subcore loaded from its ELF and released",
        ],
    );
    assert_eq!(out.output.matches("RPMsg echo: 200 round trips").count(), 3, "{}", out.output);
    out
}

#[test]
fn basic_pair_on_two_parallel_harts() {
    check_basic(Mode::Parallel);
}

#[test]
fn basic_pair_under_icount_reports_instructions_per_round_trip() {
    let out = check_basic(Mode::Icount);
    let (main, sub) = (
        number(&out, "minstret per round trip", "maincore "),
        number(&out, "minstret per round trip", "subcore "),
    );
    // Counted instructions, not time: both sides do real work, and far less than a spin
    // through a whole time slice would show.
    assert!((100..20_000).contains(&main), "maincore {main} per round trip");
    assert!((100..5_000).contains(&sub), "subcore {sub} per round trip");
}
