//! `print`, maincore half: the subcore's `println!` lines arrive through the service queue
//! (0xFF04, software interrupt 27) and are logged with a `[sub]` prefix, as C's print
//! routing does. Every line is checked, in order:
//! - the subcore first printed without the service (through its port's fallback, if it has
//!   one), and says how many bytes took that path;
//! - 200 numbered lines with check values;
//! - a 300-character line, which arrives as pieces of 123, 123 and 54 characters;
//! - five lines printed in the subcore's interrupt handler, one per software interrupt we
//!   raise, each whole;
//! - its closing line: lines sent (matching what arrived) and bytes dropped (none).

use core::fmt::Write;

use esp_amp::port::Platform;
use esp_amp::sw_intr::{SwIntr, SwIntrId};
use esp_amp::sys_info::SysInfoAllocator;
use esp_amp::system::lifecycle::SubcoreHandle;
use esp_amp::system::print::LINE_MAX;
use esp_amp::system::service::Supplicant;
use esp_amp::MainCore;

use super::{check, stop, MainBoard, OrFail, TIMEOUT_MS};
use crate::protocol::print::*;

/// A line built in place, to compare with what arrived.
struct Line {
    buf: [u8; 160],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Line `n` of what the subcore prints (`None` past the end).
fn expected(n: u32, fallback_bytes: usize) -> Option<Line> {
    let mut l = Line { buf: [0; 160], len: 0 };
    let long_pieces = LONG.div_ceil(LINE_MAX) as u32;
    let _ = match n {
        0 => write!(l, "hello from the subcore ({} bytes went to the fallback first)", fallback_bytes),
        n if n <= LINES => write!(l, "line {:03} check {:08x}", n - 1, check_value(n - 1)),
        n if n <= LINES + long_pieces => {
            let piece = (n - LINES - 1) as usize;
            (piece * LINE_MAX..LONG.min((piece + 1) * LINE_MAX))
                .map(long_char)
                .try_for_each(|c| l.write_char(c))
        }
        n if n <= LINES + long_pieces + PINGS => {
            write!(l, "ping {} answered from the interrupt handler", n - LINES - long_pieces - 1)
        }
        n if n == LINES + long_pieces + PINGS + 1 => write!(l, "done: {} lines sent, 0 bytes dropped", n + 1),
        _ => return None,
    };
    Some(l)
}

/// Runs `print`.
pub fn print<B: MainBoard>(b: &B, sub: &mut SubcoreHandle<'_, B::Port>, image: &[u8]) {
    let clock = b.clock();
    let mut sys = SysInfoAllocator::init(b.sys_info_pool(), b.rtc_pool()).or_fail(b, "SysInfo");
    let sw: SwIntr<'_, MainCore, _> =
        SwIntr::init(b.sw_intr_header(), b.line()).or_fail(b, "sw-interrupt header");
    let supplicant = Supplicant::create(&mut sys).or_fail(b, "service queue");
    // The fallback line and its newline, if the subcore's port has somewhere to print it.
    let fallback_bytes = if b.subcore_print_fallback() { FALLBACK_LINE.len() + 1 } else { 0 };
    super::load_and_start(b, sub, image);

    b.with_interrupts(
        &|| {
            // Software interrupt 27 only wakes the loop below (the irq epoch moves).
            sw.isr();
        },
        || {
            let last = LINES + LONG.div_ceil(LINE_MAX) as u32 + PINGS + 1;
            let first_ping = last - PINGS;
            let mut n = 0u32;
            let start = clock.now_ms();
            while n <= last {
                check!(b, 10,
                    clock.now_ms().wrapping_sub(start) < 10 * TIMEOUT_MS,
                    "print routing stalled after {n} lines"
                );
                let epoch = clock.irq_epoch();
                supplicant.dispatch(|got| {
                    b.routed(got);
                    let want = expected(n, fallback_bytes);
                    let same = want.as_ref().is_some_and(|w| &w.buf[..w.len] == got);
                    check!(b, 11, same, "line {n} is not what the subcore printed");
                    n += 1;
                    // Each ping is raised once the line before it arrived, so the handler's
                    // lines come one at a time, in order.
                    if (first_ping..first_ping + PINGS).contains(&n) {
                        sw.trigger(SwIntrId::user(PING_INTR).unwrap());
                    }
                });
                if n <= last {
                    clock.wait_irq(epoch, Some(10));
                }
            }
            let s = supplicant.stats();
            check!(b, 12,
                s.lines == last + 1 && s.unknown == 0 && s.malformed == 0 && s.faults == 0,
                "supplicant stats {s:?}"
            );
            b.log(format_args!("print routing: {} subcore lines arrived whole and in order (numbered, a long line in {} pieces, lines from its interrupt handler), none dropped", s.lines, LONG.div_ceil(LINE_MAX)));
        },
    );
    stop(b, sub);
}
