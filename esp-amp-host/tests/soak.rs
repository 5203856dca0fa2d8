//! A short soak run (the long one is `cargo xtask soak --duration 30m`): the maincore here,
//! this test binary as the subcore process; every service in both directions, then every
//! message accounted for.

use std::time::Duration;

use esp_amp_host::harness::soak::{run_maincore, run_subcore, SoakConfig, K};
use esp_amp_host::subcore::HostFirmware;
use esp_amp_host::ENV_REGION_PATH;

/// The subcore's entry point: does nothing unless started by `short_soak_passes`.
#[test]
fn soak_subcore() {
    if std::env::var_os(ENV_REGION_PATH).is_some() {
        run_subcore().expect("soak subcore");
    }
}

#[test]
fn short_soak_passes() {
    let exe = std::env::current_exe().unwrap();
    let firmware = HostFirmware::new(exe).arg("soak_subcore").arg("--exact").arg("--nocapture");
    let cfg = SoakConfig { duration: Duration::from_secs(3), progress_every: None };
    let report = run_maincore(&cfg, &firmware).expect("soak set-up");
    println!("{report}");
    assert!(report.passed(), "{report}");
    // Every service carried traffic both ways.
    for k in [K::StreamReceived, K::RpcCompleted, K::Served, K::PongsReceived, K::PingsAnswered] {
        assert!(report.main[k as usize] > 0 && report.sub[k as usize] > 0, "{k:?}");
    }
    assert!(report.main[K::LinesReceived as usize] > 100);
    assert!(report.main[K::ServedInvalid as usize] > 0, "unknown commands were exercised");
}
