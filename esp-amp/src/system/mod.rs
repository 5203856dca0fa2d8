//! The system services around the IPC layers (docs/protocol.md §8): firmware life cycle, the service
//! queue with print routing, panic reports and light-sleep coordination.
//!
//! - [`lifecycle`]: the [`lifecycle::SubcorePort`] a port implements (load, start, stop)
//!   and the maincore's [`lifecycle::SubcoreHandle`] handle: load → start → (panic | stop) →
//!   reload → start;
//! - [`service`]: the system service queue (SysInfo 0xFF04) and the maincore's
//!   [`service::Supplicant`];
//! - [`print`]: the subcore's `print!`/`println!` through that queue;
//! - [`mod@panic`]: the panic dump, the subcore's panic path and the maincore's decoder;
//! - [`sleep`]: the light-sleep counter and guard (LP cores).

pub mod lifecycle;
pub mod panic;
pub mod print;
pub mod service;
pub mod sleep;
