//! The subcore halves of the examples. Each never returns; the maincore half drives it.
//! Their reports go to [`Board::log`](crate::Board::log).

mod basic;
mod print;
mod rpc;
mod stack;
mod virtqueue;

pub use basic::basic;
pub use print::print;
pub use rpc::rpc;
pub use stack::stack;
pub use virtqueue::virtqueue;

/// `unwrap` for the subcore halves, without formatting the error: `Result::unwrap` links
/// the error's `Debug` code and with it most of `core::fmt` (about 10 KiB of a 16 KiB LP
/// core: docs/benchmarks.md, "Panic location"). The panic report still names the
/// caller's file and line (`#[track_caller]`).
pub(crate) trait Check<T> {
    #[track_caller]
    fn check(self) -> T;
}

impl<T, E> Check<T> for Result<T, E> {
    #[track_caller]
    #[inline]
    fn check(self) -> T {
        match self {
            Ok(v) => v,
            Err(_) => panic!("unexpected error"),
        }
    }
}

impl<T> Check<T> for Option<T> {
    #[track_caller]
    #[inline]
    fn check(self) -> T {
        match self {
            Some(v) => v,
            None => panic!("unexpected None"),
        }
    }
}
