// A sent buffer belongs to the peer: `TxBuf::send` takes the guard by value.
fn write_after_send(p: &esp_amp::queue::Producer<'_>) {
    let mut buf = p.alloc().unwrap();
    buf.send(1).unwrap();
    buf.bytes_mut().set(0, 1);
}

fn main() {}
