//! The subcore's life cycle on the maincore: load → start → (panic | stop) → reload → start.
//!
//! A port implements [`SubcorePort`]: how firmware is put in place, and how the core is
//! started and stopped. Chips and the QEMU port load image files through
//! [`ImagePort`] (the checked loader of [`crate::image::load`] plus a [`CoreControl`]
//! for the power/reset registers); the host port starts a child process.
//!
//! [`Subcore`] enforces the order: a start needs a fresh load (the previous run changed
//! `.data` and `.bss`), a load stops a running core first, and a start clears the panic
//! dump so that an old report is never read as new. After a panic, the maincore
//! re-initialises the shared state (SysInfo, queues, RPMsg) *before* the next start, as
//! at boot; the subcore is stopped meanwhile, so nothing races with it.
//!
//! ```
//! use esp_amp::system::lifecycle::{State, SubcoreHandle, SubcorePort};
//! struct Fake { running: bool }
//! impl SubcorePort for Fake {
//!     type Firmware = str;
//!     type Error = ();
//!     fn load(&mut self, _fw: &str) -> Result<(), ()> { Ok(()) }
//!     fn start(&mut self) -> Result<(), ()> { self.running = true; Ok(()) }
//!     fn stop(&mut self) { self.running = false; }
//! }
//! let mut sub = SubcoreHandle::new(Fake { running: false });
//! assert!(sub.start().is_err()); // nothing loaded
//! sub.load("app").unwrap();
//! sub.start().unwrap();
//! assert_eq!(sub.state(), State::Running);
//! sub.stop();
//! assert!(sub.start().is_err()); // a restart needs a reload
//! sub.load("app").unwrap();
//! sub.start().unwrap();
//! ```

use crate::image::load::{load as load_image, LoadError, LoadMemory, LoadTarget, Loaded};
use crate::layout::Region;
use crate::port::InterruptLine;

use super::panic::{PanicDump, PanicMonitor, PanicReport};

/// How a port loads, starts and stops its subcore.
pub trait SubcorePort {
    /// What a firmware is on this port (an image file on a chip, a program on the host).
    type Firmware: ?Sized;
    /// The port's error.
    type Error: core::fmt::Debug;
    /// Puts `firmware` in place. Called only while the core is stopped.
    fn load(&mut self, firmware: &Self::Firmware) -> Result<(), Self::Error>;
    /// Starts (releases) the core at the loaded entry point.
    fn start(&mut self) -> Result<(), Self::Error>;
    /// Stops the core; it executes nothing more until the next start.
    fn stop(&mut self);
    /// Returns the core to its reset state (default: [`SubcorePort::stop`]).
    fn reset(&mut self) {
        self.stop();
    }
}

/// Where the subcore is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Nothing loaded yet.
    Empty,
    /// Loaded, not started since.
    Loaded,
    /// Running.
    Running,
    /// Stopped by the maincore.
    Stopped,
    /// Stopped after it panicked.
    Panicked,
}

/// Why a life-cycle step was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LifecycleError<E> {
    /// `start` without a fresh `load` (state given).
    NotLoaded(State),
    /// The port failed.
    Port(E),
}

impl<E: core::fmt::Debug> core::fmt::Display for LifecycleError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LifecycleError::NotLoaded(s) => {
                write!(f, "the subcore needs a fresh load before it starts (state: {s:?})")
            }
            LifecycleError::Port(e) => write!(f, "subcore port error: {e:?}"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for LifecycleError<E> {}

/// The former name of [`SubcoreHandle`], one capital letter away from the role type
/// [`SubCore`](crate::SubCore).
#[deprecated(since = "0.1.0", note = "renamed `SubcoreHandle` (`SubCore` is the role type)")]
pub type Subcore<'r, P> = SubcoreHandle<'r, P>;

/// The maincore's handle on the subcore: its life cycle (load → start → panic or stop),
/// over a [`SubcorePort`]. Not to be confused with [`SubCore`](crate::SubCore), the role
/// type the subcore's own code uses.
pub struct SubcoreHandle<'r, P: SubcorePort> {
    port: P,
    state: State,
    dump: Option<PanicDump<'r>>,
    starts: u32,
}

impl<'r, P: SubcorePort> SubcoreHandle<'r, P> {
    /// A stopped, empty subcore. The port is reset first.
    pub fn new(mut port: P) -> Self {
        port.reset();
        SubcoreHandle { port, state: State::Empty, dump: None, starts: 0 }
    }

    /// The panic dump to clear before each start and to decode after a panic.
    pub fn with_panic_dump(mut self, dump: PanicDump<'r>) -> Self {
        self.dump = Some(dump);
        self
    }

    /// Loads `firmware`, stopping the core first if it runs.
    pub fn load(&mut self, firmware: &P::Firmware) -> Result<(), LifecycleError<P::Error>> {
        if self.state == State::Running {
            self.stop();
        }
        match self.port.load(firmware) {
            Ok(()) => {
                self.state = State::Loaded;
                Ok(())
            }
            Err(e) => {
                // Whatever was there may be half-overwritten: not startable.
                self.state = State::Empty;
                Err(LifecycleError::Port(e))
            }
        }
    }

    /// Starts the freshly loaded firmware (clearing the panic dump first).
    pub fn start(&mut self) -> Result<(), LifecycleError<P::Error>> {
        if self.state != State::Loaded {
            return Err(LifecycleError::NotLoaded(self.state));
        }
        if let Some(d) = &self.dump {
            d.clear();
        }
        self.port.start().map_err(LifecycleError::Port)?;
        self.state = State::Running;
        self.starts += 1;
        Ok(())
    }

    /// Stops the core (a no-op unless it runs).
    pub fn stop(&mut self) {
        if self.state == State::Running {
            self.port.stop();
            self.state = State::Stopped;
        }
    }

    /// Task context, after the panic interrupt: if `monitor` saw a panic, stops the core,
    /// decodes the dump and gives the report to `handler` (for example, print it), then
    /// returns `true`. Reload, re-initialise the shared state, [`PanicMonitor::rearm`] and
    /// start to recover.
    pub fn handle_panic<L: InterruptLine>(
        &mut self,
        monitor: &PanicMonitor<L>,
        handler: impl FnOnce(&PanicReport),
    ) -> bool {
        if !monitor.take() {
            return false;
        }
        self.port.stop();
        self.state = State::Panicked;
        if let Some(d) = &self.dump {
            handler(&d.read());
        }
        true
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// How many times the subcore was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// The port.
    pub fn port(&self) -> &P {
        &self.port
    }

    /// The port, mutably (for port-specific calls; the state is not tracked through it).
    pub fn port_mut(&mut self) -> &mut P {
        &mut self.port
    }
}

impl<P: SubcorePort> Drop for SubcoreHandle<'_, P> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The core's power and reset control, for [`ImagePort`].
pub trait CoreControl {
    /// The port's error.
    type Error: core::fmt::Debug;
    /// Releases the core at `entry`.
    fn start(&mut self, entry: u32) -> Result<(), Self::Error>;
    /// Halts the core.
    fn stop(&mut self);
}

/// An [`ImagePort`] error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ImagePortError<E> {
    /// The image was refused (nothing was written, see [`crate::image::load`]).
    Load(LoadError),
    /// The core control failed.
    Control(E),
    /// `start` without a successful load (the port is used without [`Subcore`]).
    NotLoaded,
}

impl<E: core::fmt::Debug> core::fmt::Display for ImagePortError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ImagePortError::Load(e) => write!(f, "image refused: {e}"),
            ImagePortError::Control(e) => write!(f, "core control failed: {e:?}"),
            ImagePortError::NotLoaded => f.write_str("start without a successful load"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for ImagePortError<E> {}

/// A [`SubcorePort`] for image files: the checked loader writes them through a
/// [`LoadMemory`], a [`CoreControl`] starts and stops the core.
///
/// The unused top of the HP region is reported once through `give_back` (the maincore may
/// add it to its heap); later loads then stay below it, so heap memory is never zeroed.
pub struct ImagePort<'a, C: CoreControl, M: LoadMemory> {
    control: C,
    mem: M,
    target: LoadTarget,
    entry: Option<u32>,
    given_back: Option<u32>,
    give_back: Option<&'a mut dyn FnMut(Region)>,
}

impl<'a, C: CoreControl, M: LoadMemory> ImagePort<'a, C, M> {
    /// A port loading into `mem` under the rules of `target`.
    pub fn new(control: C, mem: M, target: LoadTarget) -> Self {
        ImagePort { control, mem, target, entry: None, given_back: None, give_back: None }
    }

    /// Hands the HP memory above the first loaded image to `f` (once).
    pub fn give_back_unused(mut self, f: &'a mut dyn FnMut(Region)) -> Self {
        self.give_back = Some(f);
        self
    }

    /// The rules the next load is checked against.
    pub fn target(&self) -> LoadTarget {
        match self.given_back {
            Some(end) => self.target.with_hp_end(end),
            None => self.target,
        }
    }

    /// Loads and returns what the loader reported (for logging the app descriptor).
    pub fn load_image<'f>(&mut self, file: &'f [u8]) -> Result<Loaded<'f>, ImagePortError<C::Error>> {
        self.entry = None;
        let loaded = load_image(file, &self.target(), &mut self.mem).map_err(ImagePortError::Load)?;
        self.entry = Some(loaded.entry);
        if self.given_back.is_none() {
            if let (Some(unused), Some(f)) = (loaded.unused_hp, self.give_back.as_mut()) {
                self.given_back = Some(unused.start);
                f(unused);
            }
        }
        Ok(loaded)
    }

    /// The core control.
    pub fn control(&mut self) -> &mut C {
        &mut self.control
    }
}

impl<C: CoreControl, M: LoadMemory> SubcorePort for ImagePort<'_, C, M> {
    type Firmware = [u8];
    type Error = ImagePortError<C::Error>;

    fn load(&mut self, firmware: &[u8]) -> Result<(), Self::Error> {
        self.load_image(firmware).map(|_| ())
    }

    fn start(&mut self) -> Result<(), Self::Error> {
        // `Subcore` only starts after a successful load, so `entry` is set.
        let entry = self.entry.ok_or(ImagePortError::NotLoaded)?;
        self.control.start(entry).map_err(ImagePortError::Control)
    }

    fn stop(&mut self) {
        self.control.stop();
    }
}
