//! esptool (Espressif's own image tool, from PyPI) in a virtual environment under
//! `target/`, installed on first use: it makes the maincores' flashable app images, the
//! same format espflash and the second-stage bootloader read.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::qemu::repo_root;

/// The pinned release: the image layout is stable, the command-line spelling is not.
pub const VERSION: &str = "5.6.0";

fn venv() -> PathBuf {
    repo_root().join("target/esptool-venv")
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{cmd:?} failed ({}):\n{text}", out.status))
    }
}

/// The `esptool` executable, installing it into the virtual environment if needed.
pub fn esptool() -> Result<PathBuf, String> {
    let venv = venv();
    let exe = venv.join("bin/esptool");
    let stamp = venv.join(format!("esptool-{VERSION}"));
    if exe.is_file() && stamp.is_file() {
        return Ok(exe);
    }
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv)).map_err(|e| {
        format!("creating a Python venv for esptool (Debian: apt-get install python3-venv): {e}")
    })?;
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", &format!("esptool=={VERSION}")]))?;
    std::fs::write(&stamp, "").map_err(|e| e.to_string())?;
    Ok(exe)
}

/// `esptool --chip <chip> elf2image --output <bin> <elf>`, then [`image_info`].
pub fn elf2image(chip: &str, elf: &Path, bin: &Path) -> Result<(), String> {
    let exe = esptool()?;
    run(Command::new(&exe).args(["--chip", chip, "elf2image", "--output"]).arg(bin).arg(elf))?;
    image_info(chip, bin)
}

/// `esptool --chip <chip> image-info <bin>`, which must find the checksum and the appended
/// SHA-256 valid: an independent check of images the project writes itself.
pub fn image_info(chip: &str, bin: &Path) -> Result<(), String> {
    let exe = esptool()?;
    let info = run(Command::new(&exe).args(["--chip", chip, "image-info"]).arg(bin))?;
    let valid = info.lines().filter(|l| l.contains("(valid)")).count();
    if valid < 2 {
        return Err(format!("esptool image-info does not find checksum and hash valid:\n{info}"));
    }
    Ok(())
}
