//! The 16550 UART at 0x1000_0000. Both harts may print; a line is written inside a
//! critical section (this hart's), and a spin lock in the boot mailbox (RAM both images
//! see, unlike their own statics) keeps the two harts' lines apart.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, Ordering};

use crate::layout::{MAILBOX_CONSOLE, MAILBOX_START, UART_BASE};

fn lock() -> &'static AtomicU32 {
    // SAFETY: a word of the boot mailbox, RAM reserved by the layout, 4-byte aligned and
    // only accessed atomically by both harts.
    unsafe { AtomicU32::from_ptr((MAILBOX_START + MAILBOX_CONSOLE) as usize as *mut u32) }
}

struct Uart;

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            let base = UART_BASE as usize as *mut u8;
            // SAFETY: the `virt` UART's LSR (offset 5) and THR (offset 0) registers, byte
            // wide; nothing else lives at these addresses.
            unsafe {
                while base.add(5).read_volatile() & 0x20 == 0 {}
                base.write_volatile(b);
            }
        }
        Ok(())
    }
}

/// Prints to the UART.
pub fn print_fmt(args: fmt::Arguments<'_>) {
    critical_section::with(|_| {
        // Acquire/Release: the UART writes of one hart stay inside its lock section.
        // Bounded: a hart stopped while printing cannot happen (stop is taken in a trap,
        // printing is a critical section), but a crashed one must not silence the other.
        let mut owned = false;
        for _ in 0..1_000_000 {
            if lock().compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                owned = true;
                break;
            }
            core::hint::spin_loop();
        }
        let _ = Uart.write_fmt(args);
        if owned {
            lock().store(0, Ordering::Release);
        }
    });
}

/// `println!` to the UART.
#[macro_export]
macro_rules! uprintln {
    ($($arg:tt)*) => {
        $crate::console::print_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}
