//! ESP-AMP's RPC example on the host port, subcore client / maincore server: this program
//! is the maincore and starts itself again as the subcore process.
//!
//! ```sh
//! cargo run -p esp-amp-host --features harness --example rpc_sub_client [-- ROUNDS]
//! ```

fn main() -> std::process::ExitCode {
    esp_amp_host::harness::rpc_example::example_main(esp_amp_host::harness::rpc_example::Part::Server)
}
