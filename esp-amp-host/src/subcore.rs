//! The host's subcore life cycle: the "firmware" is a program, started as a child process
//! once the maincore has initialised the region ([`ProcessPort`]), and the subcore's
//! panic path is a panic hook ([`install_panic_hook`]).

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use esp_amp::system::lifecycle::SubcorePort;
use esp_amp::system::panic::{report_panic, set_panic_sink, PanicSink};

use crate::region::{HostRegion, ENV_REGION_PATH};

/// A host "firmware image": a program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFirmware {
    /// The program to start.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl HostFirmware {
    /// `program` without arguments.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        HostFirmware { program: program.into(), args: Vec::new() }
    }

    /// Adds an argument.
    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }
}

/// A [`SubcorePort`] whose subcore is a child process that opens the region through
/// [`ENV_REGION_PATH`]. Stop kills the process (a stopped core executes nothing more).
pub struct ProcessPort<'r> {
    region: &'r HostRegion,
    firmware: Option<HostFirmware>,
    child: Option<Child>,
    last_exit: Option<ExitStatus>,
}

impl<'r> ProcessPort<'r> {
    /// A port for subcores of `region`.
    pub fn new(region: &'r HostRegion) -> Self {
        ProcessPort { region, firmware: None, child: None, last_exit: None }
    }

    /// The running child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits up to `timeout` for the subcore to end on its own; its exit status, or `None`
    /// if it still runs (or never ran).
    pub fn wait_exit(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let start = Instant::now();
        loop {
            let Some(child) = self.child.as_mut() else { return Ok(self.last_exit) };
            if let Some(status) = child.try_wait()? {
                self.child = None;
                self.last_exit = Some(status);
                return Ok(Some(status));
            }
            if start.elapsed() >= timeout {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl SubcorePort for ProcessPort<'_> {
    type Firmware = HostFirmware;
    type Error = io::Error;

    fn load(&mut self, firmware: &HostFirmware) -> io::Result<()> {
        if !firmware.program.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("subcore program {} not found", firmware.program.display()),
            ));
        }
        self.firmware = Some(firmware.clone());
        Ok(())
    }

    fn start(&mut self) -> io::Result<()> {
        let fw = self.firmware.as_ref().ok_or_else(|| io::Error::other("nothing loaded"))?;
        let child =
            Command::new(&fw.program).args(&fw.args).env(ENV_REGION_PATH, self.region.path()).spawn()?;
        self.child = Some(child);
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            self.last_exit = child.wait().ok();
        }
    }
}

impl Drop for ProcessPort<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Subcore process: makes a Rust panic the subcore's panic path, as the `panic-handler`
/// feature does on bare metal: the message goes to the dump with `is_abort = 1`,
/// `sink.notify` raises software interrupt 28, and the panicking thread then waits to be
/// stopped by the maincore.
pub fn install_panic_hook(sink: PanicSink) {
    set_panic_sink(sink);
    std::panic::set_hook(Box::new(|info| {
        let p = info.payload();
        let msg = p.downcast_ref::<&str>().copied().or(p.downcast_ref::<String>().map(String::as_str));
        let msg = msg.unwrap_or("(non-string payload)");
        let (file, line) = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
        report_panic(file, line, Some(format_args!("{msg}")));
        loop {
            std::thread::park();
        }
    }));
}
