//! The README's run command: `espamp demo` runs maincore + subcore processes to success,
//! including print routing, a subcore panic with its report, and the restart after it.

mod common;

use common::espamp;

#[test]
fn demo_runs_all_steps() {
    for chip in ["esp32c6", "esp32p4"] {
        let out = espamp(&["demo", "--chip", chip]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "demo failed on {chip}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in [
            "name \"Alice\", age 30",
            "<- software interrupt 7 from the subcore",
            "wait-all(0x3) returned 0x3",
            "wait-any(0xC) returned 0x8",
            "timed out after",
            "<- \"BYE\" from 0x20",
            "<- status 0x0000, [2a, 00, 00, 00]",
            "<- status 0x0000, \"RPC WORKS\"",
            "<- status 0xfffe, [00]",
            "RPC client: 101 calls answered and checked",
            "served 104 requests (3 one-way, 1 unknown command)",
            "[subcore] hello from the subcore, through the service queue",
            "[subcore] 2 + 2 = 4",
            "|   | panic on subcore at ",
            ": demo: the subcore gives up on purpose",
            "|   | Core 1 register dump:",
            "|   | ELF file SHA256: No SHA256 Embedded",
            "ok: panic detected, subcore stopped, report decoded",
            "subcore restarted (process",
            "[subcore] restarted: fresh shared state, echoing again",
            "<- \"RPMSG AFTER A RESTART\"",
            "ok: RPMsg traffic resumed after the restart",
            "all steps passed",
        ] {
            assert!(stdout.contains(line), "missing {line:?} in demo output on {chip}:\n{stdout}");
        }
        assert!(!stdout.contains("FAILED"), "{stdout}");
    }
}

#[test]
fn unknown_chip_is_a_clear_error() {
    let out = espamp(&["demo", "--chip", "esp8266"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown chip 'esp8266'"));
}
