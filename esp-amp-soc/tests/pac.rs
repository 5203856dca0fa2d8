//! Every register address and field position in `esp-amp-soc` against the PACs esp-hal
//! 1.2.2 uses.
//!
//! A PAC's register block is laid over an ordinary zeroed buffer: its accessors then give
//! each register's offset (the address of the returned register minus the buffer's), and
//! its field writers set the field's bits in the buffer, where they can be read back. No
//! hardware address is ever dereferenced.

// `soc::esp32c6` is ours, `::esp32c6` the PAC.
use esp_amp_soc::{self as soc, clic, LpSoftwareInterrupt, PMU_HP_SW_TRIGGER, PMU_LP_TRIGGER_HP};

/// A zeroed, 8-byte aligned buffer larger than any register block used here (the CLIC's
/// accessors reach 0x1000 + 4 · 48 bytes past its base).
struct Fake {
    buf: Vec<u64>,
}

impl Fake {
    const BYTES: usize = 0x4000;

    fn new() -> Self {
        Fake { buf: vec![0; Self::BYTES / 8] }
    }

    /// The buffer as a register block of type `RB`.
    fn block<RB>(&self) -> &RB {
        assert!(core::mem::size_of::<RB>() <= Self::BYTES);
        assert!(core::mem::align_of::<RB>() <= 8);
        // SAFETY: the buffer is large enough and aligned for `RB` (checked above) and lives
        // as long as the returned reference. A svd2rust register block is a `repr(C)`
        // struct of `vcell::VolatileCell<u32>`s (and padding arrays), for which all-zero
        // bytes are a valid value; the cells make writes through a shared reference sound.
        unsafe { &*self.buf.as_ptr().cast::<RB>() }
    }

    /// The 32-bit word at byte `offset` (register offsets are 4-aligned; what a write-only
    /// register's writer left there).
    fn word(&self, offset: u32) -> u32 {
        let (i, at) = (offset as usize / 8, offset as usize % 8);
        u32::from_ne_bytes(self.buf[i].to_ne_bytes()[at..at + 4].try_into().unwrap())
    }

    /// Stores `v` as the 32-bit word at byte `offset` (4-aligned).
    fn set_word(&mut self, offset: u32, v: u32) {
        let (i, at) = (offset as usize / 8, offset as usize % 8);
        let mut bytes = self.buf[i].to_ne_bytes();
        bytes[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        self.buf[i] = u64::from_ne_bytes(bytes);
    }

    /// The offset of `reg` (a register the block's accessor returned) from the block.
    fn offset<T>(&self, reg: &T) -> u32 {
        (reg as *const T as usize - self.buf.as_ptr() as usize) as u32
    }
}

/// The PMU software-interrupt registers and bits of one LP-core chip against its PAC (the
/// C6 and the C5 PACs name them alike, at different offsets).
macro_rules! pmu_software_interrupt {
    ($test:ident, $pac:ident) => {
        #[test]
        fn $test() {
            assert_eq!(soc::$pac::PMU, ::$pac::PMU::PTR as u32);
            let fake = Fake::new();
            let pmu: &::$pac::pmu::RegisterBlock = fake.block();
            let want = LpSoftwareInterrupt {
                lp_int_ena: soc::$pac::PMU + fake.offset(pmu.lp_int_ena()),
                lp_int_clr: soc::$pac::PMU + fake.offset(pmu.lp_int_clr()),
                hp_lp_cpu_comm: soc::$pac::PMU + fake.offset(pmu.hp_lp_cpu_comm()),
            };
            assert_eq!(soc::$pac::LP_SW_INTR, want);

            pmu.lp_int_ena().write(|w| w.hp_sw_trigger().set_bit());
            assert_eq!(pmu.lp_int_ena().read().bits(), PMU_HP_SW_TRIGGER);
            // Write-only registers: read back from the buffer.
            pmu.lp_int_clr().write(|w| w.hp_sw_trigger().clear_bit_by_one());
            assert_eq!(fake.word(fake.offset(pmu.lp_int_clr())), PMU_HP_SW_TRIGGER);
            pmu.hp_lp_cpu_comm().write(|w| w.lp_trigger_hp().set_bit());
            assert_eq!(fake.word(fake.offset(pmu.hp_lp_cpu_comm())), PMU_LP_TRIGGER_HP);
        }
    };
}

pmu_software_interrupt!(esp32c6_pmu_software_interrupt, esp32c6);
pmu_software_interrupt!(esp32c5_pmu_software_interrupt, esp32c5);

#[test]
fn esp32c5_lp_core_clock_and_reset_exist() {
    // What the maincore port writes at start (through esp-hal's PAC, by these names).
    let fake = Fake::new();
    let lpperi: &::esp32c5::lpperi::RegisterBlock = fake.block();
    lpperi.clk_en().write(|w| w.lp_cpu_ck_en().set_bit());
    assert_ne!(lpperi.clk_en().read().bits(), 0);
    lpperi.reset_en().write(|w| w.lp_cpu_reset_en().set_bit());
    assert_ne!(lpperi.reset_en().read().bits(), 0);
    const { assert!(soc::esp32c5::LP_CORE_HAS_CLK_RST) };
    const { assert!(!soc::esp32c6::LP_CORE_HAS_CLK_RST) };
}

#[test]
fn esp32p4_from_cpu_registers_and_sources() {
    assert_eq!(soc::esp32p4::HP_SYS, ::esp32p4::HP_SYS::PTR as u32);
    let fake = Fake::new();
    let hp_sys: &::esp32p4::hp_sys::RegisterBlock = fake.block();
    for n in 0..4 {
        assert_eq!(
            soc::esp32p4::from_cpu(n),
            soc::esp32p4::HP_SYS + fake.offset(hp_sys.cpu_intr_from_cpu(n as usize))
        );
    }
    hp_sys.cpu_intr_from_cpu(3).write(|w| w.cpu_intr().set_bit());
    assert_eq!(hp_sys.cpu_intr_from_cpu(3).read().bits(), 1, "writing 1 raises the source");

    assert_eq!(soc::esp32p4::FROM_CPU_INTR0_SOURCE, ::esp32p4::Interrupt::FROM_CPU_INTR0 as u32);
    assert_eq!(
        soc::esp32p4::FROM_CPU_INTR0_SOURCE + soc::esp32p4::MAIN_FROM_CPU,
        ::esp32p4::Interrupt::FROM_CPU_INTR2 as u32
    );
    assert_eq!(soc::esp32p4::SUBCORE_SOURCE, ::esp32p4::Interrupt::FROM_CPU_INTR3 as u32);
}

#[test]
fn esp32p4_core1_interrupt_matrix() {
    assert_eq!(soc::esp32p4::INTERRUPT_CORE1, ::esp32p4::INTERRUPT_CORE1::PTR as u32);
    let fake = Fake::new();
    let matrix: &::esp32p4::interrupt_core1::RegisterBlock = fake.block();
    let source = soc::esp32p4::SUBCORE_SOURCE;
    assert_eq!(
        soc::esp32p4::core1_intr_map(source),
        soc::esp32p4::INTERRUPT_CORE1 + fake.offset(matrix.core_1_intr_map(source as usize))
    );
    // The map field is wide enough for a CLIC index (up to 47), and takes ours as it is.
    // SAFETY: the map field takes any value; the register is the fake's ordinary memory.
    matrix
        .core_1_intr_map(source as usize)
        .write(|w| unsafe { w.map().bits(soc::esp32p4::SUBCORE_MAP_VALUE as u8) });
    assert_eq!(
        matrix.core_1_intr_map(source as usize).read().map().bits() as u32,
        soc::esp32p4::SUBCORE_MAP_VALUE
    );
    // SAFETY: as above.
    matrix.core_1_intr_map(source as usize).write(|w| unsafe { w.map().bits(47) });
    assert_eq!(matrix.core_1_intr_map(source as usize).read().map().bits(), 47);
}

#[test]
fn esp32p4_clic_control_bytes() {
    assert_eq!(clic::BASE, ::esp32p4::CLIC::PTR as u32);
    let fake = Fake::new();
    let clic_rb: &::esp32p4::clic::RegisterBlock = fake.block();
    let index = soc::esp32p4::SUBCORE_MAP_VALUE;
    let word = soc::esp32p4::SUBCORE_CLIC_CTRL;
    let at = |off: u32| clic::BASE + off;
    assert_eq!(word + clic::IP, at(fake.offset(clic_rb.int_ip(index as usize))));
    assert_eq!(word + clic::IE, at(fake.offset(clic_rb.int_ie(index as usize))));
    assert_eq!(word + clic::ATTR, at(fake.offset(clic_rb.int_attr(index as usize))));
    assert_eq!(word + clic::CTL, at(fake.offset(clic_rb.int_ctl(index as usize))));

    // ATTR as the PAC reads it: machine mode, positive level, not hardware-vectored.
    let attr = clic_rb.int_attr(index as usize);
    // SAFETY: any byte is a valid ATTR value for the fake register (ordinary memory).
    attr.write(|w| unsafe { w.bits(clic::ATTR_MACHINE_LEVEL) });
    assert_eq!(attr.read().mode().bits(), 3);
    assert!(attr.read().trig().is_positive_level());
    assert!(attr.read().shv().is_software());
    // CTL: the priority in the top NLBITS bits.
    let ctl = clic_rb.int_ctl(index as usize);
    // SAFETY: as above.
    ctl.write(|w| unsafe { w.bits(clic::ctl(soc::esp32p4::SUBCORE_PRIORITY)) });
    assert_eq!(ctl.read().ctl().bits(), soc::esp32p4::SUBCORE_PRIORITY);
    // The PAC's level field is the top NLBITS bits.
    // SAFETY: as above.
    ctl.write(|w| unsafe { w.ctl().bits(7) });
    assert_eq!(ctl.read().bits(), 7 << (8 - clic::NLBITS));
}

/// The LP UART console registers of one LP-core chip against its PAC (the same block at
/// the same address on the C6 and the C5).
macro_rules! lp_uart_console_registers {
    ($test:ident, $pac:ident) => {
        #[test]
        fn $test() {
            let mask = soc::lp_uart::TXFIFO_CNT_MASK << soc::lp_uart::TXFIFO_CNT_SHIFT;
            assert_eq!(soc::lp_uart::BASE, ::$pac::LP_UART::PTR as u32);
            let mut fake = Fake::new();
            let (fifo, status) = {
                let uart: &::$pac::lp_uart::RegisterBlock = fake.block();
                (fake.offset(uart.fifo()), fake.offset(uart.status()))
            };
            assert_eq!(soc::lp_uart::FIFO, soc::lp_uart::BASE + fifo);
            assert_eq!(soc::lp_uart::STATUS, soc::lp_uart::BASE + status);
            // The status register is read-only in the PAC: put the field's bits there
            // directly.
            fake.set_word(status, mask);
            let uart: &::$pac::lp_uart::RegisterBlock = fake.block();
            assert_eq!(u32::from(uart.status().read().txfifo_cnt().bits()), soc::lp_uart::TXFIFO_CNT_MASK);
            assert_eq!(uart.status().read().bits(), mask, "no other field in those bits");
        }
    };
}

lp_uart_console_registers!(esp32c6_lp_uart_console_registers, esp32c6);
lp_uart_console_registers!(esp32c5_lp_uart_console_registers, esp32c5);

/// The LP timer's alarm-1, counter-copy and LP-interrupt registers and the slow-clock
/// calibration register of one LP-core chip against its PAC (the same blocks at the same
/// addresses on the C6 and the C5).
macro_rules! lp_timer_registers {
    ($test:ident, $pac:ident) => {
        #[test]
        fn $test() {
            use soc::lp_timer as t;
            assert_eq!(t::BASE, ::$pac::LP_TIMER::PTR as u32);
            let fake = Fake::new();
            let timer: &::$pac::lp_timer::RegisterBlock = fake.block();
            let at = |off: u32| t::BASE + off;
            assert_eq!(t::TAR1_LOW, at(fake.offset(timer.tar1_low())));
            assert_eq!(t::TAR1_HIGH, at(fake.offset(timer.tar1_high())));
            assert_eq!(t::UPDATE, at(fake.offset(timer.update())));
            assert_eq!(t::BUF0_LOW, at(fake.offset(timer.main_buf0_low())));
            assert_eq!(t::BUF0_HIGH, at(fake.offset(timer.main_buf0_high())));
            assert_eq!(t::LP_INT_ENA, at(fake.offset(timer.lp_int_ena())));
            assert_eq!(t::LP_INT_CLR, at(fake.offset(timer.lp_int_clr())));
            // Field positions: written through the PAC's writers, read back as words.
            timer.tar1_high().write(|w| w.main_timer_tar_en1().set_bit());
            assert_eq!(fake.word(t::TAR1_HIGH - t::BASE), t::TAR_EN);
            // SAFETY: any 16-bit value is a valid target high part.
            timer.tar1_high().write(|w| unsafe { w.main_timer_tar_high1().bits(0xFFFF) });
            assert_eq!(fake.word(t::TAR1_HIGH - t::BASE), 0xFFFF, "the high part is bits 0..=15");
            timer.update().write(|w| w.main_timer_update().set_bit());
            assert_eq!(fake.word(t::UPDATE - t::BASE), soc::$pac::LP_TIMER_UPDATE_BIT);
            timer.lp_int_ena().write(|w| w.main_timer().set_bit());
            assert_eq!(fake.word(t::LP_INT_ENA - t::BASE), t::MAIN_TIMER_INT);
            timer.lp_int_clr().write(|w| w.main_timer().clear_bit_by_one());
            assert_eq!(fake.word(t::LP_INT_CLR - t::BASE), t::MAIN_TIMER_INT);

            assert_eq!(t::SLOW_CLK_CAL & !0xFF, ::$pac::LP_AON::PTR as u32);
            let aon_fake = Fake::new();
            let aon: &::$pac::lp_aon::RegisterBlock = aon_fake.block();
            assert_eq!(t::SLOW_CLK_CAL, ::$pac::LP_AON::PTR as u32 + aon_fake.offset(aon.store1()));
        }
    };
}

lp_timer_registers!(esp32c6_lp_timer_registers, esp32c6);
lp_timer_registers!(esp32c5_lp_timer_registers, esp32c5);

#[test]
fn lp_timer_ticks_per_ms_from_the_calibration() {
    use soc::lp_timer::{ticks_per_ms, CAL_FRACT};
    // The RC slow clock, about 136 kHz: a period of 7.35 µs.
    let rc = (7.35 * f64::from(1u32 << CAL_FRACT)) as u32;
    assert_eq!(ticks_per_ms(rc), Some(136));
    // A 32.768 kHz crystal: 30.52 µs.
    let xtal = (30.517_578 * f64::from(1u32 << CAL_FRACT)) as u32;
    assert_eq!(ticks_per_ms(xtal), Some(32));
    // Not written, or nothing a slow clock can be.
    assert_eq!(ticks_per_ms(0), None);
    assert_eq!(ticks_per_ms(1), None);
    assert_eq!(ticks_per_ms(u32::MAX), None);
}
