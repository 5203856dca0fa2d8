//! The two roles, as types.

mod sealed {
    pub trait Sealed {}
}

/// Maincore or subcore. Sealed: only [`MainCore`] and [`SubCore`] exist.
pub trait Role: sealed::Sealed + Copy + Send + Sync + 'static {
    /// Offset in the shared header of the software-interrupt word this core drains.
    const OWN_SW_INTR_WORD: u32;
    /// Offset of the word this core sets to interrupt its peer.
    const PEER_SW_INTR_WORD: u32;
    /// `true` for the maincore.
    const IS_MAIN: bool;
    /// Name used in logs.
    const NAME: &'static str;
}

/// The core that runs the main firmware, allocates shared objects and starts the subcore.
#[derive(Debug, Clone, Copy, Default)]
pub struct MainCore;
/// The core that runs the subcore firmware; it only looks shared objects up.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubCore;

impl sealed::Sealed for MainCore {}
impl sealed::Sealed for SubCore {}

impl Role for MainCore {
    const OWN_SW_INTR_WORD: u32 = 0;
    const PEER_SW_INTR_WORD: u32 = 4;
    const IS_MAIN: bool = true;
    const NAME: &'static str = "maincore";
}

impl Role for SubCore {
    const OWN_SW_INTR_WORD: u32 = 4;
    const PEER_SW_INTR_WORD: u32 = 0;
    const IS_MAIN: bool = false;
    const NAME: &'static str = "subcore";
}
