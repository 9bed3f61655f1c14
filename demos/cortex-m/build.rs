//! Picks the board's memory layout by target: thumbv7em-none-eabihf runs on mps2-an386
//! (Cortex-M4F), thumbv7m-none-eabi on lm3s6965evb (Cortex-M3). cortex-m-rt's link.x includes
//! `memory.x` from the linker search path, so the chosen file is copied there under that name.
//! The linker script is passed here rather than in .cargo/config.toml's rustflags, which a
//! RUSTFLAGS variable in the environment (CI sets them) would silently replace.
use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap();
    let board = match target.as_str() {
        "thumbv7em-none-eabihf" => "mps2-an386",
        "thumbv7m-none-eabi" => "lm3s6965evb",
        other => panic!(
            "no board for target {other}: build for thumbv7em-none-eabihf (mps2-an386) \
             or thumbv7m-none-eabi (lm3s6965evb)"
        ),
    };
    let file = format!("memory-{board}.x");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    fs::copy(&file, out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rerun-if-changed={file}");
    println!("cargo:rustc-env=ZL_BOARD={board}");
    println!("cargo:rustc-env=ZL_TARGET={target}");
}
