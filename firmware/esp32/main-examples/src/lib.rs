//! What the maincore examples share: the HP core as a [`MainBoard`] for the shared
//! examples (`amp_examples::maincore`), failing with a reason, and reporting a subcore
//! panic from the dump.
#![no_std]

use amp_examples::maincore::{FaultSignature, MainBoard};
use esp_amp::image::load::RawMemory;
use esp_amp::layout::Region;
use esp_amp::port::InterruptLine;
use esp_amp::shm::Shm;
use esp_amp::system::lifecycle::ImagePort;
use esp_amp::system::panic::PanicMonitor;
use esp_amp_esp32::{EspPlatform, EspSubcore, SubcoreControl, SubcoreLine};
use esp_println::println;

/// Prints `FAIL: <why>` and stops here.
pub fn fail(why: core::fmt::Arguments<'_>) -> ! {
    println!("FAIL: {why}");
    loop {
        core::hint::spin_loop();
    }
}

/// If `monitor` saw the subcore's panic interrupt: stops the subcore, prints the report
/// from the dump (the C version's format) and fails.
pub fn report_subcore_panic<L: InterruptLine>(sub: &mut EspSubcore, monitor: &PanicMonitor<L>) {
    if sub.handle_panic(monitor, |report| println!("{report}")) {
        fail(format_args!("the subcore panicked"));
    }
}

/// Echo message `i` for payloads of at most `max` bytes (4..=`max`, at most 64): its
/// number, then bytes counting up from it, so every length and every position is
/// checked. Returns the buffer and the length used.
pub fn echo_payload(i: u32, max: usize) -> ([u8; 64], usize) {
    let len = (4 + (i as usize % (max - 3))).min(64);
    let mut out = [0u8; 64];
    out[..4].copy_from_slice(&i.to_le_bytes());
    for (k, b) in out[4..len].iter_mut().enumerate() {
        *b = (i as u8).wrapping_add(k as u8);
    }
    (out, len)
}

/// HP core 0, with the LP core (C6/C5) or HP core 1 (P4) as its subcore, as the maincore
/// of the shared examples.
pub struct EspMain;

impl MainBoard for EspMain {
    type Line = SubcoreLine;
    type Clock = EspPlatform;
    type Port = ImagePort<'static, SubcoreControl, RawMemory>;

    fn line(&self) -> SubcoreLine {
        SubcoreLine::default()
    }
    fn clock(&self) -> EspPlatform {
        EspPlatform
    }
    fn sw_intr_header(&self) -> Shm<'static> {
        esp_amp_esp32::sw_intr_header()
    }
    fn sys_info_pool(&self) -> Shm<'static> {
        esp_amp_esp32::sys_info_pool()
    }
    fn rtc_pool(&self) -> Option<Shm<'static>> {
        esp_amp_esp32::rtc_pool()
    }
    fn with_interrupts<R>(&self, handler: &(dyn Fn() + Sync), body: impl FnOnce() -> R) -> R {
        esp_amp_esp32::with_interrupts(handler, body)
    }
    fn log(&self, line: core::fmt::Arguments<'_>) {
        println!("[main] {line}");
    }
    fn routed(&self, line: &[u8]) {
        println!("[sub] {}", esp_amp::text::Escaped(line));
    }
    fn fail(&self, code: u16, why: core::fmt::Arguments<'_>) -> ! {
        fail(format_args!("({code}) {why}"))
    }
    fn subcore_code(&self) -> [Option<Region>; 2] {
        // An LP image may use LP RAM, the HP subcore region, or both; a P4 image the HP
        // subcore region.
        let target = esp_amp_esp32::load_target();
        [target.rtc, target.hp]
    }
    fn subcore_fault(&self) -> FaultSignature {
        // The subcore examples fault with `unimp` (illegal instruction). What the core puts
        // in `mtval` for it is not checked; HP core 1's `mhartid` is 1 (the LP core's is not
        // checked).
        let hart = cfg!(feature = "esp32p4").then_some(1);
        FaultSignature { mcause: 2, mtval: None, hart }
    }
    #[cfg(feature = "esp32p4")]
    fn subcore_running(&self) -> Option<bool> {
        Some(esp_amp_esp32::hp1_running())
    }
}

/// A maincore example: esp-hal up, the interrupt bound, a system-timer alarm lent to timed
/// waits (`set_wait_timer`), `example` run against the subcore,
/// then `PASS` (a failure prints `FAIL: <why>` earlier). Never returns.
pub fn run(name: &str, image: &[u8], example: impl FnOnce(&EspMain, &mut EspSubcore)) -> ! {
    let p = esp_hal::init(esp_hal::Config::default());
    println!("esp-amp {name} on {}: subcore image {} bytes", esp_amp_esp32::layout::CHIP.name(), image.len());
    esp_amp_esp32::bind_interrupt();
    // Timed waits sleep until this alarm instead of polling the clock.
    let systimer = esp_hal::timer::systimer::SystemTimer::new(p.SYSTIMER);
    esp_amp_esp32::set_wait_timer(esp_hal::timer::OneShotTimer::new(systimer.alarm0));
    #[cfg(not(feature = "esp32p4"))]
    let mut sub = esp_amp_esp32::subcore(p.LP_CORE);
    #[cfg(feature = "esp32p4")]
    let mut sub = esp_amp_esp32::subcore(p.CPU_CTRL, p.FROM_CPU_INTR2, p.FROM_CPU_INTR3);
    example(&EspMain, &mut sub);
    println!("PASS");
    loop {
        core::hint::spin_loop();
    }
}

/// The maincore's own panics: the message, then stop.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    fail(format_args!("maincore panic: {info}"))
}
