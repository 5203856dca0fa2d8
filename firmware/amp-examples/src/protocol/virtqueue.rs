//! What the two halves of the `virtqueue` pair agree on (included by both).
// Each half uses only part of it.
#![allow(dead_code)]

use esp_amp::queue::QueueSpec;
use esp_amp::sw_intr::SwIntrId;
use esp_amp::sys_info::SysInfoId;

/// Maincore → subcore queue, and the interrupt its producer raises.
pub const DOWN: SysInfoId = SysInfoId(0x0200);
pub const DOWN_INTR: u8 = 0;
/// Subcore → maincore queue, and the interrupt its producer raises.
pub const UP: SysInfoId = SysInfoId(0x0201);
pub const UP_INTR: u8 = 1;
/// Messages each way.
pub const MESSAGES: u32 = 2000;
/// The subcore holds up to this many received buffers and frees them newest first.
pub const HELD: usize = 3;
/// Every this many messages the subcore drops a reply buffer unsent (it must come back).
pub const DROP_EVERY: u32 = 97;
/// A reply: sequence number, byte sum of the request, request length.
pub const REPLY_LEN: usize = 10;

pub fn spec() -> QueueSpec {
    QueueSpec::new(16, 64).unwrap()
}

pub fn intr(n: u8) -> SwIntrId {
    SwIntrId::user(n).unwrap()
}

/// Length of request `k`: 4..=60 bytes (the sequence number, then a pattern).
pub fn request_len(k: u32) -> usize {
    4 + (k as usize * 7) % 57
}

/// Byte `i` (≥ 4) of request `k`.
pub fn pattern(k: u32, i: usize) -> u8 {
    (k as usize).wrapping_mul(31).wrapping_add(i) as u8
}
