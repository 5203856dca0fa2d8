//! Subcore of the `print` pair: `esp_amp::println!` routed to the maincore console through
//! the service queue (C's print routing: lines of at most 123 bytes, one queue buffer
//! each). A line is printed before the service is attached (it takes the fallback, this
//! hart's own UART), then numbered lines, a long line, and lines from the interrupt
//! handler; the last line carries the printer's counters.
#![no_std]
#![no_main]

use core::cell::RefCell;

use critical_section::Mutex;
use esp_amp::port::Platform;
use esp_amp::println;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::SysInfo;
use esp_amp::system::print::{global_stats, set_global, take_global, Printer};
use esp_amp::system::service;
use esp_amp::SubCore;
use esp_amp_qemu::{self as port, console, ClintLine, PeerTrigger, QemuPlatform};

esp_amp_qemu::entry!(main);

#[path = "../../../protocol/print.rs"]
mod protocol;
use protocol::*;

/// Where the global printer's service queue notifies from (it must be `'static`).
static TO_MAINCORE: PeerTrigger<SubCore> = PeerTrigger::new();

/// The fallback gets single bytes; whole lines go to the UART, so they do not interleave
/// with the maincore's.
static FALLBACK_LINE: Mutex<RefCell<([u8; 128], usize)>> = Mutex::new(RefCell::new(([0; 128], 0)));

fn to_uart(bytes: &[u8]) {
    critical_section::with(|cs| {
        let (buf, len) = &mut *FALLBACK_LINE.borrow(cs).borrow_mut();
        for &b in bytes {
            if *len < buf.len() {
                buf[*len] = b;
                *len += 1;
            }
            if b == b'\n' || *len == buf.len() {
                console::print_fmt(format_args!("{}", core::str::from_utf8(&buf[..*len]).unwrap_or("?\n")));
                *len = 0;
            }
        }
    });
}

fn main() -> ! {
    qemu_sub::report_panics();
    let info = SysInfo::attach(port::sys_info_pool(), None);
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(port::sw_intr_header(), ClintLine::this_hart()).unwrap();

    // No service yet: the printer writes to the fallback.
    set_global(Printer::new(None).with_fallback(&to_uart));
    println!("[hart 1 fallback] before the service queue is attached");
    let fallback_bytes = take_global().map_or(0, |p| p.stats().fallback);

    let mut tx = service::attach(&info).unwrap();
    tx.notify_with(&TO_MAINCORE, service::SW_INTR);
    set_global(Printer::new(Some(tx)).with_platform(&QemuPlatform).with_fallback(&to_uart));

    let pings = core::sync::atomic::AtomicU32::new(0);
    let ping = |_: SwIntrId| {
        let n = pings.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        println!("ping {n} answered from the interrupt handler");
    };
    sw.add_handler(SwIntrId::user(PING_INTR).unwrap(), &ping).unwrap();

    port::with_interrupts(
        &|| {
            sw.isr();
        },
        || {
            println!("hello from the subcore ({fallback_bytes} bytes went to the fallback first)");
            for i in 0..LINES {
                println!("line {i:03} check {:08x}", check_value(i));
            }
            let mut long = [0u8; LONG];
            for (i, b) in long.iter_mut().enumerate() {
                *b = long_char(i) as u8;
            }
            println!("{}", core::str::from_utf8(&long).unwrap());
            // Lines from the interrupt handler come whole: each println! is one critical
            // section, so a handler cannot cut into a line.
            while pings.load(core::sync::atomic::Ordering::Relaxed) < PINGS {
                let epoch = QemuPlatform.irq_epoch();
                QemuPlatform.wait_irq(epoch, Some(10));
            }
            let s = global_stats().unwrap_or_default();
            println!("done: {} lines sent, {} bytes dropped", s.lines + 1, s.dropped);
            loop {
                let epoch = QemuPlatform.irq_epoch();
                QemuPlatform.wait_irq(epoch, None);
            }
        },
    )
}
