// A sent RPMsg message belongs to the peer: `TxMessage::send` takes it by value.
use esp_amp::rpmsg::{Endpoint, Rpmsg};
use esp_amp::MainCore;

fn write_after_send(dev: &Rpmsg<'_, MainCore>, ept: Endpoint) {
    let mut msg = dev.alloc().unwrap();
    msg.send(ept, 2, 1).unwrap();
    msg.bytes_mut().set(0, 1);
}

fn main() {}
