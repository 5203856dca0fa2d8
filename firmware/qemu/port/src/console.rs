//! The 16550 UART at 0x1000_0000. Both harts may print; a line is written inside a
//! critical section (this hart's), and a spin lock keeps the two harts' lines apart.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::layout::UART_BASE;

static LOCK: AtomicBool = AtomicBool::new(false);

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
        while LOCK.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            core::hint::spin_loop();
        }
        let _ = Uart.write_fmt(args);
        LOCK.store(false, Ordering::Release);
    });
}

/// `println!` to the UART.
#[macro_export]
macro_rules! uprintln {
    ($($arg:tt)*) => {
        $crate::console::print_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}
