//! The hostile-input battery: files and flags a person might feed zl by mistake. For each, zl
//! must exit non-zero with one line that names the input, never panic, and change no file.

use std::{collections::BTreeMap, path::Path, process::Command};

use safetensors::{tensor::TensorView, Dtype};
use zl_tests::zl_bin;

/// Every file under `dir` with its bytes, to prove a failed command changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap_or_default(),
            )
        })
        .collect()
}

/// Runs zl in `dir` and checks the failure contract.
fn fails_cleanly(dir: &Path, args: &[&str], code: i32, names: &[&str]) {
    let before = snapshot(dir);
    let o = Command::new(zl_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(code),
        "zl {args:?}: exit code; stderr {stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "zl {args:?}: one line, got {stderr:?}"
    );
    assert!(stderr.starts_with("zl: error: "), "{stderr}");
    for n in names {
        assert!(
            stderr.contains(n),
            "zl {args:?}: {stderr:?} should name {n:?}"
        );
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(".zl-tmp"),
        "zl {args:?}: names its own temporary file: {stderr}"
    );
    assert!(
        o.stdout.is_empty(),
        "zl {args:?}: stdout {:?}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(
        snapshot(dir),
        before,
        "zl {args:?} changed files in its folder"
    );
}

const SEED_VOCAB: &str = "hiByxodcm.arufn-pszlt\u{2019}eSkg,vb ";

/// A safetensors file with the given tensors (name, dtype, shape, f32 values) and vocab metadata.
fn model_file(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<f32>)], vocab: Option<&str>) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, dt, _, v)| match dt {
            Dtype::F64 => v.iter().flat_map(|x| (*x as f64).to_le_bytes()).collect(),
            _ => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        })
        .collect();
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, dt, s, _), b)| (*n, TensorView::new(*dt, s.clone(), b).unwrap()))
        .collect();
    let meta = vocab.map(|v| {
        let list: Vec<String> = v.chars().map(|c| c.to_string()).collect();
        std::collections::HashMap::from([(
            "vocab".to_string(),
            serde_json::to_string(&list).unwrap(),
        )])
    });
    std::fs::write(path, safetensors::serialize(views, meta).unwrap()).unwrap();
}

fn seed_tensors(fill: f32) -> Vec<(&'static str, Dtype, Vec<usize>, Vec<f32>)> {
    vec![
        ("W_E", Dtype::F32, vec![30, 16], vec![fill; 480]),
        ("W_U", Dtype::F32, vec![16, 30], vec![fill; 480]),
    ]
}

#[test]
fn hostile_weight_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A good file first (zl's own --save), to cut and corrupt.
    let good = d.join("good.safetensors");
    let o = Command::new(zl_bin())
        .args(["train", "--epochs", "5", "--save", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(d.join("truncated.safetensors"), &bytes[..bytes.len() - 100]).unwrap();
    std::fs::write(d.join("header-only.safetensors"), &bytes[..40]).unwrap();
    std::fs::write(d.join("empty.safetensors"), b"").unwrap();
    let mut flipped = bytes.clone();
    flipped[3] ^= 0x7f; // the header length
    std::fs::write(d.join("corrupt.safetensors"), &flipped).unwrap();
    model_file(
        &d.join("names.safetensors"),
        &[
            ("embed", Dtype::F32, vec![30, 16], vec![0.1; 480]),
            ("unembed", Dtype::F32, vec![16, 30], vec![0.1; 480]),
        ],
        Some(SEED_VOCAB),
    );
    model_file(
        &d.join("shapes.safetensors"),
        &[
            ("W_E", Dtype::F32, vec![30, 16], vec![0.1; 480]),
            ("W_U", Dtype::F32, vec![30, 16], vec![0.1; 480]),
        ],
        Some(SEED_VOCAB),
    );
    model_file(
        &d.join("dtype.safetensors"),
        &[
            ("W_E", Dtype::F64, vec![30, 16], vec![0.1; 480]),
            ("W_U", Dtype::F32, vec![16, 30], vec![0.1; 480]),
        ],
        Some(SEED_VOCAB),
    );
    model_file(
        &d.join("nan.safetensors"),
        &seed_tensors(f32::NAN),
        Some(SEED_VOCAB),
    );
    model_file(
        &d.join("inf.safetensors"),
        &seed_tensors(f32::INFINITY),
        Some(SEED_VOCAB),
    );
    model_file(&d.join("no-vocab.safetensors"), &seed_tensors(0.1), None);
    let other: String = "abcdefghijklmnopqrstuvwxyz.,;!".into();
    model_file(
        &d.join("other-vocab.safetensors"),
        &seed_tensors(0.1),
        Some(&other),
    );

    let cases: [(&str, &[&str]); 11] = [
        (
            "missing.safetensors",
            &["missing.safetensors", "cannot read"],
        ),
        (
            "truncated.safetensors",
            &["truncated.safetensors", "truncated or corrupt"],
        ),
        (
            "header-only.safetensors",
            &["header-only.safetensors", "truncated or corrupt"],
        ),
        (
            "empty.safetensors",
            &["empty.safetensors", "truncated or corrupt"],
        ),
        (
            "corrupt.safetensors",
            &["corrupt.safetensors", "truncated or corrupt"],
        ),
        (
            "names.safetensors",
            &["names.safetensors", "no tensor named W_E"],
        ),
        ("shapes.safetensors", &["shapes.safetensors", "shapes"]),
        ("dtype.safetensors", &["dtype.safetensors", "expected F32"]),
        ("nan.safetensors", &["nan.safetensors", "non-finite"]),
        ("inf.safetensors", &["inf.safetensors", "non-finite"]),
        ("no-vocab.safetensors", &["no-vocab.safetensors", "vocab"]),
    ];
    for (file, names) in cases {
        fails_cleanly(d, &["interpret", "--load", file], 1, names);
    }
    // A vocabulary that is not the corpus's: both named.
    fails_cleanly(
        d,
        &["interpret", "--load", "other-vocab.safetensors"],
        1,
        &["other-vocab.safetensors", "seed notebook"],
    );
    fails_cleanly(
        d,
        &[
            "interpret",
            "--load",
            "good.safetensors",
            "--corpus",
            env!("CARGO_MANIFEST_DIR").to_owned().leak() as &str,
        ],
        1,
        &["--corpus"],
    );
}

#[test]
fn hostile_flags_and_outputs_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("model.safetensors"), b"precious").unwrap();
    std::fs::write(d.join("report.html"), b"precious").unwrap();
    // Divergence: the existing --save target survives.
    fails_cleanly(
        d,
        &["train", "--lr", "1e30", "--save", "model.safetensors"],
        1,
        &["diverged", "--lr"],
    );
    fails_cleanly(
        d,
        &["train", "--lr", "0", "--save", "model.safetensors"],
        2,
        &["--lr"],
    );
    fails_cleanly(d, &["train", "--epochs", "1e9"], 2, &["--epochs"]);
    fails_cleanly(d, &["train", "--log-every", "0"], 2, &["--log-every"]);
    fails_cleanly(
        d,
        &["train", "--backend", "gpu"],
        2,
        &[
            "gpu",
            "cpu, cpu-portable, cpu-avx2, cpu-neon, cpu-simd128, cpu-avx512, cuda, ptxsim",
        ],
    );
    fails_cleanly(d, &["train", "--seeds", "9..3"], 2, &["--seeds"]);
    fails_cleanly(d, &["sweep", "--d-model", "4,0"], 2, &["--d-model"]);
    fails_cleanly(d, &["sweep", "--d-model", "4,x"], 2, &["--d-model"]);
    fails_cleanly(
        d,
        &[
            "report",
            "--out",
            "no-such-dir/report.html",
            "--epochs",
            "10",
        ],
        1,
        &["no-such-dir", "does it exist"],
    );
    fails_cleanly(
        d,
        &["train", "--epochs", "2", "--save", "."],
        1,
        &["--save", "is a folder"],
    );
    std::fs::write(d.join("archive.zip"), b"PK\x03\x04\x14\x00\xff\xfe binary").unwrap();
    fails_cleanly(
        d,
        &["train", "--corpus", "archive.zip", "--epochs", "5"],
        1,
        &["archive.zip", "UTF-8", "byte offset 6"],
    );
}
