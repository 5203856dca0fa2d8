//! The hardware facts the esp-amp chip ports use, one module per chip, each with its
//! source.
//!
//! The ports have never run on a chip: a wrong address or bit would only show at first
//! power-up, as an interrupt that never arrives. So every value a port writes into a
//! register lives here, in one place a reviewer can check, and comes either
//!
//! - from the **PAC** esp-hal 1.2.2 builds on (`esp32c6` 0.24, `esp32c5` 0.3, `esp32p4`
//!   0.3): register addresses and field positions. `tests/pac.rs` lays each PAC's
//!   register block over ordinary memory and checks every such constant against the
//!   PAC's own accessors, so a typo here fails the tests; or
//! - from **ESP-IDF** (or ESP-AMP C) where the value is a meaning rather than a register
//!   position: an interrupt line, what a map register holds, a ROM function's address, a
//!   clock rate. Each says which IDF file it follows, and where it can be derived from a
//!   more basic fact it is (the P4's map value from its CPU line, an LP core's `mie` mask
//!   from whether it has a single interrupt vector), with unit tests that fail if a value
//!   that once was wrong is put back.
//!
//! `docs/porting.md` has the same facts as a table per chip. The crate has no
//! dependencies and is `no_std`: the subcore runtimes (a 16 KiB LP core) use the
//! constants directly, and their build scripts use them to write linker scripts.
//!
//! ```
//! use esp_amp_soc::{clic, esp32p4};
//! // HP core 1 of the P4 takes the maincore's interrupt on CPU line 30, which is CLIC
//! // interrupt 46: the value its interrupt-matrix map register must hold.
//! assert_eq!(esp32p4::SUBCORE_LINE, 30);
//! assert_eq!(esp32p4::SUBCORE_MAP_VALUE, clic::index(30));
//! assert_eq!(esp32p4::SUBCORE_MAP_VALUE, 46);
//! ```
#![no_std]
#![deny(missing_docs)]

/// How an LP core's interrupt controller delivers external interrupts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpVectors {
    /// Every external interrupt arrives on CPU line 30 (IDF's
    /// `SOC_LP_CORE_SINGLE_INTERRUPT_VECTOR`, set in the C6's and the C5's `soc_caps.h`;
    /// their LP `vector_table.S` sends every entry to one handler).
    Single,
    /// A CPU line per source (the P4's LP core: IDF's `ulp_lp_core_utils.c` enables every
    /// external line but the HP interrupt).
    PerSource,
}

/// The CPU line all external interrupts of a single-vector LP core arrive on.
pub const LP_SINGLE_VECTOR_LINE: u32 = 30;

/// The `mie` bits an LP core enables to take its external interrupts: IDF's
/// `MIE_ALL_INTS_MASK` in `components/ulp/lp_core/lp_core/lp_core_utils.c` (and
/// `lp_core_interrupt.c`): `1 << 30` with a single vector, `0x3FFF_0888` otherwise.
pub const fn lp_mie_mask(vectors: LpVectors) -> u32 {
    match vectors {
        LpVectors::Single => 1 << LP_SINGLE_VECTOR_LINE,
        LpVectors::PerSource => 0x3FFF_0888,
    }
}

/// The LP core's nominal clock, in cycles per microsecond: 16 MHz, the rough figure IDF
/// uses for `LP_FAST_CLK` from the RC_FAST oscillator (`LP_CORE_CPU_FREQUENCY_HZ` in
/// `components/ulp/lp_core/lp_core/lp_core_utils.c`) and ESP-AMP C's LP `get_time_ms`.
/// Approximate (an uncalibrated RC oscillator), and `mcycle` stops while the LP core
/// sleeps.
pub const LP_CYCLES_PER_US: u32 = 16;

/// The PMU registers of the HP↔LP software interrupt, as both cores of a C6 or C5 see
/// them (the LP core sees the PMU at the HP core's addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LpSoftwareInterrupt {
    /// `PMU_LP_INT_ENA_REG` (PAC: `PMU::lp_int_ena`).
    pub lp_int_ena: u32,
    /// `PMU_LP_INT_CLR_REG` (PAC: `PMU::lp_int_clr`).
    pub lp_int_clr: u32,
    /// `PMU_HP_LP_CPU_COMM_REG` (PAC: `PMU::hp_lp_cpu_comm`).
    pub hp_lp_cpu_comm: u32,
}

/// `HP_SW_TRIGGER` in `PMU_LP_INT_{ST,ENA,CLR}`: the HP core's software interrupt to the
/// LP core (PAC: `lp_int_ena::hp_sw_trigger`, bit 31; the same on C6 and C5).
pub const PMU_HP_SW_TRIGGER: u32 = 1 << 31;
/// `LP_TRIGGER_HP` in `PMU_HP_LP_CPU_COMM`: the LP core raises the HP core's software
/// interrupt (PAC: `hp_lp_cpu_comm::lp_trigger_hp`, bit 30; the same on C6 and C5).
pub const PMU_LP_TRIGGER_HP: u32 = 1 << 30;

/// The LP UART of the C6 and the C5 (the same block at the same address on both), as the
/// LP core's console when print routing is off: ESP-AMP C's `subcore_uart_putchar` writes
/// there (IDF's `lp_core_print_char`).
pub mod lp_uart {
    /// PAC: `esp32c6::LP_UART`, `esp32c5::LP_UART`.
    pub const BASE: u32 = 0x600B_1400;
    /// `LP_UART_FIFO_REG`: a write queues one byte (PAC: `lp_uart::fifo`, offset 0).
    pub const FIFO: u32 = BASE;
    /// `LP_UART_STATUS_REG` (PAC: `lp_uart::status`, offset 0x1C).
    pub const STATUS: u32 = BASE + 0x1C;
    /// `TXFIFO_CNT` in the status register: bytes waiting in the TX FIFO (PAC:
    /// `status::txfifo_cnt`, bits 19..=23).
    pub const TXFIFO_CNT_SHIFT: u32 = 19;
    /// The width mask of `TXFIFO_CNT`, after shifting by [`TXFIFO_CNT_SHIFT`].
    pub const TXFIFO_CNT_MASK: u32 = 0x1F;
    /// The TX FIFO's length (IDF: `SOC_LP_UART_FIFO_LEN` in the C6's and C5's
    /// `soc_caps.h`).
    pub const FIFO_LEN: u32 = 16;
    /// Status reads before a byte is given up: an LP UART the maincore never set up does
    /// not drain, and a console must not hang the core (about 1 ms at 16 MHz, ten bytes'
    /// time at 115200 baud).
    pub const WAIT_READS: u32 = 4000;
}

/// The LP timer of the C6 and the C5 (the same block at the same address on both): the
/// LP core's wake-up source for a timed wait. Its alarm 1 is the one IDF's LP-core code
/// uses (`ulp_lp_core_lp_timer_set_wakeup_time`, `TIMER_ID 1`); alarm 0 is the HP side's
/// sleep wake-up. The `LP_INT_*` registers are the interrupt the LP core takes (on its
/// single external line 30); `INT_*` are the HP core's.
pub mod lp_timer {
    /// PAC: `esp32c6::LP_TIMER`, `esp32c5::LP_TIMER`.
    pub const BASE: u32 = 0x600B_0C00;
    /// `LP_TIMER_TAR1_LOW_REG`: alarm 1, bits 0..=31 of the 48-bit target (PAC offset 0x08).
    pub const TAR1_LOW: u32 = BASE + 0x08;
    /// `LP_TIMER_TAR1_HIGH_REG`: bits 32..=47 of the target in bits 0..=15 (PAC offset 0x0C).
    pub const TAR1_HIGH: u32 = BASE + 0x0C;
    /// `MAIN_TIMER_TAR_EN1` in `TAR1_HIGH`: alarm 1 armed.
    pub const TAR_EN: u32 = 1 << 31;
    /// `LP_TIMER_UPDATE_REG` (PAC offset 0x10); its `MAIN_TIMER_UPDATE` bit, which copies
    /// the counter into buffer 0, differs per chip (`esp32c6::LP_TIMER_UPDATE_BIT`,
    /// `esp32c5::LP_TIMER_UPDATE_BIT`).
    pub const UPDATE: u32 = BASE + 0x10;
    /// `LP_TIMER_MAIN_BUF0_LOW_REG` / `_HIGH_REG`: the copied counter (PAC offsets 0x14,
    /// 0x18; 16 bits in the high word).
    pub const BUF0_LOW: u32 = BASE + 0x14;
    /// Bits 32..=47 of the copied counter, in bits 0..=15.
    pub const BUF0_HIGH: u32 = BASE + 0x18;
    /// `LP_TIMER_LP_INT_ENA_REG` / `_CLR_REG` (PAC offsets 0x40, 0x44).
    pub const LP_INT_ENA: u32 = BASE + 0x40;
    /// Writing a bit clears that LP-core interrupt.
    pub const LP_INT_CLR: u32 = BASE + 0x44;
    /// `MAIN_TIMER` in the `LP_INT_*` registers: an armed alarm was reached.
    pub const MAIN_TIMER_INT: u32 = 1 << 31;
    /// `LP_AON_STORE1_REG` (PAC: `lp_aon::store1`, `LP_AON` at 0x600B_1000): the calibrated
    /// period of the RTC slow clock that drives the LP timer, in microseconds with
    /// [`CAL_FRACT`] fractional bits. esp-hal's clock set-up writes it
    /// (`calibrate_rtc_slow_clock`), as IDF's does (`RTC_SLOW_CLK_CAL_REG`); 0 means it was
    /// not written.
    pub const SLOW_CLK_CAL: u32 = 0x600B_1004;
    /// IDF's `RTC_CLK_CAL_FRACT`, esp-hal's `RtcClock::CAL_FRACT`.
    pub const CAL_FRACT: u32 = 19;

    /// LP timer ticks per millisecond for the calibration value `cal` (rounded down; at
    /// least 1), or `None` when `cal` is 0 or not a plausible slow clock (the LP timer
    /// runs at 30 to 150 kHz: 30 to 150 ticks per millisecond).
    pub const fn ticks_per_ms(cal: u32) -> Option<u32> {
        if cal == 0 {
            return None;
        }
        // 1000 µs << 19 fits a u32 (524,288,000), so no 64-bit division is needed.
        let t = (1000u32 << CAL_FRACT) / cal;
        if t >= 16 && t <= 1024 {
            Some(t)
        } else {
            None
        }
    }
}

/// The RISC-V CLIC of the ESP32-P4's HP cores.
pub mod clic {
    /// CLIC interrupts 0..16 are the core-local (CLINT) ones; CPU line `l` of the
    /// interrupt matrix is CLIC interrupt `l + 16` (IDF: `CLIC_EXT_INTR_NUM_OFFSET` in
    /// `components/soc/esp32p4/include/soc/clic_reg.h`, used as `RV_EXTERNAL_INT_OFFSET`;
    /// esp-hal 1.2.2's `interrupt/riscv/clic.rs`).
    pub const EXTERNAL_OFFSET: u32 = 16;

    /// The CLIC interrupt index of CPU line `line`. On the P4 this is also the value an
    /// interrupt-matrix map register must hold to route a source to that line: IDF's
    /// `intr_matrix_route` (`components/esp_hw_support/.../interrupt_clic.c`) writes
    /// `intr_num + RV_EXTERNAL_INT_OFFSET`, and esp-hal writes its CLIC-numbered CPU
    /// interrupts (16..=47) into `core_x_intr_map` as they are.
    pub const fn index(line: u32) -> u32 {
        line + EXTERNAL_OFFSET
    }

    /// The CLIC's base address as the running core sees it (each HP core sees its own
    /// CLIC here; PAC: `esp32p4::CLIC`).
    pub const BASE: u32 = 0x2080_0000;

    /// The control word of CLIC interrupt `index`: four byte registers IP (+0), IE (+1),
    /// ATTR (+2) and CTL (+3) at `BASE + 0x1000 + 4 * index` (PAC: `CLIC::int_ip(n)` ..
    /// `int_ctl(n)`; IDF: `DR_REG_CLIC_CTRL_BASE`).
    pub const fn int_ctrl(index: u32) -> u32 {
        BASE + 0x1000 + 4 * index
    }
    /// Byte offsets inside a control word.
    pub const IP: u32 = 0;
    /// Interrupt enable byte.
    pub const IE: u32 = 1;
    /// Attribute byte (mode, trigger).
    pub const ATTR: u32 = 2;
    /// Level and priority byte.
    pub const CTL: u32 = 3;

    /// ATTR: machine mode (bits 7:6 = 0b11), level-triggered (bits 2:1 = 0), not
    /// hardware-vectored (bit 0 = 0: the interrupt enters at `mtvec`'s base, the one trap
    /// entry). The CLIC specification's `clicintattr` layout.
    pub const ATTR_MACHINE_LEVEL: u8 = 0xC0;

    /// The number of priority bits the P4's CLIC implements (IDF: `NLBITS` in
    /// `components/soc/esp32p4/include/soc/clic_reg.h`).
    pub const NLBITS: u32 = 3;

    /// CTL for `priority` (1..=7): the level in the top [`NLBITS`] bits, the bits below
    /// set to 1, as IDF's `esprv_int_set_priority` forms it.
    pub const fn ctl(priority: u8) -> u8 {
        ((priority as u32) << (8 - NLBITS) | ((1 << (8 - NLBITS)) - 1)) as u8
    }

    /// `mintthresh`, the interrupt-level threshold CSR of the standard CLIC. On the P4 it
    /// exists from chip revision 3 (v3.x) on; esp-hal 1.2.2 supports only those revisions
    /// and uses it too (`interrupt/riscv/clic.rs`). IDF: `MINTTHRESH_CSR` in
    /// `components/riscv/include/riscv/csr_clic.h`.
    pub const MINTTHRESH_CSR: u32 = 0x347;
}

/// ESP32-C6: the maincore is the HP core, the subcore the LP core.
pub mod esp32c6 {
    use super::{lp_mie_mask, LpSoftwareInterrupt, LpVectors};

    /// The PMU (PAC: `esp32c6::PMU`).
    pub const PMU: u32 = 0x600B_0000;
    /// The software-interrupt registers (offsets from the PAC's `pmu::RegisterBlock`).
    pub const LP_SW_INTR: LpSoftwareInterrupt =
        LpSoftwareInterrupt { lp_int_ena: PMU + 0x174, lp_int_clr: PMU + 0x178, hp_lp_cpu_comm: PMU + 0x184 };
    /// IDF `components/soc/esp32c6/include/soc/soc_caps.h`:
    /// `SOC_LP_CORE_SINGLE_INTERRUPT_VECTOR`.
    pub const LP_VECTORS: LpVectors = LpVectors::Single;
    /// The `mie` bits the LP runtime enables.
    pub const LP_MIE: u32 = lp_mie_mask(LP_VECTORS);
    /// The LP core has no clock gate or reset of its own in `LPPERI` (IDF's C6
    /// `lp_core_ll_enable_bus_clock` and `lp_core_ll_reset_register` are empty).
    pub const LP_CORE_HAS_CLK_RST: bool = false;
    /// `MAIN_TIMER_UPDATE` in `LP_TIMER_UPDATE_REG` (PAC: bit 28).
    pub const LP_TIMER_UPDATE_BIT: u32 = 1 << 28;
}

/// ESP32-C5: the maincore is the HP core, the subcore the LP core.
pub mod esp32c5 {
    use super::{lp_mie_mask, LpSoftwareInterrupt, LpVectors};

    /// The PMU (PAC: `esp32c5::PMU`).
    pub const PMU: u32 = 0x600B_0000;
    /// The software-interrupt registers (offsets from the PAC's `pmu::RegisterBlock`; 4
    /// bytes above the C6's).
    pub const LP_SW_INTR: LpSoftwareInterrupt =
        LpSoftwareInterrupt { lp_int_ena: PMU + 0x178, lp_int_clr: PMU + 0x17C, hp_lp_cpu_comm: PMU + 0x188 };
    /// IDF `components/soc/esp32c5/include/soc/soc_caps.h`:
    /// `SOC_LP_CORE_SINGLE_INTERRUPT_VECTOR` (since the C5 bring-up; v5.4, v5.5, master),
    /// and the C5 LP `vector_table.S` sends every interrupt to entry 30. Not the P4 LP
    /// core's per-source lines.
    pub const LP_VECTORS: LpVectors = LpVectors::Single;
    /// The `mie` bits the LP runtime enables.
    pub const LP_MIE: u32 = lp_mie_mask(LP_VECTORS);
    /// `LPPERI.clk_en.lp_cpu_ck_en` and `LPPERI.reset_en.lp_cpu_reset_en` exist, and
    /// IDF's `ulp_lp_core_run` forces the clock on and pulses the reset before each start
    /// (`components/hal/esp32c5/include/hal/lp_core_ll.h`: `lp_core_ll_enable_bus_clock`,
    /// `lp_core_ll_reset_register`).
    pub const LP_CORE_HAS_CLK_RST: bool = true;
    /// `MAIN_TIMER_UPDATE` in `LP_TIMER_UPDATE_REG` (PAC: bit 27; the C6's is bit 28).
    pub const LP_TIMER_UPDATE_BIT: u32 = 1 << 27;
}

/// ESP32-P4: the maincore is HP core 0, the subcore HP core 1.
pub mod esp32p4 {
    use super::clic;

    /// `HP_SYSTEM` (PAC: `esp32p4::HP_SYS`).
    pub const HP_SYS: u32 = 0x500E_5000;
    /// `HP_SYSTEM_CPU_INT_FROM_CPU_n_REG` (PAC: `HP_SYS::cpu_intr_from_cpu(n)`): writing 1
    /// raises interrupt source `FROM_CPU_INTRn`, writing 0 clears it.
    pub const fn from_cpu(n: u32) -> u32 {
        HP_SYS + 0x10 + 4 * n
    }
    /// The `FROM_CPU` register of the maincore's interrupt (raised by the subcore): 2, as
    /// ESP-AMP C (its P4 `sw_intr` port; IDF's own dual-core IPC uses 0 and 1).
    pub const MAIN_FROM_CPU: u32 = 2;
    /// The `FROM_CPU` register of the subcore's interrupt: 3, as ESP-AMP C.
    pub const SUB_FROM_CPU: u32 = 3;
    /// Interrupt source `FROM_CPU_INTR0`; `FROM_CPU_INTRn` is `FROM_CPU_INTR0_SOURCE + n`
    /// (PAC: `esp32p4::Interrupt::FROM_CPU_INTR0`; IDF: `ETS_FROM_CPU_INTR0_SOURCE` in
    /// `components/soc/esp32p4/include/soc/interrupts.h`).
    pub const FROM_CPU_INTR0_SOURCE: u32 = 79;
    /// The subcore's interrupt source (`FROM_CPU_INTR3`, 82).
    pub const SUBCORE_SOURCE: u32 = FROM_CPU_INTR0_SOURCE + SUB_FROM_CPU;

    /// `INTERRUPT_CORE1` (PAC: `esp32p4::INTERRUPT_CORE1`): core 1's interrupt matrix.
    pub const INTERRUPT_CORE1: u32 = 0x500D_6800;
    /// Core 1's map register of interrupt source `source` (PAC:
    /// `INTERRUPT_CORE1::core_1_intr_map(source)`).
    pub const fn core1_intr_map(source: u32) -> u32 {
        INTERRUPT_CORE1 + 4 * source
    }

    /// The CPU line HP core 1 takes the maincore's interrupt on: 30, ESP-AMP C's choice.
    pub const SUBCORE_LINE: u32 = 30;
    /// Its CLIC interrupt index, which is also what core 1's map register for
    /// [`SUBCORE_SOURCE`] must hold (see [`clic::index`]). Writing the bare line (30)
    /// there routes the source to CLIC interrupt 30, a line nothing enables: the
    /// subcore would never see the maincore's interrupt.
    pub const SUBCORE_MAP_VALUE: u32 = clic::index(SUBCORE_LINE);
    /// The control word of that CLIC interrupt.
    pub const SUBCORE_CLIC_CTRL: u32 = clic::int_ctrl(SUBCORE_MAP_VALUE);
    /// Its priority: 1, as ESP-AMP C.
    pub const SUBCORE_PRIORITY: u8 = 1;

    /// ROM functions both HP cores can call (IDF:
    /// `components/esp_rom/esp32p4/ld/esp32p4.rom.ld`, the same addresses in the rev-3
    /// `esp32p4.rom.eco5.ld`; esp-rom-sys 0.1.5 has the same). `ets_get_cpu_frequency`
    /// returns the CPU clock in ticks per microsecond (IDF:
    /// `esp_rom_get_cpu_ticks_per_us`), which esp-hal 1.2.2's P4 clock set-up and IDF
    /// both keep up to date (`ets_update_cpu_frequency`).
    pub const ROM_ETS_GET_CPU_FREQUENCY: u32 = 0x4FC0_0040;
    /// `ets_set_appcpu_boot_addr(addr)`: the address core 1's ROM jumps to.
    pub const ROM_ETS_SET_APPCPU_BOOT_ADDR: u32 = 0x4FC0_00A8;
    /// `ets_write_char_uart(c)` (IDF's `esp_rom_output_putc`): one character to the ROM
    /// console (UART0), what ESP-AMP C's P4 subcore prints with when routing is off.
    pub const ROM_ETS_WRITE_CHAR_UART: u32 = 0x4FC0_0080;

    /// The CPU clock presets of esp-hal 1.2.2's P4 (`soc/esp32p4/clocks.rs`, `CpuClock`),
    /// in MHz; both HP cores run on the one CPU clock. ESP-IDF's default is 360 MHz.
    pub const CPU_MHZ_PRESETS: [u32; 3] = [100, 200, 400];

    /// The cycles per microsecond of HP core 1, from what the ROM reports (`rom_ticks`,
    /// the result of `ets_get_cpu_frequency`). As ESP-AMP C, whose P4 subcore divides
    /// `mcycle` by the ROM's ticks per µs. A ROM that reports nothing usable (0, or above
    /// the fastest P4 clock) gives the fastest clock, 400: time then runs slow rather than
    /// fast, so a timeout never expires early.
    pub const fn subcore_cycles_per_us(rom_ticks: u32) -> u32 {
        if rom_ticks == 0 || rom_ticks > 400 {
            400
        } else {
            rom_ticks
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p4_map_value_is_the_clic_index_of_the_line() {
        assert_eq!(clic::index(0), 16);
        assert_eq!(esp32p4::SUBCORE_MAP_VALUE, esp32p4::SUBCORE_LINE + 16);
        // The value the port once wrote (the bare line) routes to CLIC interrupt 30.
        assert_ne!(esp32p4::SUBCORE_MAP_VALUE, 30, "the map register holds the CLIC index");
        assert_eq!(esp32p4::SUBCORE_MAP_VALUE, 46);
        // The enable and the route name the same CLIC interrupt.
        assert_eq!(esp32p4::SUBCORE_CLIC_CTRL, 0x2080_1000 + 4 * 46);
        assert_eq!(esp32p4::SUBCORE_SOURCE, 82);
        assert_eq!(esp32p4::core1_intr_map(82), 0x500D_6800 + 4 * 82);
    }

    #[test]
    fn lp_mie_masks_follow_the_vector_fact() {
        assert_eq!(esp32c6::LP_MIE, 1 << 30);
        assert_eq!(esp32c5::LP_MIE, 1 << 30);
        // The C5 mask the port once had (the P4 LP core's) leaves line 30 off.
        assert_ne!(esp32c5::LP_MIE, 0x3FFF_0888);
        assert_eq!(lp_mie_mask(LpVectors::PerSource) & (1 << LP_SINGLE_VECTOR_LINE), 0);
    }

    #[test]
    fn clic_ctl_has_the_level_on_top() {
        assert_eq!(clic::ctl(1), 0x3F);
        assert_eq!(clic::ctl(7), 0xFF);
        assert_eq!(clic::ctl(0), 0x1F);
    }

    #[test]
    fn p4_subcore_rate_comes_from_the_rom() {
        for mhz in esp32p4::CPU_MHZ_PRESETS.into_iter().chain([360, 40]) {
            assert_eq!(esp32p4::subcore_cycles_per_us(mhz), mhz);
        }
        assert_eq!(esp32p4::subcore_cycles_per_us(0), 400);
        assert_eq!(esp32p4::subcore_cycles_per_us(u32::MAX), 400);
    }

    #[test]
    fn from_cpu_registers() {
        assert_eq!(esp32p4::from_cpu(esp32p4::MAIN_FROM_CPU), 0x500E_5018);
        assert_eq!(esp32p4::from_cpu(esp32p4::SUB_FROM_CPU), 0x500E_501C);
    }
}
