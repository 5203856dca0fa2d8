//! RPC across two processes, both directions: the maincore here, the subcore a child
//! process (this test binary again, running the ignored half). Every answer is checked by
//! the client; the server must see every request.

use std::process::Command;

use esp_amp_host::harness::rpc_example::{run_as_maincore, run_as_subcore, Part};
use esp_amp_host::ENV_REGION_PATH;

const ROUNDS: u32 = 300;

fn subcore_cmd(half: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", half, "--include-ignored", "--nocapture"]);
    cmd
}

#[test]
fn maincore_client_calls_subcore_server() {
    let summary = run_as_maincore(Part::Client, &mut subcore_cmd("subcore_server"), ROUNDS).unwrap();
    // ADD + 4 UPPER per round, and the unknown command.
    assert!(summary.contains(&format!("{} calls answered and checked", ROUNDS * 5 + 1)), "{summary}");
}

#[test]
fn subcore_client_calls_maincore_server() {
    let summary = run_as_maincore(Part::Server, &mut subcore_cmd("subcore_client"), ROUNDS).unwrap();
    // Every request: ADD + 4 UPPER per round, LOG every 16 rounds, the unknown one, STOP.
    let requests = ROUNDS * 5 + ROUNDS.div_ceil(16) + 2;
    assert!(summary.contains(&format!("{requests} requests, {} responses", ROUNDS * 5 + 1)), "{summary}");
}

#[test]
#[ignore = "subcore half of maincore_client_calls_subcore_server"]
fn subcore_server() {
    if std::env::var_os(ENV_REGION_PATH).is_some() {
        let summary = run_as_subcore(Part::Server, ROUNDS).unwrap();
        let requests = ROUNDS * 5 + ROUNDS.div_ceil(16) + 2;
        assert!(summary.contains(&format!("{requests} requests")), "{summary}");
    }
}

#[test]
#[ignore = "subcore half of subcore_client_calls_maincore_server"]
fn subcore_client() {
    if std::env::var_os(ENV_REGION_PATH).is_some() {
        run_as_subcore(Part::Client, ROUNDS).unwrap();
    }
}
