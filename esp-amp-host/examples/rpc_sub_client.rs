//! ESP-AMP's RPC example on the host port, subcore client / maincore server: this program
//! is the maincore and starts itself again as the subcore process.
//!
//! ```sh
//! cargo run -p esp-amp-host --example rpc_sub_client [-- ROUNDS]
//! ```

use std::process::{Command, ExitCode};

use esp_amp_host::rpc_example::{run_as_maincore, run_as_subcore, Part};
use esp_amp_host::ENV_REGION_PATH;

fn main() -> ExitCode {
    let rounds = std::env::args().nth(1).and_then(|r| r.parse().ok()).unwrap_or(100);
    let result = if std::env::var_os(ENV_REGION_PATH).is_some() {
        run_as_subcore(Part::Client, rounds)
    } else {
        std::env::current_exe().map_err(|e| e.to_string()).and_then(|exe| {
            run_as_maincore(Part::Server, Command::new(exe).args(std::env::args().skip(1)), rounds)
        })
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
