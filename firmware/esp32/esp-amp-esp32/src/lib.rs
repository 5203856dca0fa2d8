//! esp-amp maincore port for the ESP32-C6 and ESP32-C5 (the subcore is the LP core) and the
//! ESP32-P4 (the subcore is HP core 1), on esp-hal 1.2. The chip is a cargo feature.
//!
//! - [`SubcoreLine`]: the software-interrupt line.
//!   - C6/C5 ([`PmuLine`]): raise = `PMU.HP_LP_CPU_COMM.HP_TRIGGER_LP`; the maincore's own
//!     interrupt is the PMU interrupt (`PMU.INT_*.SW`), bound at priority 2.
//!   - P4 ([`FromCpuLine`]): raise = `FROM_CPU_INTR3`; the maincore's own interrupt is
//!     `FROM_CPU_INTR2`, bound at priority 1.
//!
//!   [`bind_interrupt`] binds it at the C version's level, masked until
//!   [`with_interrupts`].
//! - [`EspPlatform`]: time from esp-hal's system timer, idling in `wfi`.
//! - [`SubcoreControl`]: start and stop of the subcore.
//!   - C6/C5 ([`LpCoreControl`]): wake-up by the HP CPU, then a trigger; stop = sleep
//!     request with wake-up disabled, as IDF's `ulp_lp_core_run` / `ulp_lp_core_stop`.
//!   - P4 ([`Hp1CoreControl`]): cache write-back, unstall, clock, reset release, ROM boot
//!     address; stop really stops the core (the C version's does nothing on the P4).
//! - [`subcore`]: the subcore behind the project's checked loader (its regions of the
//!   layout) and the panic dump.
//! - The shared regions ([`sys_info_pool`], [`rtc_pool`], [`sw_intr_header`],
//!   [`panic_dump`]) at the addresses of [`layout`], which the build script computes from
//!   the same configuration as the subcore runtime's.
//!
//! An application links with `-Tlinkall.x -Tesp_amp_main.x`: the second script checks at
//! link time that the maincore image stays out of the AMP regions (and, on the C6/C5, out
//! of RTC fast memory); on the P4 it also moves the maincore's stack above them (see
//! `build.rs`).
//!
//! ```ignore
//! let p = esp_hal::init(esp_hal::Config::default());
//! let mut sys = SysInfoAllocator::init(esp_amp_esp32::sys_info_pool(), esp_amp_esp32::rtc_pool())?;
//! let sw: SwIntr<'_, MainCore, _> = SwIntr::init(esp_amp_esp32::sw_intr_header(), SubcoreLine::default())?;
//! esp_amp_esp32::bind_interrupt();
//! let mut sub = esp_amp_esp32::subcore(p.LP_CORE); // P4: (p.CPU_CTRL, p.FROM_CPU_INTR2, p.FROM_CPU_INTR3)
//! sub.load(SUBCORE_IMAGE)?;
//! sub.start()?;
//! esp_amp_esp32::with_interrupts(&|| { sw.isr(); }, || { /* talk to the subcore */ });
//! ```
#![no_std]
#![deny(missing_docs)]

#[cfg(not(any(feature = "esp32c6", feature = "esp32c5", feature = "esp32p4")))]
compile_error!("esp-amp-esp32: enable one chip feature: `esp32c6`, `esp32c5` or `esp32p4`");

use esp_amp::image::load::{LoadTarget, RawMemory};
use esp_amp::layout::{AmpConfig, Chip, MemoryLayout, Region};
use esp_amp::port::{InterruptLine, Platform};
use esp_amp::shm::Shm;
use esp_amp::sw_intr::SwIntr;
use esp_amp::system::lifecycle::{ImagePort, SubcoreHandle};
use esp_amp::system::panic::PanicDump;
use esp_amp::MainCore;
use esp_amp_riscv::{HandlerSlot, IrqEpoch};
use esp_hal::timer::OneShotTimer;
use esp_hal::Blocking;

#[cfg(feature = "esp32p4")]
mod hp1;
#[cfg(any(feature = "esp32c6", feature = "esp32c5"))]
mod lp;

#[cfg(feature = "esp32p4")]
pub use hp1::{bind_interrupt, hp1_running, ControlError, FromCpuLine, Hp1CoreControl};
#[cfg(any(feature = "esp32c6", feature = "esp32c5"))]
pub use lp::{bind_interrupt, ControlError, LpCoreControl, PmuLine};

/// This chip's software-interrupt line towards the subcore.
#[cfg(any(feature = "esp32c6", feature = "esp32c5"))]
pub type SubcoreLine = PmuLine;
/// This chip's software-interrupt line towards the subcore.
#[cfg(feature = "esp32p4")]
pub type SubcoreLine = FromCpuLine;
/// This chip's start and stop of the subcore.
#[cfg(any(feature = "esp32c6", feature = "esp32c5"))]
pub type SubcoreControl = LpCoreControl;
/// This chip's start and stop of the subcore.
#[cfg(feature = "esp32p4")]
pub type SubcoreControl = Hp1CoreControl;

/// The layout constants of this build (chip, configuration, region addresses).
pub mod layout {
    use super::{AmpConfig, Chip, Region};
    include!(concat!(env!("OUT_DIR"), "/layout.rs"));
}

/// The ESP app image of subcore binary `$bin`, built, checked and written to `OUT_DIR` by
/// the maincore crate's build script with [esp-amp-build](https://docs.rs/esp-amp-build)
/// (`esp_amp_build::SubcoreCrate::new("../subcore").build()`), as a `&'static [u8]`.
///
/// ```ignore
/// static SUBCORE_IMAGE: &[u8] = esp_amp_esp32::include_subcore!("rpmsg_echo");
/// let mut sub = esp_amp_esp32::subcore(peripherals.LP_CORE);
/// sub.load(SUBCORE_IMAGE)?;
/// ```
///
/// A name the build script did not produce fails the build ("couldn't read
/// …/esp-amp-subcore/<bin>.bin"): check the subcore package's binary names.
#[macro_export]
macro_rules! include_subcore {
    ($bin:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/esp-amp-subcore/", $bin, ".bin"))
    };
}

/// The memory layout of this build: the same one the subcore image was linked for, when both
/// are built in one environment (the loader checks: an image built with another
/// configuration is refused with the option that differs, see
/// `esp_amp::layout::ConfigRecord`).
pub fn memory_layout() -> MemoryLayout {
    // The build script computed this layout from the same chip and configuration and
    // failed the build if it was invalid.
    MemoryLayout::new(layout::CHIP, &layout::CONFIG).unwrap_or_else(|_| unreachable!())
}

/// A region of the layout as shared memory.
fn region(r: Region) -> Shm<'static> {
    // SAFETY: every region passed here is one of the layout's AMP regions (shared region,
    // panic dump, RTC pool): RAM at these addresses, 4-byte aligned (checked by the layout),
    // kept out of the maincore image by the link-time checks of `esp_amp_main.x`, and only
    // accessed through `Shm` (volatile and atomic accesses) by both cores.
    unsafe { Shm::from_raw(r.start as usize as *mut u8, r.start, r.len()) }
}

/// The software-interrupt header (the first 0x20 bytes of the shared region).
pub fn sw_intr_header() -> Shm<'static> {
    region(Region { start: layout::SHARED.start, end: layout::SHARED.start + 0x20 })
}

/// The HP SysInfo pool (the shared region after its header).
pub fn sys_info_pool() -> Shm<'static> {
    region(Region { start: layout::SHARED.start + 0x20, end: layout::SHARED.end })
}

/// The RTC SysInfo pool at the top of LP RAM; `None` where the subcore is not an LP core
/// (P4).
pub fn rtc_pool() -> Option<Shm<'static>> {
    layout::RTC_POOL.map(region)
}

/// The panic-dump region.
pub fn panic_dump() -> Shm<'static> {
    region(layout::PANIC_DUMP)
}

pub(crate) static HANDLER: HandlerSlot = HandlerSlot::new();
pub(crate) static IRQ_EPOCH: IrqEpoch = IrqEpoch::new();

/// Runs `body` with `handler` (typically `|| { sw.isr(); }`) as the software-interrupt
/// handler and the line enabled; masks the line again, then removes the handler, when
/// `body` returns. Global interrupts are esp-hal's business and are left as they are.
///
/// For synchronous code only: the handler is gone when `body` returns, so in an `async`
/// program (embassy), whose futures run after this returns, nothing would ever wake them.
/// There, bind the handler for the rest of the program with [`bind_interrupts`].
///
/// # Panics
///
/// If [`bind_interrupts`] bound a handler already (the two forms do not mix: this one would
/// take the interrupt away from the lasting handler).
pub fn with_interrupts<R>(handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
    if critical_section::with(|cs| BOUND.borrow(cs).get().is_some()) {
        panic!("esp_amp_esp32::with_interrupts: a handler is bound for good (bind_interrupts)");
    }
    HANDLER.with(handler, || {
        SubcoreLine::default().enable();
        let r = body();
        SubcoreLine::default().disable();
        r
    })
}

/// The maincore's software-interrupt endpoint as [`bind_interrupts`] takes it.
pub type MainSwIntr = SwIntr<'static, MainCore, SubcoreLine>;

/// The endpoint [`bind_interrupts`] bound; read by the lasting handler.
static BOUND: critical_section::Mutex<core::cell::Cell<Option<&'static MainSwIntr>>> =
    critical_section::Mutex::new(core::cell::Cell::new(None));

fn bound_isr() {
    if let Some(sw) = critical_section::with(|cs| BOUND.borrow(cs).get()) {
        sw.isr();
    }
}

/// [`bound_isr`] as a `'static` handler.
static BOUND_ISR: fn() = bound_isr;

/// Proof that [`bind_interrupts`] installed the software-interrupt handler for the rest of
/// the program. Dropping it changes nothing: the binding lasts, so an `await` on an
/// [`IrqSignal`](esp_amp::signal::IrqSignal) registered with the endpoint is always woken.
#[derive(Clone, Copy, Debug)]
pub struct InterruptsBound(());

/// [`bind_interrupts`] found the software-interrupt handler taken: bound before, or inside
/// [`with_interrupts`] (the error type every port's binding returns).
pub use esp_amp::port::AlreadyBound;

/// Binds `sw`'s interrupt service (`sw.isr()`) to the subcore's software interrupt for the
/// rest of the program and enables the line: the form for `async` programs (embassy),
/// whose tasks wait on [`IrqSignal`](esp_amp::signal::IrqSignal)s registered with `sw`
/// long after this returns. Call [`bind_interrupt`] (the CPU interrupt) first, as for
/// [`with_interrupts`]. Once only: a second call, or one inside [`with_interrupts`], is
/// [`AlreadyBound`].
///
/// ```ignore
/// static SW: StaticCell<MainSwIntr> = StaticCell::new();
/// static RPMSG: IrqSignal = IrqSignal::new();
/// let sw = SW.init(SwIntr::init(esp_amp_esp32::sw_intr_header(), SubcoreLine::default())?);
/// sw.add_handler(SwIntrId::RPMSG, &RPMSG)?;
/// esp_amp_esp32::bind_interrupt();
/// esp_amp_esp32::bind_interrupts(sw)?;
/// // ... `dev.recv(ept, &RPMSG).await` in any task, for good.
/// ```
pub fn bind_interrupts(sw: &'static MainSwIntr) -> Result<InterruptsBound, AlreadyBound> {
    critical_section::with(|cs| {
        if !HANDLER.try_set(&BOUND_ISR) {
            return Err(AlreadyBound);
        }
        BOUND.borrow(cs).set(Some(sw));
        Ok(())
    })?;
    SubcoreLine::default().enable();
    Ok(InterruptsBound(()))
}

/// The timer [`set_wait_timer`] lent to [`EspPlatform::wait_irq`].
static WAIT_TIMER: critical_section::Mutex<core::cell::RefCell<Option<OneShotTimer<'static, Blocking>>>> =
    critical_section::Mutex::new(core::cell::RefCell::new(None));

/// The wait timer's interrupt: only ends the `wfi` it interrupted (the waiting loop looks
/// at the time and the interrupt epoch itself).
#[esp_hal::handler]
fn wait_timer_fired() {
    critical_section::with(|cs| {
        if let Some(t) = WAIT_TIMER.borrow_ref_mut(cs).as_mut() {
            t.clear_interrupt();
        }
    });
}

/// Lends `timer` (a one-shot timer: a system-timer alarm, `OneShotTimer::new(SystemTimer::new(p.SYSTIMER).alarm0)`,
/// or a timer-group timer esp-rtos does not use) to [`EspPlatform::wait_irq`], whose waits
/// with a timeout then sleep in `wfi` until the subcore's interrupt or the timer's,
/// instead of polling the clock. Returns the timer lent before, if any.
pub fn set_wait_timer(mut timer: OneShotTimer<'static, Blocking>) -> Option<OneShotTimer<'static, Blocking>> {
    timer.set_interrupt_handler(wait_timer_fired);
    critical_section::with(|cs| WAIT_TIMER.borrow(cs).replace(Some(timer)))
}

/// Arms the wait timer for `ms`; `false` when none is lent (or it refused the time).
fn arm_wait_timer(ms: u32) -> bool {
    critical_section::with(|cs| match WAIT_TIMER.borrow_ref_mut(cs).as_mut() {
        Some(t) => {
            let armed = t.schedule(esp_hal::time::Duration::from_millis(u64::from(ms))).is_ok();
            t.listen();
            armed
        }
        None => false,
    })
}

fn disarm_wait_timer() {
    critical_section::with(|cs| {
        if let Some(t) = WAIT_TIMER.borrow_ref_mut(cs).as_mut() {
            t.unlisten();
            t.stop();
            t.clear_interrupt();
        }
    });
}

/// Time, interrupt mask and idling on the HP core.
///
/// `wait_irq` sleeps in `wfi` until the next interrupt; with a timeout it arms the timer
/// lent with [`set_wait_timer`] so that the sleep ends at the deadline too. Without a lent
/// timer a timed wait polls the system timer (esp-hal owns the alarms: the application
/// chooses which one to lend).
#[derive(Clone, Copy, Debug, Default)]
pub struct EspPlatform;

impl Platform for EspPlatform {
    fn now_ms(&self) -> u32 {
        esp_hal::time::Instant::now().duration_since_epoch().as_millis() as u32
    }
    fn delay_us(&self, us: u32) {
        esp_hal::delay::Delay::new().delay_micros(us);
    }
    fn interrupts_enable(&self) {
        // SAFETY: esp-hal's runtime installed its trap vector before `main`, so an enabled
        // interrupt finds a handler.
        unsafe { riscv::register::mstatus::set_mie() };
    }
    fn interrupts_disable(&self) {
        // SAFETY: masking interrupts is always sound.
        unsafe { riscv::register::mstatus::clear_mie() };
    }
    fn irq_epoch(&self) -> u32 {
        IRQ_EPOCH.get()
    }
    fn wait_irq(&self, epoch: u32, timeout_ms: Option<u32>) {
        let Some(ms) = timeout_ms else {
            // Interrupts masked between the check and `wfi`: one that arrives in between
            // stays pending, and a pending interrupt ends `wfi` even while masked.
            let was_enabled = riscv::register::mstatus::read().mie();
            self.interrupts_disable();
            if self.irq_epoch() == epoch {
                riscv::asm::wfi();
            }
            if was_enabled {
                self.interrupts_enable();
            }
            return;
        };
        let start = self.now_ms();
        loop {
            let elapsed = self.now_ms().wrapping_sub(start);
            if self.irq_epoch() != epoch || elapsed >= ms {
                break;
            }
            if arm_wait_timer(ms - elapsed) {
                // Woken by the subcore, the timer or any other interrupt; looked at above.
                self.wait_irq(epoch, None);
            } else {
                core::hint::spin_loop();
            }
        }
        disarm_wait_timer();
    }
}

/// The subcore behind the checked loader, with the panic dump (cleared before each start).
pub type EspSubcore = SubcoreHandle<'static, ImagePort<'static, SubcoreControl, RawMemory>>;

/// The loader's rules for this layout (the subcore's regions of the layout, its entry
/// rule: the LP reset vector, or inside the HP subcore region on the P4; this chip's id).
pub fn load_target() -> LoadTarget {
    LoadTarget::for_layout(&memory_layout())
}

/// `control` as a [`Subcore`]: `load` checks an ESP app image (or ELF) against
/// [`load_target`] and writes it, `start` and `stop` are `control`'s.
fn with_loader(control: SubcoreControl) -> EspSubcore {
    let target = load_target();
    // SAFETY: the windows of `target` are the subcore's regions of the layout (the HP
    // subcore region, and LP RAM below the RTC pool on an LP-core chip): the link-time checks
    // of `esp_amp_main.x` keep the maincore image (code, data, stack, and RTC fast sections on
    // an LP-core chip) out of them, esp-hal has no heap in them, and the subcore is stopped by
    // `control`'s constructor before anything is loaded. Images are embedded in flash (or
    // another RAM area), never inside a window.
    let mem = unsafe { RawMemory::new(&target) };
    let port = ImagePort::new(control, mem, target);
    match PanicDump::new(panic_dump()) {
        Ok(dump) => SubcoreHandle::new(port).with_panic_dump(dump),
        Err(_) => SubcoreHandle::new(port),
    }
}

/// The LP core as a [`Subcore`] (stopped): `start` wakes it at its reset vector, `stop`
/// puts it to sleep.
///
/// The HP subcore region is not given back: esp-hal has no heap of its own. With
/// `esp-alloc`, `sub.port_mut().load_image(..)` returns `unused_hp`, which can be added to
/// the heap (later loads then stay below it).
#[cfg(any(feature = "esp32c6", feature = "esp32c5"))]
pub fn subcore(lp_core: esp_hal::peripherals::LP_CORE<'static>) -> EspSubcore {
    with_loader(LpCoreControl::new(lp_core))
}

/// HP core 1 as a [`Subcore`] (stopped): `start` releases it at the image's entry, `stop`
/// stalls it and holds it in reset. Takes both `FROM_CPU` interrupts the line uses.
///
/// The HP subcore region is not given back (see the C6/C5 `subcore`).
#[cfg(feature = "esp32p4")]
pub fn subcore(
    cpu_ctrl: esp_hal::peripherals::CPU_CTRL<'static>,
    own: esp_hal::peripherals::FROM_CPU_INTR2<'static>,
    peer: esp_hal::peripherals::FROM_CPU_INTR3<'static>,
) -> EspSubcore {
    with_loader(Hp1CoreControl::new(cpu_ctrl, own, peer))
}
