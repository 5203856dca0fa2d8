// The consumer end of a queue has no transmit buffers.
fn alloc_on_consumer(c: &esp_amp::queue::Consumer<'_>) {
    let _ = c.alloc();
}

fn main() {}
