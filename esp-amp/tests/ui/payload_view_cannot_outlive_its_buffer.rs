// A view of a received buffer borrows the buffer: once the buffer is given back (dropped),
// the producer may fill it again, so the view must be gone.
use esp_amp::payload::PeerBytes;
use esp_amp::queue::Consumer;

fn keep_view<'c>(c: &'c Consumer<'_>) -> PeerBytes<'c> {
    let buf = c.try_recv().unwrap();
    buf.bytes()
}

fn main() {}
