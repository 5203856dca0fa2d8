//! Slice helpers without a panic path.
//!
//! The subcore images are built with `panic = "abort"` and a panic handler that reports
//! the location. A slice index the compiler cannot prove in range links core's
//! bounds-check panic, whose message formats two `usize`s: about 1.2 KiB of `core::fmt`
//! on an LP core. These helpers give the same result where our invariants hold and an
//! empty or shorter result where they would not, so no panic code is linked
//! (docs/benchmarks.md, "Panic location").

/// Copies `src` to the start of `dst`, as much as fits; returns the bytes copied.
#[inline]
pub(crate) fn copy_prefix(dst: &mut [u8], src: &[u8]) -> usize {
    let n = src.len().min(dst.len());
    // Both ranges are `..n` with `n` at most either length: no bounds check remains.
    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_prefix_copies_what_fits() {
        let mut dst = [0u8; 4];
        assert_eq!(copy_prefix(&mut dst, b"ab"), 2);
        assert_eq!(dst, *b"ab\0\0");
        assert_eq!(copy_prefix(&mut dst, b"wxyz!"), 4);
        assert_eq!(dst, *b"wxyz");
        assert_eq!(copy_prefix(&mut [], b"x"), 0);
    }
}
