//! `espamp panic decode` with the real RISC-V fixture ELF: the report, and a backtrace that
//! names the fixture's functions and source lines.

mod common;

use std::path::PathBuf;

use common::{espamp, fixture_elf, tmp_path};

use esp_amp::shm::Shm;
use esp_amp::system::panic::{PanicDump, DUMP_SIZE, FRAME_WORDS};
use object::{Object, ObjectSymbol};
use serde_json::Value;

/// Address and size of a function symbol of the fixture.
fn symbol(name: &str) -> (u32, u32) {
    let bytes = std::fs::read(fixture_elf()).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let s = file.symbols().find(|s| s.name() == Ok(name)).unwrap_or_else(|| panic!("no symbol {name}"));
    (s.address() as u32, s.size() as u32)
}

/// A dump region written by the library's own subcore-side writer.
fn dump_file(name: &str, write: impl FnOnce(&PanicDump<'_>)) -> PathBuf {
    let mut words = vec![0u32; DUMP_SIZE / 4];
    // SAFETY: `words` is 4-byte aligned, DUMP_SIZE bytes long, and only accessed through
    // this handle until it is dropped at the end of the function.
    let shm = unsafe { Shm::from_raw(words.as_mut_ptr().cast(), 0x4087_E560, DUMP_SIZE as u32) };
    write(&PanicDump::new(shm).unwrap());
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let path = tmp_path(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A store access fault at `tiny_step + 4`, called from `tiny_main` (RA), with a stale
/// return address into `tiny_main` and some data words on the stack, written to `file`
/// (one name per test: the tests run in parallel).
fn exception_dump(file: &str) -> (PathBuf, u32, u32) {
    let (step, _) = symbol("tiny_step");
    let (main, main_size) = symbol("tiny_main");
    assert!(main_size > 8, "tiny_main is {main_size} bytes");
    let mut regs = [0u32; FRAME_WORDS];
    regs[0] = step + 4; // MEPC
    regs[1] = main + 8; // RA
    regs[2] = 0x5000_3F00; // SP
    regs[34] = 7; // MCAUSE: store access fault
    let stack: Vec<u8> =
        [0x1234_5678u32, main + 6, 0, 0xFFFF_FFFF].iter().flat_map(|w| w.to_le_bytes()).collect();
    let path = dump_file(file, |d| {
        d.write_frame(&regs, &stack);
        d.mark_exception();
    });
    (path, step, main)
}

#[test]
fn decode_names_functions_and_lines_from_the_elf() {
    let (dump, step, main) = exception_dump("exception-decode.bin");
    let elf = fixture_elf().to_str().unwrap();
    let out = espamp(&["panic", "decode", dump.to_str().unwrap(), "--elf", elf]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Guru Meditation Error: ON Subcore panic'ed Store access fault"), "{text}");
    assert!(text.contains(&format!("MEPC    : 0x{:08x}", step + 4)), "{text}");
    // Frame 0 may start with functions inlined into tiny_step (volatile reads), innermost
    // first; tiny_step itself closes it.
    let frame0 = text.split("#0  ").nth(1).and_then(|t| t.split("#1").next()).unwrap_or("");
    assert!(frame0.starts_with(&format!("0x{:08x} pc ", step + 4)), "{text}");
    assert!(frame0.contains(" tiny_step at ") && frame0.contains("tiny-subcore/src/main.rs:"), "{text}");
    assert!(text.contains(&format!("#1  0x{:08x} ra               tiny_main at ", main + 8)), "{text}");
    assert!(text.contains(&format!("#2  0x{:08x} stack 0x50003f04 tiny_main at ", main + 6)), "{text}");
    assert!(!text.contains("#3"), "only code addresses are frames: {text}");

    let out = espamp(&["panic", "decode", dump.to_str().unwrap(), "--elf", elf, "--json"]);
    assert!(out.status.success());
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["is_abort"], false);
    assert_eq!(j["message"], "Store access fault");
    assert_eq!(j["mcause"], 7);
    let bt = j["backtrace"].as_array().unwrap();
    assert_eq!(bt.len(), 3);
    let f0 = bt[0]["functions"].as_array().unwrap().last().unwrap();
    assert_eq!(f0["name"], "tiny_step");
    assert!(f0["file"].as_str().unwrap().ends_with("src/main.rs"), "{f0}");
    assert!(f0["line"].as_u64().unwrap() > 0);
    assert_eq!(bt[2]["source"], "stack");
    assert_eq!(bt[2]["stack_addr"], 0x5000_3F04u32);
}

#[test]
fn an_abort_shows_its_message_and_works_without_an_elf() {
    let dump = dump_file("abort.bin", |d| {
        d.write_abort(format_args!("panicked at src/main.rs:7: index out of range"))
    });
    let out = espamp(&["panic", "decode", dump.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.starts_with("panicked at src/main.rs:7: index out of range\nCore 1 register dump:"),
        "{text}"
    );
    assert!(text.contains("(no --elf given: no backtrace)"), "{text}");
}

#[test]
fn bad_inputs_are_clear_errors() {
    let (dump, _, _) = exception_dump("exception-refusals.bin");
    let short = tmp_path("short-dump.bin");
    std::fs::write(&short, [1u8; 100]).unwrap();
    let empty = dump_file("empty-dump.bin", |_| {});
    let host_exe = env!("CARGO_BIN_EXE_espamp");
    let cases: [(&[&str], &str); 4] = [
        (&[short.to_str().unwrap()], "100 bytes is too short for a panic dump"),
        (&[empty.to_str().unwrap()], "the dump is empty"),
        (&[dump.to_str().unwrap(), "--elf", host_exe], "not a RISC-V 32 subcore"),
        (&[dump.to_str().unwrap(), "--elf", "/nonexistent.elf"], "/nonexistent.elf"),
    ];
    for (args, want) in cases {
        let mut all = vec!["panic", "decode"];
        all.extend_from_slice(args);
        let out = espamp(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
