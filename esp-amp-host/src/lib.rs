//! # esp-amp-host
//!
//! The host (`std`, Linux) port of esp-amp: run a maincore and a subcore on a PC, as two
//! threads or two processes, over the same portable protocol code that runs on the chip.
//!
//! - [`HostRegion`]: the shared memory, a memfd or a named file mapped `MAP_SHARED`, at
//!   any local address, with the device addresses of a chip layout (default: ESP32-C6);
//! - [`HostCore`]: one core's port: an interrupt line per direction built on a futex
//!   doorbell (a sleeping core wakes without busy-waiting), interrupt delivery on a
//!   thread, a millisecond clock;
//! - [`firmware`]: build a bare-metal firmware crate (a subcore image) for a RISC-V target;
//! - `harness` (feature `harness`): the project's test and measurement programs on this
//!   port: self-checking RPMsg traffic, the RPC example client and server, the soak run;
//! - [`subcore`]: the life-cycle port (the subcore firmware is a child process) and the
//!   subcore's panic hook;
//! - [`spawn_subcore`]: start a subcore child process after the maincore set the region up.
//!
//! ```
//! use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
//! use esp_amp::sw_intr::{SwIntr, SwIntrId};
//! use esp_amp::sys_info::SysInfoAllocator;
//! use esp_amp::{MainCore, SubCore};
//! use esp_amp_host::{HostCore, HostRegion, Side};
//! use std::sync::atomic::{AtomicU32, Ordering};
//!
//! let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6)).unwrap();
//! let region = HostRegion::create(&layout).unwrap();
//! // Maincore: initialise everything before the subcore starts.
//! let main_core = HostCore::new(&region, Side::Main);
//! let _sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool()).unwrap();
//! let main_sw: SwIntr<'_, MainCore, _> = SwIntr::init(region.sw_intr_header(), &main_core).unwrap();
//! // Subcore (here a thread; see `spawn_subcore` for a process).
//! let sub_core = HostCore::new(&region, Side::Sub);
//! let sub_sw: SwIntr<'_, SubCore, _> = SwIntr::attach(region.sw_intr_header(), &sub_core).unwrap();
//! let hits = AtomicU32::new(0);
//! let on_irq = |_id: SwIntrId| { hits.fetch_add(1, Ordering::SeqCst); };
//! sub_sw.add_handler(SwIntrId::user(2).unwrap(), &on_irq).unwrap();
//! std::thread::scope(|s| {
//!     let _irq = sub_core.spawn_interrupts(s, || { sub_sw.isr(); }); // stops when dropped
//!     main_sw.trigger(SwIntrId::user(2).unwrap());
//!     while hits.load(Ordering::SeqCst) == 0 { std::thread::yield_now(); }
//! });
//! ```

#![deny(missing_docs)]

pub mod firmware;
#[cfg(feature = "harness")]
#[cfg_attr(docsrs, doc(cfg(feature = "harness")))]
pub mod harness;
pub mod host_core;
pub mod region;
pub mod subcore;

pub use crate::host_core::{HostCore, InterruptDelivery, InterruptsBound, Side};
pub use crate::region::{HostLayout, HostRegion, RegionSnapshot, ENV_REGION_PATH};
pub use esp_amp::port::AlreadyBound;

use std::io;
use std::process::{Child, Command};

/// Starts `cmd` as the subcore process, telling it where the region is
/// (through [`ENV_REGION_PATH`]; the child calls [`HostRegion::open_from_env`]).
/// As on the chip, call it only after the maincore has initialised the region.
pub fn spawn_subcore(cmd: &mut Command, region: &HostRegion) -> io::Result<Child> {
    cmd.env(ENV_REGION_PATH, region.path()).spawn()
}
