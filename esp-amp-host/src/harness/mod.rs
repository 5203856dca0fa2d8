//! Test and measurement harnesses (feature `harness`): programs built on the host port
//! that exercise the protocol end to end. They are not part of the port's API: the
//! project's own tools use them (`espamp demo`, `cargo xtask soak`, the cross-process
//! tests, the `ipc` benchmark, the `rpc_*` examples), and turn the feature on.
//!
//! - [`traffic`]: self-checking RPMsg message streams (lengths, contents and a checksum
//!   derived from the sequence number), and a pump that sends and checks them;
//! - [`rpc_example`]: the RPC example client and server, runnable on either core;
//! - [`soak`]: the soak run, every service at once in both directions for a set time.

pub mod rpc_example;
pub mod soak;
pub mod traffic;
