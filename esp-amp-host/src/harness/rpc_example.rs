//! The two RPC examples of ESP-AMP (a client on one core calling a server on the other),
//! as functions any core can run: the `rpc_main_client` and `rpc_sub_client` examples, the
//! cross-process tests and `espamp demo` all use them.
//!
//! Services (endpoint addresses as in the C examples: client 0x0001, server 0x1001):
//! - [`cmd::ADD`]: two little-endian `i32` → their (wrapping) sum;
//! - [`cmd::UPPER`]: bytes → the same bytes in ASCII upper case;
//! - [`cmd::LOG`]: one-way, the server logs the text;
//! - [`cmd::STOP`]: one-way, the server returns from [`run_server`].

use std::sync::atomic::{AtomicBool, Ordering};

use esp_amp::payload::PeerBytesMut;
use esp_amp::port::Platform;
use esp_amp::role::Role;
use esp_amp::rpc::{Reply, Request, RpcClient, RpcError, RpcServer, ServerStats, Status};
use esp_amp::rpmsg::Rpmsg;

/// The client's endpoint.
pub const CLIENT_EPT: u16 = 0x0001;
/// The server's endpoint.
pub const SERVER_EPT: u16 = 0x1001;

/// Command ids.
pub mod cmd {
    /// Adds two `u32`s.
    pub const ADD: u16 = 0x0001;
    /// Upper-cases ASCII text.
    pub const UPPER: u16 = 0x0002;
    /// Logs a line on the server (one-way: no response).
    pub const LOG: u16 = 0x0003;
    /// Ends the server loop.
    pub const STOP: u16 = 0x0004;
    /// Not served: answered with `INVALID_CMD`.
    pub const UNKNOWN: u16 = 0x0BAD;
}

/// Runs the server until a [`cmd::STOP`] arrives; fails when no request comes for
/// `idle_timeout_ms`. `log` receives each [`cmd::LOG`] text.
pub fn run_server<R: Role, P: Platform, const CAP: usize, const E: usize>(
    dev: &Rpmsg<'_, R, CAP, E>,
    platform: &P,
    idle_timeout_ms: u32,
    log: &(dyn Fn(&str) + Sync),
) -> Result<ServerStats, RpcError> {
    let stop = AtomicBool::new(false);
    let add = |req: &Request<'_>, mut resp: PeerBytesMut<'_>| {
        let Ok(d) = <[u8; 8]>::try_from(req.data()) else {
            resp.set(0, 0);
            return Reply::new(Status::EXEC_FAILED, 1);
        };
        let x = i32::from_le_bytes([d[0], d[1], d[2], d[3]]);
        let y = i32::from_le_bytes([d[4], d[5], d[6], d[7]]);
        // The response area holds at least 4 bytes (a 64-byte item at the least).
        match resp.write(0, &x.wrapping_add(y).to_le_bytes()) {
            Ok(()) => Reply::ok(4),
            Err(_) => Reply::new(Status::EXEC_FAILED, 0),
        }
    };
    let upper = |req: &Request<'_>, mut resp: PeerBytesMut<'_>| {
        // The request is the server's private copy: transformed in a local buffer, then
        // written once into the response.
        let text = req.data().to_ascii_uppercase();
        Reply::ok(resp.copy_from(&text))
    };
    let log_text = |req: &Request<'_>, _: PeerBytesMut<'_>| {
        log(&String::from_utf8_lossy(req.data()));
        Reply::NONE
    };
    let stop_now = |_: &Request<'_>, _: PeerBytesMut<'_>| {
        stop.store(true, Ordering::Relaxed);
        Reply::NONE
    };
    let mut req_buf = [0u8; 256];
    let mut server: RpcServer<'_, 4> = RpcServer::new(dev, SERVER_EPT, &mut req_buf)?;
    server.add_service(cmd::ADD, &add)?;
    server.add_service(cmd::UPPER, &upper)?;
    server.add_service(cmd::LOG, &log_text)?;
    server.add_service(cmd::STOP, &stop_now)?;
    while !stop.load(Ordering::Relaxed) {
        server.serve_timeout(dev, platform, Some(idle_timeout_ms))?;
    }
    let stats = server.stats();
    server.close(dev);
    Ok(stats)
}

/// What [`run_client`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientReport {
    /// Calls answered and checked.
    pub checked: u32,
    /// One-way commands sent.
    pub one_way: u32,
    /// Most requests in flight at once.
    pub max_in_flight: u32,
}

/// Runs `rounds` rounds against the server, checking every answer: one ADD; four UPPER
/// calls in flight at once, taken back in reverse order; a LOG every 16 rounds; then one
/// unknown command (must come back `INVALID_CMD`) and a STOP. Each wait is bounded by
/// `timeout_ms`.
pub fn run_client<R: Role, P: Platform, const CAP: usize, const E: usize>(
    dev: &Rpmsg<'_, R, CAP, E>,
    platform: &P,
    rounds: u32,
    timeout_ms: u32,
) -> Result<ClientReport, String> {
    let client: RpcClient<'_, 4> = RpcClient::new(dev, CLIENT_EPT, SERVER_EPT).map_err(|e| e.to_string())?;
    let mut report = ClientReport::default();
    let wait = |call: esp_amp::rpc::Call<'_, '_, 4>, what: &str| {
        call.response_timeout(dev, platform, Some(timeout_ms)).map_err(|e| format!("{what}: {e}"))
    };
    for round in 0..rounds {
        let (x, y) = (round as i32 * 7 - 1000, -(round as i32));
        let mut req = [0u8; 8];
        req[..4].copy_from_slice(&x.to_le_bytes());
        req[4..].copy_from_slice(&y.to_le_bytes());
        let call = client.call(dev, cmd::ADD, &req).map_err(|e| format!("ADD: {e}"))?;
        let r = wait(call, "ADD")?;
        let sum = r.bytes().read_array::<4>(0).map(i32::from_le_bytes);
        if (r.status(), sum) != (Status::OK, Some(x.wrapping_add(y))) {
            return Err(format!("ADD {x} + {y}: status {:?}, answer {sum:?}", r.status()));
        }
        drop(r);
        report.checked += 1;

        let texts: Vec<String> = (0..4).map(|k| format!("round {round} call {k}: hello")).collect();
        let calls = texts
            .iter()
            .map(|t| client.call(dev, cmd::UPPER, t.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("UPPER: {e}"))?;
        report.max_in_flight = report.max_in_flight.max(client.in_flight() as u32);
        for (call, text) in calls.into_iter().zip(&texts).rev() {
            let r = wait(call, "UPPER")?;
            if r.status() != Status::OK || r.bytes() != text.to_ascii_uppercase().as_bytes() {
                return Err(format!("UPPER {text:?}: status {:?}, answer {:?}", r.status(), r.bytes()));
            }
            report.checked += 1;
        }
        if round % 16 == 0 {
            client
                .send(dev, cmd::LOG, format!("round {round} done").as_bytes())
                .map_err(|e| format!("LOG: {e}"))?;
            report.one_way += 1;
        }
    }
    let call = client.call(dev, cmd::UNKNOWN, b"?").map_err(|e| format!("UNKNOWN: {e}"))?;
    let r = wait(call, "UNKNOWN")?;
    if r.status() != Status::INVALID_CMD || r.bytes() != [0u8] {
        return Err(format!("unknown command: status {:?}, answer {:?}", r.status(), r.bytes()));
    }
    drop(r);
    report.checked += 1;
    client.send(dev, cmd::STOP, b"").map_err(|e| format!("STOP: {e}"))?;
    report.one_way += 1;
    let s = client.stats();
    if (s.late, s.wrong_cmd, s.foreign, s.malformed, s.cancelled) != (0, 0, 0, 0, 0) {
        return Err(format!("client counters show trouble: {s:?}"));
    }
    client.close(dev);
    Ok(report)
}

/// Which side of the example a core runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Makes the calls.
    Client,
    /// Serves them.
    Server,
}

/// Buffers per direction and bytes per buffer of the examples' RPMsg device.
const QUEUE: (u32, u32) = (16, 128);
/// How long a side waits for the other before it gives up.
const TIMEOUT_MS: u32 = 10_000;

/// The maincore of an example: sets up the region and the RPMsg device, starts `subcore`
/// as the subcore process (it must call [`run_as_subcore`] with the other part), plays
/// `part` (`rounds` rounds for a client) and waits for the subcore. Returns a summary.
pub fn run_as_maincore(
    part: Part,
    subcore: &mut std::process::Command,
    rounds: u32,
) -> Result<String, String> {
    use esp_amp::layout::{AmpConfig, Chip, MemoryLayout};
    use esp_amp::queue::QueueSpec;
    use esp_amp::sw_intr::SwIntr;
    use esp_amp::sys_info::SysInfoAllocator;
    use esp_amp::MainCore;

    let layout = MemoryLayout::new(Chip::Esp32C6, &AmpConfig::default_for(Chip::Esp32C6))
        .map_err(ctx("maincore", "layout"))?;
    let region = crate::HostRegion::create(&layout).map_err(ctx("maincore", "region"))?;
    let core = crate::HostCore::new(&region, crate::Side::Main);
    let mut sys = SysInfoAllocator::init(region.sys_info_pool(), region.rtc_pool())
        .map_err(ctx("maincore", "SysInfo"))?;
    let sw: SwIntr<'_, MainCore, _> =
        SwIntr::init(region.sw_intr_header(), &core).map_err(ctx("maincore", "sw-interrupts"))?;
    let spec = QueueSpec::new(QUEUE.0, QUEUE.1).map_err(ctx("maincore", "queue"))?;
    let mut dev: Rpmsg<'_, MainCore> = Rpmsg::create(&mut sys, spec).map_err(ctx("maincore", "RPMsg"))?;
    dev.notify_with(&sw);
    let mut child =
        crate::spawn_subcore(subcore, &region).map_err(ctx("maincore", "starting the subcore"))?;
    let outcome = std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        play(part, &dev, &core, rounds, "maincore")
    });
    let status = child.wait().map_err(ctx("maincore", "waiting for the subcore"))?;
    let summary = outcome?;
    if !status.success() {
        return Err(format!("subcore process failed: {status}"));
    }
    Ok(summary)
}

/// The subcore of an example, in the process [`run_as_maincore`] started: attaches to the
/// region and plays `part`.
pub fn run_as_subcore(part: Part, rounds: u32) -> Result<String, String> {
    use esp_amp::sw_intr::SwIntr;
    use esp_amp::sys_info::SysInfo;
    use esp_amp::SubCore;

    let region = crate::HostRegion::open_from_env().map_err(ctx("subcore", "region"))?;
    let core = crate::HostCore::new(&region, crate::Side::Sub);
    let info = SysInfo::attach(region.sys_info_pool(), region.rtc_pool());
    let sw: SwIntr<'_, SubCore, _> =
        SwIntr::attach(region.sw_intr_header(), &core).map_err(ctx("subcore", "sw-interrupts"))?;
    let mut dev: Rpmsg<'_, SubCore> = Rpmsg::attach(&info).map_err(ctx("subcore", "RPMsg"))?;
    dev.notify_with(&sw);
    std::thread::scope(|s| {
        let _irq = core.spawn_interrupts(s, || {
            sw.isr();
        });
        play(part, &dev, &core, rounds, "subcore")
    })
}

fn play<R: Role, P: Platform, const CAP: usize, const E: usize>(
    part: Part,
    dev: &Rpmsg<'_, R, CAP, E>,
    platform: &P,
    rounds: u32,
    me: &str,
) -> Result<String, String> {
    match part {
        Part::Client => {
            let r = run_client(dev, platform, rounds, TIMEOUT_MS).map_err(|e| format!("{me} client: {e}"))?;
            Ok(format!(
                "{me} client: {} calls answered and checked, {} one-way commands, up to {} in flight",
                r.checked, r.one_way, r.max_in_flight
            ))
        }
        Part::Server => {
            let log = |text: &str| println!("[{me} server] log: {text}");
            let s = run_server(dev, platform, TIMEOUT_MS, &log).map_err(|e| format!("{me} server: {e}"))?;
            Ok(format!(
                "{me} server: {} requests, {} responses, {} one-way, {} unknown command(s)",
                s.requests, s.responses, s.one_way, s.invalid_cmd
            ))
        }
    }
}

fn ctx<E: std::fmt::Display>(who: &'static str, what: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("{who}: {what}: {e}")
}

/// The `main` of both example programs: the maincore plays `main_part` and starts this
/// program again as the subcore (which plays the other part). The first argument, if
/// any, is the number of client rounds (default 100).
pub fn example_main(main_part: Part) -> std::process::ExitCode {
    let rounds = std::env::args().nth(1).and_then(|r| r.parse().ok()).unwrap_or(100);
    let sub_part = match main_part {
        Part::Client => Part::Server,
        Part::Server => Part::Client,
    };
    let result = if std::env::var_os(crate::ENV_REGION_PATH).is_some() {
        run_as_subcore(sub_part, rounds)
    } else {
        std::env::current_exe().map_err(|e| e.to_string()).and_then(|exe| {
            run_as_maincore(main_part, std::process::Command::new(exe).args(std::env::args().skip(1)), rounds)
        })
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
