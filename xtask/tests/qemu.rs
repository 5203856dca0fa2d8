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
            // The location first, then the message; a panic and a failed assertion.
            "subcore panic reported:\npanic on subcore at ",
            "examples/src/sub/basic.rs:",
            ": asked to panic (6-byte request)\n",
            ": assertion failed: n == 6\n",
            // The abort carries the frame of its `unimp` trap, as C's abort() does.
            "MCAUSE  : 0x00000002",
            "subcore exception reported:\nGuru Meditation Error: ON Subcore panic'ed Store access fault",
            "MTVAL   : 0x00000004",
            "life 3: subcore loaded from its image and released",
            // A 20 ms wait with no interrupt sleeps: one or two checks around `wfi` (the
            // firmware fails the run beyond 4), not thousands.
            "idle wait: 2",
            "check(s) around wfi",
        ],
    );
    assert_eq!(out.output.matches("RPMsg echo: 200 round trips").count(), 4, "{}", out.output);
    // The first line of each report (the panic of life 1, the assertion of life 4) names
    // the file and the line.
    let firsts: Vec<&str> = out.output.lines().filter(|l| l.starts_with("panic on subcore at ")).collect();
    assert_eq!(firsts.len(), 2, "{}", out.output);
    for first in firsts {
        let line = first.split("examples/src/sub/basic.rs:").nth(1).and_then(|r| r.split(':').next());
        assert!(line.is_some_and(|l| l.parse::<u32>().is_ok_and(|l| l > 0)), "no file:line in {first:?}");
    }
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

fn check_virtqueue(mode: Mode) {
    let out = run("virtqueue", mode);
    assert_lines(
        &out,
        &[
            "[hart 1] 2000 requests checked (0 bad), answered zero-copy",
            "2000 replies up in order with exact sums; all 16 down buffers back",
        ],
    );
}

#[test]
fn virtqueue_pair_on_two_parallel_harts() {
    check_virtqueue(Mode::Parallel);
}

#[test]
fn virtqueue_pair_under_icount() {
    check_virtqueue(Mode::Icount);
}

fn check_rpc(mode: Mode) -> Outcome {
    let out = run("rpc", mode);
    assert_lines(
        &out,
        &[
            "[hart 1] 300 Fib calls answered (300 right, 0 wrong)",
            "RPC both ways at once: 300 ADD/Div calls to the subcore (30 divisions by zero answered EXEC_FAILED), 300 Fib calls served; the subcore checked its 300 answers",
        ],
    );
    out
}

#[test]
fn rpc_pair_on_two_parallel_harts() {
    check_rpc(Mode::Parallel);
}

#[test]
fn rpc_pair_under_icount_reports_instructions_per_call() {
    let out = check_rpc(Mode::Icount);
    let per_call = number(&out, "sequential ADD calls", "on the maincore ");
    assert!((100..20_000).contains(&per_call), "maincore {per_call} instructions per RPC call");
}

fn check_print(mode: Mode) {
    let out = run("print", mode);
    // Routed lines carry the maincore's prefix; the fallback line came straight from hart 1.
    let routed: Vec<&str> = out.output.lines().filter_map(|l| l.strip_prefix("[sub] ")).collect();
    assert_eq!(routed.len(), 210, "{}", out.output);
    assert_eq!(routed[0], "hello from the subcore (55 bytes went to the fallback first)");
    assert_eq!(routed[1], "line 000 check 00000000");
    assert_eq!(routed[201].len() + routed[202].len() + routed[203].len(), 300);
    assert_eq!((routed[201].len(), routed[203].len()), (123, 54));
    assert_eq!(routed[209], "done: 210 lines sent, 0 bytes dropped");
    assert_lines(
        &out,
        &[
            "[hart 1 fallback] before the service queue is attached\n",
            "210 subcore lines arrived whole and in order",
        ],
    );
}

#[test]
fn print_pair_on_two_parallel_harts() {
    check_print(Mode::Parallel);
}

#[test]
fn print_pair_under_icount() {
    check_print(Mode::Icount);
}

fn check_stack(mode: Mode) {
    let out = run("stack", mode);
    assert_lines(
        &out,
        &["stack: GO/READY events, then 200 SUM calls answered right and an unknown command refused"],
    );
}

#[test]
fn stack_pair_on_two_parallel_harts() {
    check_stack(Mode::Parallel);
}

#[test]
fn stack_pair_under_icount() {
    check_stack(Mode::Icount);
}
