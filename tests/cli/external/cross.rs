//! zl-core off the host, bit-identical to it: the demos (demos/cortex-m under QEMU on two boards,
//! demos/wasi under node, plain and with SIMD128) must each print, last, the checksum line that
//! the host computes; the embedded guide's example builds for thumbv7em; and the page's
//! checked-in WebAssembly is what web/build.sh builds from the sources here. scripts/test.sh
//! installs QEMU, node and the rustup targets first; a missing tool fails these tests.

use std::{
    process::{Command, Stdio},
    sync::Mutex,
    time::Instant,
};

use zl_tests::root;

use crate::embedded::host_line;

/// One script at a time: two run.sh installing QEMU or a rustup target at once would race on
/// apt's and rustup's locks, and QEMU's wall times are reported, so they should not share cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `bash SCRIPT ARGS` from the repository root and returns the last line of its stdout,
/// failing with its exit status and the tail of its output if it did not succeed.
fn last_line_of(script: &str, args: &[&str]) -> String {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let start = Instant::now();
    let out = Command::new("bash")
        .arg(root().join(script))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start bash {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail = |s: &str| {
        s.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({}).\n--- stdout (end):\n{}\n--- stderr (end):\n{}",
        out.status,
        tail(&stdout),
        tail(&stderr)
    );
    // Shown with --nocapture: the demo's report (RAM, wall time) for the docs' numbers.
    eprintln!(
        "{script} {args:?} took {:.1} s\n{stdout}{}",
        start.elapsed().as_secs_f64(),
        tail(&stderr)
    );
    stdout.lines().last().unwrap_or_default().to_string()
}

#[test]
fn cortex_m4f_on_mps2_an386_prints_the_host_checksum() {
    let line = last_line_of("demos/cortex-m/run.sh", &["mps2-an386"]);
    assert_eq!(line, host_line(), "Cortex-M4F (mps2-an386) vs host");
}

#[test]
fn cortex_m3_in_64k_on_lm3s6965evb_prints_the_host_checksum() {
    let line = last_line_of("demos/cortex-m/run.sh", &["lm3s6965evb"]);
    assert_eq!(line, host_line(), "Cortex-M3 (lm3s6965evb) vs host");
}

#[test]
fn wasi_under_node_prints_the_host_checksum() {
    let line = last_line_of("demos/wasi/run.sh", &[]);
    assert_eq!(line, host_line(), "wasm32-wasip1 (node) vs host");
}

/// The same demo built with `-C target-feature=+simd128`, training through zl-lanes' SIMD128
/// loop (it fails where that loop is missing from the build), prints its time and the host's line.
#[test]
fn wasi_simd128_under_node_prints_the_host_checksum() {
    let line = last_line_of("demos/wasi/run.sh", &["simd128"]);
    assert_eq!(line, host_line(), "wasm32-wasip1 +simd128 (node) vs host");
}

#[test]
fn checked_in_wasm_is_built_from_these_sources() {
    let want = std::fs::read_to_string(root().join("web/dist/SOURCES")).unwrap();
    let o = Command::new(root().join("web/build.sh"))
        .arg("--sources")
        .output()
        .expect("web/build.sh --sources");
    assert!(o.status.success());
    let got = String::from_utf8(o.stdout).unwrap();
    assert!(
        got == want,
        "web/dist/ was built from other sources than these (zl-core, zl-lanes or web/ changed): \
         run web/build.sh and commit web/dist/\n{}",
        got.lines()
            .zip(want.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The example builds for a Cortex-M4F (the target scripts/test.sh already installs for
/// zl-core's no_std build), so it uses nothing but `core`.
#[test]
fn the_guides_example_builds_for_thumbv7em() {
    let target = "thumbv7em-none-eabihf";
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == target)
        })
        .unwrap_or(false);
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "under CI the {target} target must be installed (scripts/test.sh adds it)"
        );
        eprintln!("skipped: rustup target {target} is not installed (rustup target add {target})");
        return;
    }
    let dir = root().join("demos/own-model");
    let o = Command::new(env!("CARGO"))
        .args(["build", "--release", "--target", target])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .expect("run cargo");
    assert!(
        o.status.success(),
        "demos/own-model does not build for {target}:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
