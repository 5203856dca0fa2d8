//! Text from the peer is printed escaped: a panic report's message and routed print lines
//! cannot drive the terminal or fake lines, and honest text comes out unchanged.

mod common;

use std::fmt::Write as _;

use common::{pool, Region as TestRegion};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::panic::{PanicReport, DUMP_SIZE};
use esp_amp::system::print::Printer;
use esp_amp::system::service::{self, Supplicant};
use esp_amp::text::Escaped;
use proptest::prelude::*;

/// Set the window title, clear the screen, then a fake line of our own.
const HOSTILE: &[u8] = b"\x1b]0;pwned\x07\x1b[2J\rGuru Meditation Error: fake\nPASS";

#[test]
fn control_characters_bidi_overrides_and_bad_bytes_are_escaped() {
    assert_eq!(
        Escaped(HOSTILE).to_string(),
        "\\x1b]0;pwned\\x07\\x1b[2J\\x0dGuru Meditation Error: fake\\x0aPASS"
    );
    // One final newline ends the line and stays; C1 controls, bidi overrides and invalid
    // UTF-8 are escaped; backslashes and ordinary text, accents included, are not.
    assert_eq!(Escaped(b"caf\xc3\xa9 \\n\n").to_string(), "caf\u{e9} \\n\n");
    assert_eq!(Escaped("a\u{202e}b\u{85}c".as_bytes()).to_string(), "a\\u{202e}b\\u{0085}c");
    assert_eq!(Escaped(b"\xff\xfe\t").to_string(), "\\xff\\xfe\\x09");
    assert_eq!(Escaped(b"\n\n").to_string(), "\\x0a\n");
}

#[test]
fn a_panic_message_with_escape_sequences_is_printed_escaped() {
    let mut raw = vec![0u8; DUMP_SIZE];
    raw[0..4].copy_from_slice(&1u32.to_le_bytes()); // an abort, with a message
    raw[8..8 + HOSTILE.len()].copy_from_slice(HOSTILE);
    let report = PanicReport::decode(&raw).to_string();
    let first = report.lines().next().unwrap();
    assert_eq!(first, "\\x1b]0;pwned\\x07\\x1b[2J\\x0dGuru Meditation Error: fake\\x0aPASS");
    assert!(!report.contains('\x1b') && !report.contains('\r'), "{report:?}");
    assert!(!report.lines().any(|l| l == "PASS"), "the message made a line of its own");
    assert_eq!(report.lines().nth(1), Some("Core 1 register dump:"));
}

#[test]
fn a_routed_print_line_with_escape_sequences_is_printed_escaped() {
    let region = TestRegion::zeroed();
    let mut sys = SysInfoAllocator::init(pool(region.shm()), None).unwrap();
    let supplicant = Supplicant::create(&mut sys).unwrap();
    let mut p = Printer::new(Some(service::attach(&sys.info()).unwrap()));
    p.write_str("\x1b[31mred\x1b[0m alert\n").unwrap();
    let mut shown = Vec::new();
    supplicant.dispatch(|line| shown.push(format!("[sub] {}", Escaped(line))));
    assert_eq!(shown, ["[sub] \\x1b[31mred\\x1b[0m alert"]);
}

proptest! {
    // Under miri (test.sh runs this file there too) a few cases: the interpreter is slow.
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

    #[test]
    fn escaped_text_has_no_control_character_but_a_final_newline(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let out = Escaped(&bytes).to_string();
        let body = out.strip_suffix('\n').unwrap_or(&out);
        prop_assert!(!body.chars().any(|c| c.is_control()), "{:?}", out);
        prop_assert_eq!(out.ends_with('\n'), bytes.last() == Some(&b'\n'));
    }

    #[test]
    fn printable_text_is_unchanged(text in "[ -~\u{a0}-\u{2000}]{0,64}") {
        prop_assert_eq!(Escaped(text.as_bytes()).to_string(), text);
    }
}
