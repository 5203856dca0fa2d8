// Waiting for a response consumes the call: its slot is then completed or cancelled.
use esp_amp::port::Platform;
use esp_amp::rpc::RpcClient;
use esp_amp::rpmsg::Rpmsg;
use esp_amp::MainCore;

fn wait_twice(dev: &Rpmsg<'_, MainCore>, client: &RpcClient<'_>, platform: &impl Platform) {
    let call = client.call(dev, 0x10, b"?").unwrap();
    let _ = call.response_timeout(dev, platform, Some(10));
    let _ = call.response_timeout(dev, platform, Some(10));
}

fn main() {}
