#!/usr/bin/env bash
# Runs every check and test of the project. This is the README's test command and what
# CI runs (.ci/run). It installs what it needs: the toolchain from rust-toolchain.toml,
# and the pinned nightly (with clippy and miri) for the steps that need one (set
# ESP_AMP_SKIP_MIRI=1 to skip the miri part).
set -euo pipefail
cd "$(dirname "$0")"

# Every nightly step uses the one pinned nightly (esp_amp_host::firmware::NIGHTLY), so a
# new nightly's lints or miri cannot turn CI red.
NIGHTLY="$(sed -n 's/^pub const NIGHTLY: &str = "\(.*\)";$/\1/p' esp-amp-host/src/firmware.rs)"
[ -n "$NIGHTLY" ] || { echo "no NIGHTLY pin in esp-amp-host/src/firmware.rs" >&2; exit 1; }

step() { printf '\n==> %s\n' "$*"; }

step "toolchain (rust-toolchain.toml)"
rustup toolchain install 2>&1 | grep -v '^info: component .* is up to date' || true
# The firmware is built with this stable toolchain and no unstable option. Where the dist
# server ships no rust-std for the RISC-V targets (as here), `core` is built from its
# rust-src with -Zbuild-std, which stable allows only with RUSTC_BOOTSTRAP=1: the one
# unstable flag, standing in for `rustup target add`. A user's machine with the targets
# installed needs neither.
# `firmware_std TARGET` sets FIRMWARE_ENV (a command prefix) and FIRMWARE_STD (flags) for
# a firmware cargo command; RUSTC_BOOTSTRAP reaches only those commands, never a host build.
firmware_std() {
    if rustup target list --installed | grep -qx "$1"; then
        FIRMWARE_ENV=(env)
        FIRMWARE_STD=()
    else
        FIRMWARE_ENV=(env RUSTC_BOOTSTRAP=1)
        FIRMWARE_STD=(-Zbuild-std=core -Zbuild-std-features=compiler-builtins-mem)
    fi
}

step "format"
cargo fmt --all --check

step "clippy (host)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

# Installs Debian package $1 (as root), or says how.
need_pkg() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q "$1" >/dev/null \
            || { apt-get update -q >/dev/null && apt-get install -y -q "$1" >/dev/null; }
    else
        echo "$1 is missing: install it with 'sudo apt-get install $1'" >&2
        exit 1
    fi
}

# Installs Debian package $2 when command $1 is missing.
need() {
    command -v "$1" >/dev/null || need_pkg "$2"
}

step "QEMU (qemu-system-riscv32, for the two-hart examples)"
need qemu-system-riscv32 qemu-system-misc
qemu-system-riscv32 --version | head -n 1

step "Python venv (esptool, for the ESP32 maincore app images)"
python3 -c "import venv, ensurepip" 2>/dev/null || { need python3 python3; python3 -c "import ensurepip" 2>/dev/null || need_pkg python3-venv; }

step "tests (unit, doc, compat, hostile input, cross-process, demo, QEMU two-hart examples)"
cargo test --workspace --all-features
# The core crate as the firmware builds it: without the host port's features.
cargo test -p esp-amp

step "docs (rustdoc warnings are errors: broken links, ambiguous names)"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --workspace --all-features

step "packages (cargo package, with its build of the packed sources: the crates ready for crates.io)"
# Cargo verifies each package against the others through a temporary local registry. It
# treats those crates as registry crates, which never change for a given version: it
# reuses their unpacked copies under $CARGO_HOME/registry/src/-<hash>/ and their compiled
# artifacts from an earlier run. So both are cleared first (the verification builds in a
# target directory of its own), or a second run verifies against the first run's sources.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/{esp-amp,esp-amp-soc,esp-amp-build,esp-amp-host,esp-amp-cli}-0.1.0
rm -rf target/package-verify
CARGO_TARGET_DIR=target/package-verify \
    cargo package --quiet --allow-dirty -p esp-amp-soc -p esp-amp -p esp-amp-build -p esp-amp-host -p esp-amp-cli

step "loom models"
RUSTFLAGS="--cfg loom" cargo test -p esp-amp --test loom --release
# and the consumer's batched frees (the host port's configuration)
RUSTFLAGS="--cfg loom" cargo test -p esp-amp --test loom --release --features batch-free

# The no_std core must build for the subcore targets, with the stable toolchain.
for target in riscv32imac-unknown-none-elf riscv32imafc-unknown-none-elf; do
    step "no_std build for $target"
    firmware_std "$target"
    "${FIRMWARE_ENV[@]}" cargo build -p esp-amp --release --target "$target" --all-features "${FIRMWARE_STD[@]}"
done

# The QEMU firmware is its own workspace (bare-metal only). The tests above built it; lint
# each package on its own (their runtime features must not be unified).
step "firmware (QEMU, ESP32 LP core, shared RISC-V code): format and clippy"
(cd firmware/qemu && cargo fmt --all --check)
firmware_std riscv32imac-unknown-none-elf
for package in qemu-sub qemu-main; do
    (cd firmware/qemu && ESP_AMP_QEMU_SUB_DIR="$PWD/../../target/firmware-qemu/riscv32imac-unknown-none-elf/release" \
        "${FIRMWARE_ENV[@]}" cargo clippy --quiet --release --target riscv32imac-unknown-none-elf "${FIRMWARE_STD[@]}" \
        --target-dir ../../target/firmware-qemu/clippy -p "$package" -- -D warnings)
done
# The ESP32 firmware (its own workspace; `cargo xtask esp32` builds it for each chip, the
# xtask tests check it): format and clippy per chip, the LP side and the maincore side
# (esp-hal) apart, as they are built: their critical-section implementations differ.
(cd firmware/esp32 && cargo fmt --all --check)
for entry in esp32c6:riscv32imac:lp esp32c5:riscv32imac:lp esp32p4:riscv32imafc:hp; do
    IFS=: read -r chip arch sub <<<"$entry"
    for packages in "-p $sub-examples -p esp-amp-$sub" "-p main-examples -p esp-amp-esp32"; do
        firmware_std "$arch-unknown-none-elf"
        # shellcheck disable=SC2086 # two package flags per entry
        (cd firmware/esp32 && "${FIRMWARE_ENV[@]}" cargo clippy --quiet --release --target "$arch-unknown-none-elf" "${FIRMWARE_STD[@]}" \
            --target-dir "../../target/firmware-esp32/clippy-$chip" --features "$chip" $packages -- -D warnings)
    done
done
# The size report and budgets of every ESP32 image (the builds are the xtask tests'; the
# echo's image and IPC budgets and the whole stack's ceiling are asserted there).
cargo xtask esp32
# What the firmware ports share: the RISC-V pieces (trap entry, exception dump) and the
# examples (protocols, subcore halves generic over the port).
for shared in esp-amp-riscv amp-examples; do
    firmware_std riscv32imac-unknown-none-elf
    (cd "firmware/$shared" && cargo fmt --check && "${FIRMWARE_ENV[@]}" cargo clippy --quiet --release \
        --target riscv32imac-unknown-none-elf "${FIRMWARE_STD[@]}" --target-dir "../../target/firmware-$shared" -- -D warnings)
done

# Every decoder of data from the other core, under libFuzzer with AddressSanitizer: seeds
# from the golden images and recorded traffic, then a short run of each target (the long
# runs are `cargo xtask fuzz --runs 10000000`, figures in docs/reliability.md).
step "fuzz (short run of every target)"
need c++ g++ # libFuzzer is C++
rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src >/dev/null
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
(cd fuzz && cargo fmt --check && cargo +"$NIGHTLY" clippy --quiet --all-targets -- -D warnings)
cargo xtask fuzz --runs "${ESP_AMP_FUZZ_RUNS:-20000}"

if [ "${ESP_AMP_SKIP_MIRI:-0}" != 1 ]; then
    step "miri (esp-amp core crate)"
    rustup toolchain install "$NIGHTLY" --profile minimal --component miri,rust-src >/dev/null
    # Isolation off: the compat tests read the golden images from compat/esp-amp-c. A target
    # directory per pinned nightly: miri builds its own sysroot per toolchain, and crates
    # built against another toolchain's sysroot fail with "can't find crate" (cargo does
    # not notice the sysroot changed).
    MIRIFLAGS="-Zmiri-disable-isolation" cargo +"$NIGHTLY" miri test -p esp-amp --all-features \
        --target-dir "target/miri-$NIGHTLY"
fi

step "all checks passed"
