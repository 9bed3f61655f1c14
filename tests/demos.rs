//! zl-core off the host, bit-identical to it: the demos (demos/cortex-m under QEMU on two boards,
//! demos/wasi under node, plain and with SIMD128) must each print, last, the checksum line that the host computes, and
//! `zl train --checksum` must print that same line. Each run.sh installs what it needs (rustup
//! targets, QEMU), so these tests need nothing but a fresh clone; a missing tool fails them.
//!
//! Also checks that every code excerpt in docs/EMBEDDED.md is still in the file it names.

use std::{
    process::{Command, Stdio},
    sync::{Mutex, OnceLock},
    time::Instant,
};

use zl_core::{checksum, AdamWConfig, Bigrams, SeedModel, Trainer, Vocab, SEED_TEXT};
use zl_tests::{root, zl_bin};

/// The demos train for the notebook's 10,000 epochs.
const EPOCHS: u32 = 10_000;

/// One script at a time: two run.sh installing QEMU or a rustup target at once would race on
/// apt's and rustup's locks, and QEMU's wall times are reported, so they should not share cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The checksum line of the seed run, computed here through zl-core on the host (once).
fn host_line() -> &'static str {
    static LINE: OnceLock<String> = OnceLock::new();
    LINE.get_or_init(train_on_host)
}

fn train_on_host() -> String {
    let b = Bigrams::<30>::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
    let mut t = Trainer::new(
        SeedModel::init_torch(0, 30, 16).unwrap(),
        AdamWConfig::default(),
    );
    let final_loss = t.run(&b, EPOCHS, |_, _| {}).unwrap();
    let mut line = String::new();
    checksum::write_line(&mut line, EPOCHS, final_loss, &t.model).unwrap();
    // A line of the documented shape, so that an empty or truncated one cannot match.
    let shape = "epochs=10000 final_loss=0x00000000 weights_fnv1a=0x00000000";
    assert!(
        line.starts_with("epochs=10000 final_loss=0x") && line.len() == shape.len(),
        "unexpected checksum line {line:?}"
    );
    line
}

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
fn zl_train_checksum_prints_the_zl_core_line() {
    let out = Command::new(zl_bin())
        .args(["train", "--checksum"])
        .stdin(Stdio::null())
        .output()
        .expect("run zl");
    assert!(
        out.status.success(),
        "zl train --checksum failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().last().unwrap_or_default(),
        host_line(),
        "the last line of `zl train --checksum` vs zl-core's (empty: this zl has no --checksum yet)"
    );
}

/// docs/EMBEDDED.md marks each code excerpt with `<!-- from PATH -->` on the line before its
/// fence; the excerpt must appear verbatim in PATH, which run.sh builds, so the docs cannot
/// drift from code that compiles.
#[test]
fn embedded_docs_excerpts_are_in_the_files_they_name() {
    let doc = std::fs::read_to_string(root().join("docs/EMBEDDED.md")).expect("docs/EMBEDDED.md");
    let mut lines = doc.lines();
    let mut checked = 0;
    while let Some(line) = lines.next() {
        let Some(path) = line
            .trim()
            .strip_prefix("<!-- from ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "<!-- from {path} --> must precede a ``` fence"
        );
        let excerpt: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let file = std::fs::read_to_string(root().join(path))
            .unwrap_or_else(|e| panic!("docs/EMBEDDED.md cites {path}: {e}"));
        let excerpt = excerpt.join("\n") + "\n";
        assert!(
            file.contains(&excerpt),
            "docs/EMBEDDED.md shows an excerpt of {path} that is no longer in it:\n{excerpt}"
        );
        checked += 1;
    }
    assert!(
        checked >= 3,
        "only {checked} excerpts checked in docs/EMBEDDED.md"
    );
}
