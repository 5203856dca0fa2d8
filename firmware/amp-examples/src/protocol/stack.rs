//! What the two halves of the `stack` pair agree on (included by both).

/// The subcore's RPC server endpoint and the maincore's client endpoint.
pub const SUB_SERVER: u16 = 0x50;
pub const MAIN_CLIENT: u16 = 0x51;
/// Subcore service, raw bytes: two bytes in, their wrapping sum (one byte) out.
pub const SUM: u16 = 0x01;
/// A command nobody serves (answered `INVALID_CMD`).
pub const UNKNOWN: u16 = 0x7777;
/// Maincore → subcore event bit: start.
pub const GO: u32 = 1 << 0;
/// Subcore → maincore event bit: the server is up.
pub const READY: u32 = 1 << 0;
/// Sequential calls the maincore makes.
pub const CALLS: u32 = 200;
