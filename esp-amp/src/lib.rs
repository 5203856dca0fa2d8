//! # esp-amp
//!
//! The portable, `no_std`, allocation-free core of ESP-AMP for Rust: asymmetric
//! multiprocessing between a *maincore* and a *subcore* that share memory, byte-compatible
//! with Espressif's C implementation.
//!
//! Layers, bottom-up:
//! - [`shm`]: a checked window onto the shared region (device addresses ↔ local pointers);
//! - [`layout`]: the per-SoC memory map computed from a Kconfig-like config;
//! - [`sys_info`]: the shared-memory directory (id → block);
//! - [`sw_intr`]: 32 software interrupts per direction over one hardware line;
//! - [`event`]: 32-bit event words with notify / wait (all, any, clear, timeout, async);
//! - [`queue`]: the single-producer single-consumer packed virtqueue, zero-copy guards;
//! - [`payload`]: volatile views of payload bytes the peer may write;
//! - [`rpmsg`]: endpoints over a queue pair, copy and zero-copy, callback or mailbox;
//! - [`signal`]: waking async receivers from a software interrupt;
//! - [`port`]: the traits a port implements (interrupt line, time, idling);
//! - [`inspect`]: read-only views of queues and RPMsg devices, for tools and tests;
//! - [`image`]: subcore firmware images (ESP app image, ELF), checked and loaded;
//! - [`system`]: life cycle, service queue and print routing, panic reports, light sleep.
//!
//! The peer core is never trusted: every address, length and id read from shared memory
//! is checked before use; bad data yields an error, never undefined behaviour or a panic.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
// docs.rs (`--cfg docsrs`, nightly) labels feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bytes;
pub mod event;
pub mod image;
pub mod inspect;
pub mod layout;
pub mod payload;
pub mod port;
pub mod queue;
pub mod role;
pub mod rpc;
pub mod rpmsg;
pub mod shm;
pub mod signal;
pub mod sw_intr;
pub mod sys_info;
pub mod system;
pub mod text;
pub mod word;

pub use role::{MainCore, Role, SubCore};
