//! The project template (templates/esp-amp-pair), generated as `cargo generate` would and
//! built as its README says, for every chip; and one configuration value changed in the
//! pair's environment reaching both halves.

use esp_amp::layout::{AmpConfig, Chip, ConfigRecord, MemoryLayout};
use xtask::esp32::elf_symbol;
use xtask::qemu::repo_root;
use xtask::template::{build, generate, target_dir, VARIANTS};

/// The configuration record of the subcore image a maincore ELF embeds.
fn embedded_record(elf: &[u8]) -> Option<ConfigRecord> {
    elf.windows(ConfigRecord::MAGIC.len())
        .enumerate()
        .filter(|(_, w)| *w == ConfigRecord::MAGIC)
        .find_map(|(at, _)| ConfigRecord::decode(&elf[at..]))
}

#[test]
fn the_template_builds_for_every_chip_and_one_config_value_reaches_both_halves() {
    for (chip, maincore) in VARIANTS {
        let name = format!("amp-{}-{maincore}", chip.name());
        let dir = repo_root().join("target/template").join(&name);
        generate(chip, maincore, &name, &dir).unwrap();
        // The maincore's build script is the one call to the helper (and esp-hal's link
        // arguments).
        let build_rs = std::fs::read_to_string(dir.join("maincore/build.rs")).unwrap();
        assert_eq!(build_rs.matches("esp_amp_build::").count(), 1, "{build_rs}");
        // What a user gets is formatted as rustfmt's defaults want, both crates (an empty
        // configuration file: the generated project lies below this repository's own
        // rustfmt.toml, which a user's does not).
        let defaults = repo_root().join("target/template/rustfmt-defaults.toml");
        std::fs::write(&defaults, "").unwrap();
        for (crate_dir, package) in [(dir.clone(), name.as_str()), (dir.join("subcore"), "subcore")] {
            let fmt = std::process::Command::new("cargo")
                .args(["fmt", "--check", "-p", package, "--", "--config-path"])
                .arg(&defaults)
                .current_dir(&crate_dir)
                .env("RUSTUP_TOOLCHAIN", esp_amp_host::firmware::FIRMWARE_TOOLCHAIN)
                .output()
                .unwrap();
            assert!(fmt.status.success(), "{name}: {}", String::from_utf8_lossy(&fmt.stdout));
        }
        let elf = std::fs::read(build(&dir, chip, &name, &target_dir(chip), &[]).unwrap()).unwrap();
        let config = AmpConfig::default_for(chip);
        assert_eq!(embedded_record(&elf), Some(ConfigRecord::new(chip, &config)), "{name}");
        let layout = MemoryLayout::new(chip, &config).unwrap();
        assert_eq!(elf_symbol(&elf, "esp_amp_shared_start"), Some(u64::from(layout.shared.start)), "{name}");
    }

    // One value changed where the pair's configuration lives (the environment that
    // `.cargo/config.toml`'s [env] feeds): both halves are rebuilt with it.
    let (chip, name) = (Chip::Esp32C6, "amp-esp32c6-blocking");
    let dir = repo_root().join("target/template").join(name);
    let changed = AmpConfig { hp_shared_mem_size: 8192, ..AmpConfig::default_for(chip) };
    let elf = build(&dir, chip, name, &target_dir(chip), &[("ESP_AMP_HP_SHARED_MEM_SIZE", "8192")]).unwrap();
    let elf = std::fs::read(elf).unwrap();
    assert_eq!(embedded_record(&elf), Some(ConfigRecord::new(chip, &changed)));
    let layout = MemoryLayout::new(chip, &changed).unwrap();
    assert_eq!(elf_symbol(&elf, "esp_amp_shared_start"), Some(u64::from(layout.shared.start)));
    // A subcore too large for the memory the configuration gives it (pure-RTC with the
    // default 4 KiB of LP RAM) fails the build with what to change.
    let err =
        build(&dir, chip, name, &target_dir(chip), &[("ESP_AMP_SUBCORE_BUILD_TYPE_PURE_RTC_RAM_APP", "y")])
            .unwrap_err();
    assert!(err.contains("will not fit in region 'LP_RAM'"), "{err}");
    assert!(err.contains("help: the subcore does not fit the memory the configuration gives it"), "{err}");
    assert!(err.contains("ULP_COPROC_RESERVE_MEM"), "{err}");
    // And back: nothing of the changed builds is left behind.
    let elf = std::fs::read(build(&dir, chip, name, &target_dir(chip), &[]).unwrap()).unwrap();
    assert_eq!(embedded_record(&elf), Some(ConfigRecord::new(chip, &AmpConfig::default_for(chip))));
}
