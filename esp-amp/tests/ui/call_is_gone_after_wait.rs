// Waiting for a response consumes the call: its slot is then completed or cancelled.
use esp_amp::rpc::RpcClient;
use esp_amp::rpmsg::Rpmsg;
use esp_amp::MainCore;

struct NoClock;
impl esp_amp::port::Platform for NoClock {
    fn now_ms(&self) -> u32 {
        0
    }
    fn delay_us(&self, _: u32) {}
    fn interrupts_enable(&self) {}
    fn interrupts_disable(&self) {}
    fn irq_epoch(&self) -> u32 {
        0
    }
    fn wait_irq(&self, _: u32, _: Option<u32>) {}
}

fn wait_twice(dev: &Rpmsg<'_, MainCore>, client: &RpcClient<'_>) {
    let call = client.call(dev, 0x10, b"?").unwrap();
    let _ = call.wait(dev, &NoClock, Some(10));
    let _ = call.wait(dev, &NoClock, Some(10));
}

fn main() {}
