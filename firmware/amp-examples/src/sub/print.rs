//! `print`: `esp_amp::println!` routed to the maincore console through the service queue
//! (C's print routing: lines of at most 123 bytes, one queue buffer each). A line is
//! printed before the service is attached (it takes the port's fallback, if any), then
//! numbered lines, a long line, and lines from the interrupt handler; the last line
//! carries the printer's counters.

use crate::sub::Check;
use core::sync::atomic::{AtomicU32, Ordering};

use esp_amp::port::Platform;
use esp_amp::println;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::SysInfo;
use esp_amp::system::print::{global_stats, set_global, take_global, Fallback, Printer};
use esp_amp::system::service;
use esp_amp::SubCore;

use crate::protocol::print::*;
use crate::Board;

fn printer<'r>(tx: Option<service::ServiceProducer<'r>>, fallback: Option<Fallback<'r>>) -> Printer<'r> {
    match fallback {
        Some(f) => Printer::new(tx).with_fallback(f),
        None => Printer::new(tx),
    }
}

pub fn print<B: Board>(b: &B) -> ! {
    b.report_panics();
    let clock = b.clock();
    let info = SysInfo::attach(b.sys_info_pool(), b.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> = SwIntr::attach(b.sw_intr_header(), b.line()).check();

    // No service yet: the printer writes to the fallback.
    set_global(printer(None, b.print_fallback()));
    println!("{FALLBACK_LINE}");
    let fallback_bytes = take_global().map_or(0, |p| p.stats().fallback);

    let mut tx = service::attach(&info).check();
    tx.notify_with(b.trigger_main(), service::SW_INTR);
    set_global(printer(Some(tx), b.print_fallback()).with_platform(b.static_clock()));

    let pings = AtomicU32::new(0);
    let ping = |_: SwIntrId| {
        let n = pings.fetch_add(1, Ordering::Relaxed);
        println!("ping {n} answered from the interrupt handler");
    };
    sw.add_handler(SwIntrId::user(PING_INTR).check(), &ping).check();

    b.with_interrupts(
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
            println!("{}", core::str::from_utf8(&long).check());
            // Lines from the interrupt handler come whole: each println! is one critical
            // section, so a handler cannot cut into a line.
            while pings.load(Ordering::Relaxed) < PINGS {
                let epoch = clock.irq_epoch();
                clock.wait_irq(epoch, Some(10));
            }
            let s = global_stats().unwrap_or_default();
            println!("done: {} lines sent, {} bytes dropped", s.lines + 1, s.dropped);
            loop {
                let epoch = clock.irq_epoch();
                clock.wait_irq(epoch, None);
            }
        },
    )
}
