//! The atomic-word operations the protocols need, as a trait.
//!
//! Protocol steps (interrupt drain, event wait) are written once over [`AtomicWord`], so
//! the very same code runs on a shared-memory `AtomicU32` and, in the loom models, on
//! `loom::sync::atomic::AtomicU32`.

use core::sync::atomic::Ordering;

/// A 32-bit atomic word.
///
/// Each method is the `core::sync::atomic::AtomicU32` method of the same name.
pub trait AtomicWord {
    /// Reads the word.
    fn load(&self, order: Ordering) -> u32;
    /// Writes `v`, returning the old value.
    fn swap(&self, v: u32, order: Ordering) -> u32;
    /// Sets the bits of `v`, returning the old value.
    fn fetch_or(&self, v: u32, order: Ordering) -> u32;
    /// Keeps only the bits of `v`, returning the old value.
    fn fetch_and(&self, v: u32, order: Ordering) -> u32;
    /// Writes `new` if the word is `current` (fails only when it is not): `Ok(old)` or
    /// `Err(actual)`.
    fn compare_exchange(
        &self,
        current: u32,
        new: u32,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u32, u32>;
}

macro_rules! impl_word {
    ($t:ty) => {
        impl AtomicWord for $t {
            fn load(&self, order: Ordering) -> u32 {
                <$t>::load(self, order)
            }
            fn swap(&self, v: u32, order: Ordering) -> u32 {
                <$t>::swap(self, v, order)
            }
            fn fetch_or(&self, v: u32, order: Ordering) -> u32 {
                <$t>::fetch_or(self, v, order)
            }
            fn fetch_and(&self, v: u32, order: Ordering) -> u32 {
                <$t>::fetch_and(self, v, order)
            }
            fn compare_exchange(
                &self,
                current: u32,
                new: u32,
                success: Ordering,
                failure: Ordering,
            ) -> Result<u32, u32> {
                <$t>::compare_exchange(self, current, new, success, failure)
            }
        }
    };
}

impl_word!(core::sync::atomic::AtomicU32);
#[cfg(loom)]
impl_word!(loom::sync::atomic::AtomicU32);
