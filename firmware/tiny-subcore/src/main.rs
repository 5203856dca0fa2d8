//! A minimal subcore: counts in a `.data` word and fills a `.bss` buffer, forever.
#![no_std]
#![no_main]

use core::ptr::{addr_of_mut, write_volatile};

core::arch::global_asm!(
    ".section .text.vectors, \"ax\"",
    ".globl _start",
    "_start:",
    "    la sp, __stack_top",
    "    call tiny_main",
    "1:  j 1b",
);

static mut COUNTER: u32 = 0x1234_5678;
static mut SCRATCH: [u32; 16] = [0; 16];

/// `esp_app_desc_t`: magic, secure version, version, project name (rest zero).
#[used]
#[link_section = ".flash.appdesc"]
static APP_DESC: [u8; 256] = app_desc(b"0.1.0", b"tiny-subcore");

const fn app_desc(version: &[u8], project: &[u8]) -> [u8; 256] {
    let mut d = [0u8; 256];
    let magic = 0xABCD_5432u32.to_le_bytes();
    let mut i = 0;
    while i < 4 {
        d[i] = magic[i];
        i += 1;
    }
    i = 0;
    while i < version.len() {
        d[16 + i] = version[i];
        i += 1;
    }
    i = 0;
    while i < project.len() {
        d[48 + i] = project[i];
        i += 1;
    }
    d
}

#[no_mangle]
extern "C" fn tiny_main() -> ! {
    let mut n = 0usize;
    loop {
        tiny_step(n);
        n = n.wrapping_add(1);
    }
}

/// One round of work, kept out of line so a backtrace has two functions to show.
#[inline(never)]
#[no_mangle]
extern "C" fn tiny_step(n: usize) {
    // SAFETY: single-threaded bare metal; nothing else touches these statics.
    unsafe {
        let c = addr_of_mut!(COUNTER);
        write_volatile(c, c.read_volatile().wrapping_add(1));
        write_volatile(addr_of_mut!(SCRATCH[n % 16]), n as u32);
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
