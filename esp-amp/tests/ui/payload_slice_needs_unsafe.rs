// Payload bytes in shared memory are views: a plain `&[u8]` over them asserts that the peer
// does not write them meanwhile, which only the caller can promise, with `unsafe`.
use esp_amp::queue::Consumer;

fn peek(c: &Consumer<'_>) -> usize {
    let buf = c.try_recv().unwrap();
    let bytes = buf.bytes();
    bytes.as_slice().len()
}

fn main() {}
