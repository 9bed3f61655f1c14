//! Support for zl's integration tests: the golden reference data, named-tolerance comparison,
//! and the path of the `zl` binary.

pub mod backend;

use std::path::{Path, PathBuf};

use serde_json::Value;
use zl_core::{Bigrams, Model};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/golden/reference.json`, written by `tests/golden/gen.py` (PyTorch on CPU).
pub fn golden() -> Value {
    let path = root().join("tests/golden/reference.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run python3 tests/golden/gen.py", path.display()));
    serde_json::from_str(&text).expect("reference.json is JSON")
}

/// A JSON array of numbers, or of arrays of numbers (a matrix, flattened row-major), as f32.
pub fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().expect("number") as f32],
        other => panic!("expected numbers, got {other}"),
    }
}

/// Distance in units in the last place between two finite f32 of the same sign (or zeros).
pub fn ulp_distance(a: f32, b: f32) -> u32 {
    let key = |x: f32| {
        let bits = x.to_bits() as i32;
        if bits < 0 {
            i32::MIN - bits
        } else {
            bits
        }
    };
    key(a).abs_diff(key(b))
}

/// The mean cross-entropy of `m` on `b` in f64, straight from its definition (log-sum-exp per
/// row, counts times `lse − L`), independent of the f32 code under test. `we` and `wu` add a
/// perturbation `(row, column, h)` to one weight of W_E or W_U, for finite differences.
pub fn loss_f64<const V: usize, const D: usize>(
    m: &Model<V, D>,
    b: &Bigrams<V>,
    we: Option<(usize, usize, f64)>,
    wu: Option<(usize, usize, f64)>,
) -> f64 {
    let v = b.vocab_len();
    let e = |i: usize, k: usize| {
        m.w_e[(i, k)] as f64 + we.filter(|p| (p.0, p.1) == (i, k)).map_or(0.0, |p| p.2)
    };
    let u = |k: usize, j: usize| {
        m.w_u[(k, j)] as f64 + wu.filter(|p| (p.0, p.1) == (k, j)).map_or(0.0, |p| p.2)
    };
    let mut total = 0.0;
    for i in 0..v {
        let l: Vec<f64> = (0..v)
            .map(|j| (0..m.d_model()).map(|k| e(i, k) * u(k, j)).sum())
            .collect();
        let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = mx + l.iter().map(|x| (x - mx).exp()).sum::<f64>().ln();
        for (j, lj) in l.iter().enumerate() {
            total += b.counts[(i, j)] as f64 * (lse - lj);
        }
    }
    total / b.total as f64
}

/// Asserts `|got − want| ≤ atol + rtol·|want|` element by element. On failure it names the
/// quantity, the first failing index, both values, and the largest difference seen. Returns the
/// largest absolute difference, for the test to print.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f64, rtol: f64) -> f64 {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: length {} vs reference {}",
        got.len(),
        want.len()
    );
    let mut worst = (0.0f64, 0usize);
    let mut first_bad = None;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g as f64 - w as f64).abs();
        if d.is_nan() || d > atol + rtol * (w as f64).abs() {
            first_bad.get_or_insert(i);
        }
        if d > worst.0 || d.is_nan() {
            worst = (d, i);
        }
    }
    if let Some(i) = first_bad {
        panic!(
            "{what}: element {i} is {} but the reference is {} (atol {atol:e}, rtol {rtol:e}); \
             largest difference {:e} at element {}",
            got[i], want[i], worst.0, worst.1
        );
    }
    worst.0
}

/// The `zl` binary of this build (target/<profile>/zl). It is brought up to date once per test
/// process: `cargo test --test cli` alone does not rebuild another package's binary, and a stale
/// binary would test old code.
pub fn zl_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let dir = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("target/<profile>");
        // The profile's folder is its name (`debug` is the `dev` profile's).
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(name) => name,
        };
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.args([
            "build",
            "-q",
            "-p",
            "zl-cli",
            "--bin",
            "zl",
            "--profile",
            profile,
        ])
        .current_dir(root());
        assert!(
            cmd.status().expect("cargo build").success(),
            "building zl failed"
        );
        dir.join(format!("zl{}", std::env::consts::EXE_SUFFIX))
    })
    .clone()
}

/// The Python the tests run: `$ZL_PYTHON` (scripts/test.sh points it at the virtual environment
/// it installs the packages into), else `python3`. zl-cuda's simulator reads the same variable.
pub fn python() -> std::ffi::OsString {
    std::env::var_os("ZL_PYTHON").unwrap_or_else(|| "python3".into())
}

/// Whether [`python`] can import torch, numpy and safetensors, for the tests that run PyTorch.
/// Where it cannot, the caller skips, printing why; under CI (which installs them through
/// scripts/test.sh) a missing package fails the test instead, so a skip cannot hide a failure.
pub fn python_torch_or_skip(test: &str) -> bool {
    python_or_skip(test, "torch, numpy, safetensors", "torch numpy safetensors")
}

/// Whether [`python`] can `import MODULES` (comma-separated); if not, the caller skips, printing
/// why and the `pip install PACKAGES` that fixes it, and under CI the test fails instead.
pub fn python_or_skip(test: &str, modules: &str, packages: &str) -> bool {
    let ok = std::process::Command::new(python())
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: CI must have {modules} in {} (scripts/test.sh installs them)",
            python().to_string_lossy()
        );
        eprintln!(
            "SKIP {test}: {} cannot import {modules} (scripts/test.sh installs them; or pip install {packages})",
            python().to_string_lossy()
        );
    }
    ok
}

/// The seed notebook's printed `train_losses[::100]` for epochs 0..=2200 (its run was on a GPU).
pub const NOTEBOOK_LOSSES: [f64; 23] = [
    3.412891387939453,
    3.0832862854003906,
    2.645434617996216,
    2.256800651550293,
    2.0204482078552246,
    1.8752901554107666,
    1.783310890197754,
    1.724074363708496,
    1.6863884925842285,
    1.662880301475525,
    1.6479673385620117,
    1.6381254196166992,
    1.631356954574585,
    1.6265252828598022,
    1.6229636669158936,
    1.6202653646469116,
    1.6181726455688477,
    1.616517424583435,
    1.6151856184005737,
    1.614098310470581,
    1.6131986379623413,
    1.6124461889266968,
    1.6118104457855225,
];

/// `n` characters over `v` distinct ones from `'!'` on (v ≤ 94): each once in order, then a
/// fixed pseudo-random sequence from `seed` (a linear congruential generator), so that a test's
/// text is the same on every run and platform.
pub fn random_text(v: u8, n: usize, seed: u32) -> String {
    let mut x = seed;
    (0..n)
        .map(|i| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let k = if i < v as usize {
                i as u8
            } else {
                ((x >> 16) % u32::from(v)) as u8
            };
            char::from(33 + k)
        })
        .collect()
}

/// What a run of the `zl` binary printed, and its exit code.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `zl ARGS` (the binary of this build) and captures its output. `ZL_CUDA_SIMULATOR` is
/// cleared, so that `--backend cuda` means the GPU whatever the caller's environment says.
pub fn zl(args: &[&str]) -> Out {
    zl_with(args, &[])
}

/// [`zl`] with these environment variables set.
pub fn zl_with(args: &[&str], env: &[(&str, &str)]) -> Out {
    run(command().args(args).envs(env.iter().copied()))
}

/// [`zl`] run in the folder `dir`.
pub fn zl_in(dir: &Path, args: &[&str]) -> Out {
    run(command().args(args).current_dir(dir))
}

/// The zl binary, without the caller's ZL_CUDA_SIMULATOR (a test that wants it sets it).
fn command() -> std::process::Command {
    let mut c = std::process::Command::new(zl_bin());
    c.env_remove("ZL_CUDA_SIMULATOR");
    c
}

fn run(c: &mut std::process::Command) -> Out {
    let o = c.output().expect("run zl");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(o.stderr).expect("utf-8 stderr"),
    }
}

/// `zl ARGS`, which must succeed and print one JSON object: that object.
pub fn zl_json(args: &[&str]) -> serde_json::Value {
    let o = zl(args);
    assert_eq!(o.code, 0, "zl {args:?}: {}", o.stderr);
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("zl {args:?}: {e}"))
}

/// The bad-input contract: exit `code`, one line on stderr that starts `zl: error: ` and names
/// `names`, no panic or backtrace, and nothing on stdout.
pub fn assert_one_line_error(args: &[&str], code: i32, names: &str) {
    let o = zl(args);
    assert_one_line(&o, args, code, &[names]);
    assert!(o.stdout.is_empty(), "zl {args:?}: stdout {:?}", o.stdout);
}

/// The bad-input contract on stderr of a finished `zl args`: exit `code`, one line that starts
/// `zl: error: ` and names each of `names`, no panic or backtrace.
pub fn assert_one_line(o: &Out, args: &[&str], code: i32, names: &[&str]) {
    assert_eq!(o.code, code, "zl {args:?}: exit code; stderr: {}", o.stderr);
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "zl {args:?}: one line, got {:?}", o.stderr);
    assert!(lines[0].starts_with("zl: error: "), "{}", lines[0]);
    for n in names {
        assert!(
            lines[0].contains(n),
            "zl {args:?}: {:?} should name {n:?}",
            lines[0]
        );
    }
    assert!(
        !o.stderr.contains("panicked") && !o.stderr.contains("RUST_BACKTRACE"),
        "{}",
        o.stderr
    );
}

/// A Chromium binary: `$CHROMIUM`, else the first of the usual names on PATH.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}
