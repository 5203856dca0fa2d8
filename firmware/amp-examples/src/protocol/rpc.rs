//! What the two halves of the `rpc` pair agree on (included by both): endpoints and
//! commands, raw and typed.
// Each half uses only part of it.
#![allow(dead_code)]

use esp_amp::rpc::typed::Command;

/// The subcore's server and client endpoints.
pub const SUB_SERVER: u16 = 0x30;
pub const SUB_CLIENT: u16 = 0x31;
/// The subcore's echo endpoint: every message there goes back to its sender unchanged
/// (for the async maincore, `embassy_echo`, whose echo task runs beside its RPC tasks).
pub const SUB_ECHO: u16 = 0x32;
/// The maincore's server and client endpoints.
pub const MAIN_SERVER: u16 = 0x40;
pub const MAIN_CLIENT: u16 = 0x41;

/// Subcore service, raw bytes: two little-endian `u16`s in, their wrapping sum out.
pub const ADD: u16 = 0x10;
/// A command nobody serves (answered `INVALID_CMD`).
pub const UNKNOWN: u16 = 0x7777;

/// Subcore service, typed: integer division (`EXEC_FAILED` for a zero divisor).
pub struct Div;
impl Command for Div {
    const ID: u16 = 0x20;
    type Request = (i32, i32);
    type Response = i32;
}

/// Maincore service, typed: the subcore says it is serving (its protocol version).
pub struct Hello;
impl Command for Hello {
    const ID: u16 = 0x50;
    type Request = u32;
    type Response = u32;
}

/// Maincore service, typed: Fibonacci number `n` (`EXEC_FAILED` beyond `u64`).
pub struct Fib;
impl Command for Fib {
    const ID: u16 = 0x51;
    type Request = u32;
    type Response = u64;
}

/// Maincore service, typed: the subcore's verdict on its own calls (good, wrong).
pub struct Report;
impl Command for Report {
    const ID: u16 = 0x52;
    type Request = (u32, u32);
    type Response = ();
}

/// Calls each side makes to the other, with up to `IN_FLIGHT` outstanding.
pub const CALLS: u32 = 300;
pub const IN_FLIGHT: usize = 4;
pub const VERSION: u32 = 1;

pub fn fib(n: u32) -> Option<u64> {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        let next = a.checked_add(b)?;
        a = b;
        b = next;
    }
    Some(a)
}

/// The division the maincore asks for in call `k` (every 10th divides by zero).
pub fn div_args(k: u32) -> (i32, i32) {
    (k as i32 * 1009 - 70_000, (k % 10) as i32 - 3)
}
