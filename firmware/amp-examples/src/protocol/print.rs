//! What the two halves of the `print` pair agree on (included by both).
// Each half uses only part of it.
#![allow(dead_code)]

/// What the subcore prints before the service queue is attached (through its port's
/// fallback, if any; `println!` adds the newline).
pub const FALLBACK_LINE: &str = "[hart 1 fallback] before the service queue is attached";

/// Numbered lines the subcore prints.
pub const LINES: u32 = 200;
/// The long line: this many characters, sent as pieces of at most 123.
pub const LONG: usize = 300;
/// The software interrupt the maincore raises to make the subcore print from its handler.
pub const PING_INTR: u8 = 0;
/// How often.
pub const PINGS: u32 = 5;

/// A check value for line `i`, so the maincore can tell a garbled line.
pub fn check_value(i: u32) -> u32 {
    i.wrapping_mul(0x9E37_79B9).rotate_left(7)
}

/// Character `i` of the long line.
pub fn long_char(i: usize) -> char {
    (b'a' + (i % 26) as u8) as char
}
