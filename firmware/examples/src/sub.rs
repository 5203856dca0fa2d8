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
