// A call in flight holds a slot of its client: it cannot outlive the client.
use esp_amp::rpc::RpcClient;
use esp_amp::rpmsg::Rpmsg;
use esp_amp::MainCore;

fn keep_after_client(dev: &Rpmsg<'_, MainCore>) {
    let _call = {
        let client: RpcClient<'_> = RpcClient::new(dev, 1, 2).unwrap();
        client.call(dev, 0x10, b"?").unwrap()
    };
}

fn main() {}
