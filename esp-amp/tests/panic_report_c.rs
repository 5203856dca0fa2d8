//! The panic report is C's default handler's text, byte for byte (`subcore_panic_print` in
//! ESP-AMP C's `esp_amp_panic.c`), for abort and exception dumps, LP and P4 frames, and
//! stack lengths that end on and inside a line.
//!
//! `c_report` below writes a dump the way the C function does, one `print_char` at a time
//! (its only difference: the P4 CSR block is read from the dump, where C reads from the
//! address of a local pointer; see `esp_amp::system::panic`). One literal text anchors
//! `c_report` itself.

use esp_amp::system::panic::{PanicReport, DUMP_SIZE};

const DESC: [&str; 37] = [
    "MEPC    ", "RA      ", "SP      ", "GP      ", "TP      ", "T0      ", "T1      ", "T2      ",
    "S0/FP   ", "S1      ", "A0      ", "A1      ", "A2      ", "A3      ", "A4      ", "A5      ",
    "A6      ", "A7      ", "S2      ", "S3      ", "S4      ", "S5      ", "S6      ", "S7      ",
    "S8      ", "S9      ", "S10     ", "S11     ", "T3      ", "T4      ", "T5      ", "T6      ",
    "MSTATUS ", "MTVEC   ", "MCAUSE  ", "MTVAL   ", "MHARTID ",
];
const EXTRA_DESC: [&str; 10] = [
    "LDPC0   ", "LDTVAL0 ", "LDPC1   ", "LDTVAL1 ", "STPC0   ", "STTVAL0 ", "STPC1   ", "STTVAL1 ",
    "STPC2   ", "STTVAL2 ",
];

fn word(raw: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(raw[off..off + 4].try_into().unwrap())
}

/// C's `reason[]`: the P4's table is the standard RISC-V names; the LP build keeps only
/// entries 2..=7 (NULL at 0 and 1, and the table ends at 8). NULL entries and causes past
/// the table are "Unhandled ...".
fn reason(mcause: u32, p4: bool) -> &'static str {
    const HP: [Option<&str>; 16] = [
        Some("Instruction address misaligned"),
        Some("Instruction access fault"),
        Some("Illegal instruction"),
        Some("Breakpoint"),
        Some("Load address misaligned"),
        Some("Load access fault"),
        Some("Store address misaligned"),
        Some("Store access fault"),
        Some("Environment call from U-mode"),
        Some("Environment call from S-mode"),
        None,
        Some("Environment call from M-mode"),
        Some("Instruction page fault"),
        Some("Load page fault"),
        None,
        Some("Store page fault"),
    ];
    let in_table = p4 || (2..8).contains(&mcause);
    let name = if in_table { HP.get(mcause as usize).copied().flatten() } else { None };
    name.unwrap_or("Unhandled interrupt/Unknown cause")
}

/// The C function, transliterated: every character it prints, in order.
fn c_report(raw: &[u8], p4: bool) -> String {
    let mut out = String::new();
    let hex = |out: &mut String, h: u32| {
        for x in 0..8 {
            let c = (h >> (28 - 4 * x)) & 0xf;
            out.push(char::from_digit(c, 16).unwrap());
        }
    };
    let frame = |i: usize| word(raw, 0x100 + 4 * i);
    if word(raw, 0) != 0 {
        for &b in raw[8..].iter().take_while(|&&b| b != 0) {
            out.push(b as char);
        }
        out.push('\n');
    } else {
        out.push_str("Guru Meditation Error: ON Subcore panic'ed ");
        out.push_str(reason(frame(34), p4));
        out.push('\n');
    }
    out.push_str("Core 1 register dump:\n");
    for (x, d) in DESC.iter().enumerate() {
        out.push_str(d);
        out.push_str(": 0x");
        hex(&mut out, frame(x));
        out.push(if (x + 1) % 4 != 0 { ' ' } else { '\n' });
    }
    if p4 {
        out.push('\n');
        for (x, d) in EXTRA_DESC.iter().enumerate() {
            out.push_str(d);
            out.push_str(": 0x");
            hex(&mut out, frame(37 + x));
            out.push(if (x + 1) % 4 != 0 { ' ' } else { '\n' });
        }
    }
    let sp = frame(2);
    let len = word(raw, 4).min(1024) as usize;
    out.push_str("\n\nStack memory:\n");
    let mut i = 0;
    while i < len {
        hex(&mut out, sp.wrapping_add(i as u32));
        out.push_str(": ");
        for y in 0..8 {
            out.push_str("0x");
            hex(&mut out, word(raw, 0x200 + i + 4 * y));
            out.push(if y == 7 { '\n' } else { ' ' });
        }
        i += 32;
    }
    out.push('\n');
    out.push_str("ELF file SHA256: No SHA256 Embedded\n");
    out
}

/// A dump with distinct values everywhere: registers, the whole stack area (so words past
/// the dumped length are not zero), an abort message or an exception cause.
fn dump(abort: bool, stack_len: u32, mcause: u32, seed: u32) -> Vec<u8> {
    let mut raw = vec![0u8; DUMP_SIZE];
    raw[0..4].copy_from_slice(&u32::from(abort).to_le_bytes());
    raw[4..8].copy_from_slice(&stack_len.to_le_bytes());
    let msg = b"assert failed on subcore: main src/main.rs:42 (x == 1)";
    raw[8..8 + msg.len()].copy_from_slice(msg);
    for i in 0..47 {
        let v = seed.wrapping_mul(2_654_435_761).wrapping_add(i as u32 * 0x0101_0101);
        raw[0x100 + 4 * i..0x104 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    raw[0x100 + 8..0x100 + 12].copy_from_slice(&0x5000_3870u32.to_le_bytes()); // SP
    raw[0x100 + 4 * 34..0x100 + 4 * 35].copy_from_slice(&mcause.to_le_bytes());
    for (i, b) in raw[0x200..0x600].iter_mut().enumerate() {
        *b = (i as u32 ^ seed) as u8;
    }
    raw
}

#[test]
fn every_variant_matches_c_byte_for_byte() {
    // Under miri (test.sh runs this file there too) a subset: formatting 80 whole reports
    // takes minutes in the interpreter.
    let (lens, causes): (&[u32], &[u32]) =
        if cfg!(miri) { (&[4, 208], &[5]) } else { (&[0, 4, 208, 1024, 5000], &[2, 5, 13, 0x8000_001e]) };
    let mut seen = 0;
    for p4 in [false, true] {
        for abort in [true, false] {
            for &stack_len in lens {
                for &mcause in causes {
                    let raw = dump(abort, stack_len, mcause, stack_len ^ mcause);
                    let ours = PanicReport::decode(&raw).with_p4_extra(p4).to_string();
                    let c = c_report(&raw, p4);
                    assert_eq!(ours, c, "p4={p4} abort={abort} stack_len={stack_len} mcause={mcause:#x}");
                    seen += 1;
                }
            }
        }
    }
    assert_eq!(seen, 2 * 2 * lens.len() * causes.len());
}

#[test]
fn the_c_rules_themselves_on_one_literal_dump() {
    // An LP exception, all registers 0 but SP, MCAUSE 3 and MHARTID 1, 4 stack bytes.
    let mut raw = vec![0u8; DUMP_SIZE];
    raw[4..8].copy_from_slice(&4u32.to_le_bytes());
    raw[0x108..0x10C].copy_from_slice(&0x5000_3870u32.to_le_bytes());
    raw[0x100 + 4 * 34..0x100 + 4 * 35].copy_from_slice(&3u32.to_le_bytes());
    raw[0x100 + 4 * 36..0x100 + 4 * 37].copy_from_slice(&1u32.to_le_bytes());
    raw[0x200..0x204].copy_from_slice(&0x4086_de00u32.to_le_bytes());
    raw[0x204..0x208].copy_from_slice(&0xdead_beefu32.to_le_bytes()); // past the length
    let z = "0x00000000";
    let regs = |names: [&str; 4]| {
        format!("{:<8}: {z} {:<8}: {z} {:<8}: {z} {:<8}: {z}\n", names[0], names[1], names[2], names[3])
    };
    let mut want =
        String::from("Guru Meditation Error: ON Subcore panic'ed Breakpoint\nCore 1 register dump:\n");
    want += &format!("MEPC    : {z} RA      : {z} SP      : 0x50003870 GP      : {z}\n");
    for names in [
        ["TP", "T0", "T1", "T2"],
        ["S0/FP", "S1", "A0", "A1"],
        ["A2", "A3", "A4", "A5"],
        ["A6", "A7", "S2", "S3"],
        ["S4", "S5", "S6", "S7"],
        ["S8", "S9", "S10", "S11"],
        ["T3", "T4", "T5", "T6"],
    ] {
        want += &regs(names);
    }
    want += &format!("MSTATUS : {z} MTVEC   : {z} MCAUSE  : 0x00000003 MTVAL   : {z}\n");
    want += "MHARTID : 0x00000001 \n\nStack memory:\n";
    want += &format!("50003870: 0x4086de00 0xdeadbeef {z} {z} {z} {z} {z} {z}\n");
    want += "\nELF file SHA256: No SHA256 Embedded\n";
    assert_eq!(c_report(&raw, false), want);
    assert_eq!(PanicReport::decode(&raw).to_string(), want);
}
